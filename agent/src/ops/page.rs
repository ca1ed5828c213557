//! The status page for hospital IT (`/`, `/?lang=en`): health, backlog, last delivery, held
//! items by reason (with what releases them), recent errors, today's figures and links to the
//! monthly report. Japanese by default.
//!
//! Self-contained HTML: inline CSS, no scripts, no external resources, so it works from a
//! browser on the server itself and prints as is. Every value shown is a count, a time, a state
//! word, an item id or a scrubbed reason ([`super::redact::scrub`]); all text is HTML-escaped.

use std::fmt::Write as _;
use std::sync::Arc;

use super::checks::Checks;
use super::readiness::SourceSkips;
use super::snapshot::{RecentError, Snapshot, Today};
use crate::source::exec::PluginStats;
use crate::store::{InputState, OutboxState};

/// The page's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// 日本語 (default).
    Ja,
    /// English.
    En,
}

impl Lang {
    /// From a `lang` query value; anything but `en` is Japanese.
    pub fn from_query(q: Option<&str>) -> Lang {
        match q {
            Some("en") => Lang::En,
            _ => Lang::Ja,
        }
    }
    fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }
    fn t(self, ja: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Ja => ja,
            Lang::En => en,
        }
    }
}

/// Everything the page shows.
pub struct PageData<'a> {
    /// Readiness.
    pub checks: &'a Checks,
    /// Store figures (`None`: the database could not be read).
    pub snapshot: Option<&'a Snapshot>,
    /// Today's figures.
    pub today: Option<&'a Today>,
    /// Newest errors first.
    pub errors: &'a [RecentError],
    /// Files each folder / SS-MIX2 source did not take, by reason.
    pub skipped: &'a [SourceSkips],
    /// Exec plugin sources and their counters.
    pub plugins: &'a [(String, Arc<PluginStats>)],
    /// Now, unix ms.
    pub now_ms: i64,
    /// The update row (English, Japanese), from `DATA/update/state.json`.
    pub update: Option<(String, String)>,
}

/// HTML-escapes text.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// JST time of unix ms.
fn jst(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&tsunagi_clins::time::jst())
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|| "-".into())
}

/// `YYYY-MM` of the JST month containing `ms`, and of the month before.
pub fn months(ms: i64) -> (String, String) {
    use chrono::Datelike;
    let t = chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&tsunagi_clins::time::jst());
    let (y, m) = (t.year(), t.month());
    let (py, pm) = if m == 1 { (y - 1, 12) } else { (y, m - 1) };
    (format!("{y:04}-{m:02}"), format!("{py:04}-{pm:02}"))
}

const CSS: &str = "body{font-family:system-ui,'Noto Sans CJK JP',sans-serif;margin:1.5rem;color:#1b1b1b;background:#fafafa}\
h1{font-size:1.4rem;margin:0 0 .3rem}h2{font-size:1.1rem;border-bottom:2px solid #ccd;padding-bottom:.2rem;margin-top:1.5rem}\
section{background:#fff;border:1px solid #dde;border-radius:6px;padding:.6rem 1rem;margin-bottom:1rem}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #eee;vertical-align:top}\
td.n{text-align:right;font-variant-numeric:tabular-nums}.ok{color:#0a6b2d;font-weight:bold}.ng{color:#b00020;font-weight:bold}\
.muted{color:#666;font-size:.9rem}#errors td:nth-child(-n+2){white-space:nowrap}nav a{margin-right:1rem}@media print{nav{display:none}}";

/// Renders the page.
pub fn render(lang: Lang, d: &PageData<'_>) -> String {
    let mut h = String::with_capacity(8192);
    let title = lang.t("tsunagi 稼働状況", "tsunagi status");
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><style>{CSS}</style></head><body>",
        lang.code()
    );
    let _ = write!(
        h,
        "<header><h1>{title}</h1><p class=\"muted\">{} {} (JST) · v{}</p>\
         <nav><a href=\"/?lang=ja\">日本語</a><a href=\"/?lang=en\">English</a><a href=\"/metrics\">/metrics</a><a href=\"/readyz\">/readyz</a></nav></header>",
        lang.t("更新", "As of"),
        jst(d.now_ms),
        esc(env!("CARGO_PKG_VERSION")),
    );
    health(&mut h, lang, d);
    backlog(&mut h, lang, d);
    held(&mut h, lang, d);
    today(&mut h, lang, d);
    errors(&mut h, lang, d);
    report(&mut h, lang, d);
    h.push_str("</body></html>\n");
    h
}

fn health(h: &mut String, lang: Lang, d: &PageData<'_>) {
    let verdict = if d.checks.ready {
        format!("<span class=\"ok\">{}</span>", lang.t("正常", "Ready"))
    } else {
        format!(
            "<span class=\"ng\">{}</span>",
            lang.t("要確認", "Not ready")
        )
    };
    let _ = write!(
        h,
        "<section id=\"health\"><h2>{}</h2><p>{verdict}</p><table>",
        lang.t("稼働状態", "Health")
    );
    for c in &d.checks.checks {
        let name = match c.name {
            "store" => lang.t("データベース", "Database"),
            "masters" => lang.t("コードマスタ", "Code masters"),
            "uplink" => lang.t("送信先 (CLINS)", "Uplink (CLINS)"),
            "validation" => lang.t("検証規則 (JP-CLINS IG)", "Validation rules (JP-CLINS IG)"),
            _ => c.name,
        };
        let class = if c.ok { "ok" } else { "ng" };
        let _ = write!(
            h,
            "<tr><th>{name}</th><td class=\"{class}\">{}</td></tr>",
            esc(&c.state)
        );
    }
    if d.snapshot.is_some_and(|s| s.intake_paused) {
        let _ = write!(
            h,
            "<tr><th>{}</th><td class=\"ng\">{}</td></tr>",
            lang.t("受付", "Intake"),
            lang.t(
                "空き容量不足のため停止中",
                "paused: free disk space below the reserve"
            )
        );
    }
    if let Some((en, ja)) = &d.update {
        let _ = write!(
            h,
            "<tr><th>{}</th><td>{}</td></tr>",
            lang.t("更新", "Update"),
            esc(if lang.code() == "en" { en } else { ja })
        );
    }
    h.push_str("</table></section>");
}

fn backlog(h: &mut String, lang: Lang, d: &PageData<'_>) {
    let _ = write!(
        h,
        "<section id=\"backlog\"><h2>{}</h2>",
        lang.t("送信待ち", "Backlog")
    );
    let Some(s) = d.snapshot else {
        let _ = write!(
            h,
            "<p class=\"ng\">{}</p></section>",
            lang.t("データベースを読めません", "The database cannot be read")
        );
        return;
    };
    let rows = [
        (
            lang.t("送信待ち", "Pending"),
            s.items(OutboxState::Pending) + s.items(OutboxState::InFlight),
        ),
        (
            lang.t("結果待ち (共有フォルダ)", "Awaiting result (shared folder)"),
            s.items(OutboxState::Awaiting),
        ),
        (lang.t("保留", "Held"), s.items(OutboxState::Held)),
        (
            lang.t("差し戻し", "Rejected"),
            s.items(OutboxState::Rejected),
        ),
        (
            lang.t("隔離された入力", "Quarantined inputs"),
            s.inputs(InputState::Quarantined),
        ),
        (
            lang.t("送信済み (累計)", "Delivered (all time)"),
            s.items(OutboxState::Delivered),
        ),
    ];
    h.push_str("<table>");
    for (label, n) in rows {
        let _ = write!(h, "<tr><th>{label}</th><td class=\"n\">{n}</td></tr>");
    }
    let oldest = s
        .oldest_pending_age_secs
        .map(|a| format!("{a} {}", lang.t("秒前", "s ago")))
        .unwrap_or_else(|| "-".into());
    let last = s.last_delivery_ms.map(jst).unwrap_or_else(|| "-".into());
    skipped(h, lang, d.skipped);
    plugins(h, lang, d.plugins);
    let _ = write!(
        h,
        "<tr><th>{}</th><td class=\"n\">{oldest}</td></tr><tr><th>{}</th><td class=\"n\" id=\"last-delivery\">{last}</td></tr></table></section>",
        lang.t("最も古い送信待ち", "Oldest pending"),
        lang.t("最終送信", "Last delivery"),
    );
}

/// A hold reason in words and what releases it; `None` for a key this version does not know.
fn hold_reason_text(lang: Lang, reason: &str) -> Option<String> {
    let r = tsunagi_clins::build::HoldReason::from_key(reason)?;
    Some(format!(
        "{}: {}",
        lang.t(r.name_ja(), r.name_en()),
        lang.t(r.remedy_ja(), r.remedy_en())
    ))
}

/// Held items by reason, most first, each with what releases it.
fn held(h: &mut String, lang: Lang, d: &PageData<'_>) {
    let Some(s) = d.snapshot else { return };
    let _ = write!(
        h,
        "<section id=\"held\"><h2>{}</h2>",
        lang.t("保留の理由", "Held items by reason")
    );
    if s.held_by_reason.is_empty() {
        let _ = write!(h, "<p>{}</p></section>", lang.t("ありません", "None"));
        return;
    }
    let mut rows: Vec<&(String, i64)> = s.held_by_reason.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let _ = write!(
        h,
        "<table><tr><th>{}</th><th>{}</th><th>{}</th></tr>",
        lang.t("理由", "Reason"),
        lang.t("件数", "Items"),
        lang.t("説明", "What releases them")
    );
    for (reason, n) in rows {
        let _ = write!(
            h,
            "<tr><th>{}</th><td class=\"n\">{n}</td><td>{}</td></tr>",
            esc(reason),
            hold_reason_text(lang, reason).unwrap_or_else(|| "-".to_owned())
        );
    }
    h.push_str("</table></section>");
}

/// One row per file source that skipped something: the total and the reasons that occurred.
fn skipped(h: &mut String, lang: Lang, sources: &[SourceSkips]) {
    for s in sources.iter().filter(|s| s.total() > 0) {
        let reasons: Vec<String> = s
            .by_reason
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(r, n)| format!("{r} {n}"))
            .collect();
        let _ = write!(
            h,
            "<tr class=\"skipped\"><th>{} ({})</th><td class=\"n\">{} <span class=\"muted\">({})</span></td></tr>",
            lang.t(
                "取り込まなかったファイル (リンク・名前・隠しファイル)",
                "Files not taken (links, names, hidden files)"
            ),
            esc(super::redact::label(&s.source)),
            s.total(),
            esc(&reasons.join(", ")),
        );
    }
}

/// One row per exec plugin source: its state, records stored, and how its runs ended.
fn plugins(h: &mut String, lang: Lang, sources: &[(String, Arc<PluginStats>)]) {
    for (name, s) in sources {
        let ends: Vec<String> = s
            .ends()
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(r, n)| format!("{} {n}", r.name()))
            .collect();
        let _ = write!(
            h,
            "<tr class=\"plugin\"><th>{} ({})</th><td class=\"n\">{} · {} {} <span class=\"muted\">({})</span></td></tr>",
            lang.t("プラグイン", "Plugin"),
            esc(super::redact::label(name)),
            s.state().name(),
            s.records().0,
            lang.t("件", "records"),
            esc(&ends.join(", ")),
        );
    }
}

fn today(h: &mut String, lang: Lang, d: &PageData<'_>) {
    let _ = write!(
        h,
        "<section id=\"today\"><h2>{}</h2>",
        lang.t("本日の品質 (JST)", "Today's quality (JST)")
    );
    let Some(t) = d.today else {
        h.push_str("<p>-</p></section>");
        return;
    };
    h.push_str("<table>");
    for (label, n) in [
        (lang.t("受信した入力", "Inputs received"), t.received),
        (lang.t("送信済み", "Delivered"), t.delivered),
        (lang.t("保留", "Held"), t.held),
        (lang.t("差し戻し", "Rejected"), t.rejected),
        (lang.t("隔離", "Quarantined"), t.quarantined),
    ] {
        let _ = write!(h, "<tr><th>{label}</th><td class=\"n\">{n}</td></tr>");
    }
    h.push_str("</table></section>");
}

fn errors(h: &mut String, lang: Lang, d: &PageData<'_>) {
    let _ = write!(
        h,
        "<section id=\"errors\"><h2>{}</h2><p class=\"muted\">{}</p>",
        lang.t("最近のエラー", "Recent errors"),
        lang.t(
            "詳細は tsunagi queue show <ID> で確認できます(患者情報は表示しません)",
            "Details: tsunagi queue show <ID> (patient data is never shown here)"
        ),
    );
    if d.errors.is_empty() {
        let _ = write!(h, "<p>{}</p></section>", lang.t("ありません", "None"));
        return;
    }
    let _ = write!(
        h,
        "<table><tr><th>{}</th><th>ID</th><th>{}</th><th>{}</th></tr>",
        lang.t("時刻", "Time"),
        lang.t("種別", "Kind"),
        lang.t("理由", "Reason")
    );
    for e in d.errors {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            jst(e.at_ms),
            esc(&e.item),
            esc(&e.kind),
            esc(&e.text)
        );
    }
    h.push_str("</table></section>");
}

fn report(h: &mut String, lang: Lang, d: &PageData<'_>) {
    let (this, prev) = months(d.now_ms);
    let l = lang.code();
    let _ = write!(
        h,
        "<section id=\"report\"><h2>{}</h2><ul><li><a href=\"/report?month={this}&amp;lang={l}\">{this}</a> ({})</li>\
         <li><a href=\"/report?month={prev}&amp;lang={l}\">{prev}</a></li></ul></section>",
        lang.t("月次品質レポート", "Monthly quality report"),
        lang.t("今月", "this month"),
    );
}

#[cfg(test)]
mod tests {
    use super::super::checks::Check;
    use super::*;

    fn checks(ready: bool) -> Checks {
        Checks {
            ready,
            checks: vec![Check {
                name: "store",
                ok: ready,
                state: "writable".into(),
            }],
        }
    }

    #[test]
    fn japanese_by_default_english_on_request_with_every_section() {
        let c = checks(true);
        let s = Snapshot {
            outbox: vec![("pending".into(), 7)],
            held_by_reason: vec![("invalid".into(), 2), ("patient-unknown".into(), 5)],
            ..Snapshot::default()
        };
        let t = Today {
            delivered: 4,
            ..Today::default()
        };
        let d = PageData {
            checks: &c,
            snapshot: Some(&s),
            today: Some(&t),
            errors: &[],
            plugins: &[],
            skipped: &[SourceSkips {
                source: "drop".into(),
                by_reason: vec![("symlink", 2), ("hidden", 0)],
            }],
            now_ms: 1_735_743_600_000,
            update: None,
        };
        let ja = render(Lang::from_query(None), &d);
        assert!(ja.contains("lang=\"ja\"") && ja.contains("稼働状態") && ja.contains("正常"));
        let en = render(Lang::from_query(Some("en")), &d);
        assert!(en.contains("lang=\"en\"") && en.contains("Backlog") && en.contains("Ready"));
        for id in ["health", "backlog", "held", "today", "errors", "report"] {
            assert!(ja.contains(&format!("<section id=\"{id}\">")), "{id}");
        }
        assert!(ja.contains("<td class=\"n\">7</td>"));
        assert!(ja.contains("取り込まなかったファイル") && ja.contains("(drop)"));
        assert!(
            en.contains("Files not taken")
                && en.contains("2 <span class=\"muted\">(symlink 2)</span>")
        );
        assert!(ja.contains("/report?month=2025-01&amp;lang=ja") && ja.contains("2024-12"));
        assert!(!ja.contains("<script") && !ja.contains("http://") && !ja.contains("https://"));
    }

    #[test]
    fn held_items_waiting_for_their_patient_are_counted_with_what_releases_them() {
        let c = checks(true);
        let s = Snapshot {
            held_by_reason: vec![("invalid".into(), 2), ("patient-unknown".into(), 5)],
            ..Snapshot::default()
        };
        let d = PageData {
            checks: &c,
            snapshot: Some(&s),
            today: None,
            errors: &[],
            plugins: &[],
            skipped: &[],
            now_ms: 0,
            update: None,
        };
        let section = |html: &str| {
            let at = html.find("<section id=\"held\">").expect("held section");
            html[at..at + html[at..].find("</section>").expect("end")].to_string()
        };
        let ja = section(&render(Lang::Ja, &d));
        let first = ja.find("patient-unknown").expect("listed");
        assert!(
            first < ja.find("invalid").expect("listed"),
            "most first: {ja}"
        );
        assert!(
            ja.contains("<th>patient-unknown</th><td class=\"n\">5</td>"),
            "{ja}"
        );
        assert!(
            ja.contains("ADTメッセージ(PID+IN1)") && ja.contains("患者マスター"),
            "{ja}"
        );
        let en = section(&render(Lang::En, &d));
        assert!(
            en.contains("PID and IN1") && en.contains("patient master export"),
            "{en}"
        );
    }

    #[test]
    fn error_text_is_escaped() {
        let c = checks(false);
        let e = [RecentError {
            at_ms: 0,
            kind: "rejected".into(),
            item: "O-1".into(),
            text: "<b>x</b>".into(),
        }];
        let d = PageData {
            checks: &c,
            snapshot: None,
            today: None,
            errors: &e,
            plugins: &[],
            skipped: &[],
            now_ms: 0,
            update: None,
        };
        let html = render(Lang::Ja, &d);
        assert!(html.contains("&lt;b&gt;x&lt;/b&gt;") && html.contains("要確認"));
    }

    #[test]
    fn january_links_to_december() {
        assert_eq!(
            months(1_735_743_600_000),
            ("2025-01".into(), "2024-12".into())
        );
    }
}
