//! The monthly report as one self-contained HTML page, for a hospital manager.
//!
//! Page one is the summary: headline figures with a traffic light (colour plus a word, so it
//! prints in black and white), the daily trend, and what to fix first. The detail follows on the
//! next pages (types, coded rates, delays, reasons, method notes). Everything is inline: CSS, SVG
//! charts; no script, no web font, no link or image to anything outside the file, so it opens
//! offline and prints to PDF from any browser. Every stored string is HTML-escaped; the report
//! holds counts, dates, codes, rule keys and master terms only (see [`super`] for what is shown).
//!
//! The traffic-light thresholds are tsunagi's own choice, not a regulatory figure.

use std::fmt::Write as _;
use tsunagi_clins::build::HoldReason;

use super::svg;
use super::{Lang, QualityReport};

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Picks the Japanese or English text.
pub(super) fn tr(lang: Lang, ja: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Ja => ja,
        Lang::En => en,
    }
}

/// A duration for people: minutes, hours or days with one decimal.
pub fn duration(ms: Option<i64>, lang: Lang) -> String {
    let Some(ms) = ms else { return "—".into() };
    let (value, ja, en) = if ms < 3_600_000 {
        (ms as f64 / 60_000.0, "分", " min")
    } else if ms < 48 * 3_600_000 {
        (ms as f64 / 3_600_000.0, "時間", " h")
    } else {
        (ms as f64 / 86_400_000.0, "日", " days")
    };
    format!("{value:.1}{}", tr(lang, ja, en))
}

pub(super) fn pct(v: Option<f64>, decimals: usize) -> String {
    v.map(|v| format!("{v:.decimals$}%"))
        .unwrap_or_else(|| "—".into())
}

pub(super) fn category_name(lang: Lang, c: &str) -> String {
    match c {
        "disease" => tr(lang, "傷病名", "Diagnoses"),
        "lab" => tr(lang, "検査", "Lab tests"),
        "allergen" => tr(lang, "アレルゲン", "Allergens"),
        "drug" => tr(lang, "医薬品", "Drugs"),
        _ => "?",
    }
    .to_owned()
}

pub(super) fn bucket_name(lang: Lang, b: &str) -> String {
    match b {
        "lt_1h" => tr(lang, "1時間未満", "< 1 h"),
        "1h_6h" => tr(lang, "1〜6時間", "1–6 h"),
        "6h_24h" => tr(lang, "6〜24時間", "6–24 h"),
        "1d_3d" => tr(lang, "1〜3日", "1–3 days"),
        "3d_7d" => tr(lang, "3〜7日", "3–7 days"),
        _ => tr(lang, "7日以上", "≥ 7 days"),
    }
    .to_owned()
}

/// A reason's key in words: a hold reason's name and remedy, else the rule key as code.
pub(super) fn reason_words(lang: Lang, kind: &str, key: &str) -> String {
    match HoldReason::from_key(key).filter(|_| kind == "hold") {
        Some(h) => format!(
            "{} <code>{}</code><br><small>{}</small>",
            tr(lang, h.name_ja(), h.name_en()),
            h.key(),
            tr(lang, h.remedy_ja(), h.remedy_en())
        ),
        None => format!("<code>{}</code>", esc(key)),
    }
}

pub(super) fn reason_kind(lang: Lang, k: &str) -> &'static str {
    match k {
        "rejection" => tr(lang, "差し戻し", "Rejected"),
        "validation" => tr(lang, "送信前検証", "Validation"),
        _ => tr(lang, "保留", "Held"),
    }
}

/// A headline card: value, traffic light and a one-line explanation.
fn card(out: &mut String, lang: Lang, title: &str, value: &str, light: Option<&str>, note: &str) {
    let (class, word) = match light {
        Some(svg::GREEN) => ("good", tr(lang, "良好", "Good")),
        Some(svg::AMBER) => ("fair", tr(lang, "注意", "Watch")),
        Some(svg::RED) => ("poor", tr(lang, "要対応", "Act")),
        _ => ("none", "—"),
    };
    let _ = write!(
        out,
        r#"<div class="card {class}"><div class="card-title">{}</div><div class="card-value">{}</div><div class="card-light"><span class="dot"></span>{}</div><div class="card-note">{}</div></div>"#,
        esc(title),
        esc(value),
        esc(word),
        esc(note)
    );
}

const STYLE: &str = r#"
:root { --good: #2e7d32; --fair: #ef8f00; --poor: #c62828; --none: #9e9e9e; }
* { box-sizing: border-box; }
body { font-family: "Hiragino Sans", "Yu Gothic", "Meiryo", "Noto Sans CJK JP", sans-serif;
       color: #222; margin: 24px auto; max-width: 960px; padding: 0 16px; line-height: 1.5; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; border-bottom: 2px solid #ddd;
     padding-bottom: 2px; margin: 22px 0 8px; }
.meta { color: #555; font-size: 13px; margin-bottom: 12px; }
.cards { display: grid; grid-template-columns: repeat(5, 1fr); gap: 10px; }
.card { border: 1px solid #ccc; border-top: 6px solid var(--none); border-radius: 6px; padding: 8px; }
.card.good { border-top-color: var(--good); } .card.fair { border-top-color: var(--fair); }
.card.poor { border-top-color: var(--poor); }
.card-title { font-size: 12px; color: #444; } .card-value { font-size: 24px; font-weight: bold; white-space: nowrap; }
.card-light { font-size: 13px; font-weight: bold; } .card-note { font-size: 11px; color: #555; }
.dot { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 4px;
       background: var(--none); }
.good .dot { background: var(--good); } .fair .dot { background: var(--fair); }
.poor .dot { background: var(--poor); }
.counts { margin: 10px 0; font-size: 14px; }
.counts b { font-size: 16px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: left; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
code, pre { font-family: "Menlo", "Consolas", monospace; }
pre { background: #f4f4f4; padding: 8px; border-radius: 4px; font-size: 13px; }
.chart { display: block; max-width: 100%; height: auto; }
.notes { font-size: 12px; color: #444; }
.detail { break-before: page; }
@media print {
  body { margin: 0; max-width: none; font-size: 11px; }
  @page { size: A4; margin: 12mm; }
  .card, table, .chart, section { break-inside: avoid; }
  .card { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  svg rect { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"#;

/// Renders the report as HTML.
pub fn render(r: &QualityReport, lang: Lang) -> String {
    let mut o = String::with_capacity(32 * 1024);
    let title = format!(
        "{} {}",
        tr(
            lang,
            "電子カルテ情報共有サービス 提供状況レポート",
            "CLINS data supply report"
        ),
        r.month
    );
    let _ = write!(
        o,
        r#"<!DOCTYPE html><html lang="{}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{t}</title><style>{STYLE}</style></head><body><h1>{t}</h1><div class="meta">{} {} (JST) · {} {}</div>"#,
        tr(lang, "ja", "en"),
        tr(lang, "集計期間:", "Period:"),
        esc(&r.month),
        tr(lang, "作成:", "Generated:"),
        esc(&r.generated_at),
        t = esc(&title),
    );
    summary(&mut o, r, lang);
    super::html_detail::render(&mut o, r, lang);
    o.push_str("</body></html>\n");
    o
}

fn summary(o: &mut String, r: &QualityReport, lang: Lang) {
    let t = &r.totals;
    let a = &r.availability;
    let ev = &r.delay.event_to_delivery;
    o.push_str(r#"<section class="summary"><div class="cards">"#);
    card(
        o,
        lang,
        tr(lang, "提供成功率", "Delivered share"),
        &pct(t.success_percent, 1),
        t.success_percent
            .map(|v| svg::light_colour(Some(v), 98.0, 90.0)),
        tr(
            lang,
            "提供できた割合 (差し戻し・保留を除く)",
            "delivered / (delivered + rejected + held)",
        ),
    );
    card(
        o,
        lang,
        tr(lang, "標準コード化率", "Coded rate"),
        &pct(t.coded_percent, 1),
        t.coded_percent
            .map(|v| svg::light_colour(Some(v), 95.0, 80.0)),
        tr(
            lang,
            "標準コードで送れた項目の割合",
            "items sent with a standard code",
        ),
    );
    card(
        o,
        lang,
        tr(lang, "期限内提供率", "On time"),
        &pct(t.on_time_percent, 1),
        t.on_time_percent
            .map(|v| svg::light_colour(Some(v), 95.0, 80.0)),
        tr(
            lang,
            "病名・アレルギーは当日、検査は7日以内",
            "diagnoses/allergies same day, labs within 7 days",
        ),
    );
    card(
        o,
        lang,
        tr(lang, "通信可用率", "Uplink availability"),
        &pct(a.availability_percent, 2),
        a.availability_percent
            .map(|v| svg::light_colour(Some(v), 99.0, 95.0)),
        tr(
            lang,
            "送信先に接続できた時間の割合",
            "share of time the platform was reachable",
        ),
    );
    let delay_light = ev.p95_ms.map(|p| match p {
        p if p <= 86_400_000 => svg::GREEN,
        p if p <= 7 * 86_400_000 => svg::AMBER,
        _ => svg::RED,
    });
    let p95_note = format!(
        "{} {} · {}",
        tr(lang, "95%値", "95th:"),
        duration(ev.p95_ms, lang),
        tr(
            lang,
            "診療から提供まで (中央値)",
            "clinical event to platform (median)"
        )
    );
    card(
        o,
        lang,
        tr(lang, "提供までの時間", "Time to delivery"),
        &duration(ev.p50_ms, lang),
        delay_light,
        &p95_note,
    );
    o.push_str("</div>");
    let _ = write!(
        o,
        r#"<div class="counts">{} <b>{}</b> · {} <b>{}</b> · {} <b>{}</b> · {} <b>{}</b> · {} <b>{}</b></div>"#,
        tr(lang, "受信", "Received"),
        t.received,
        tr(lang, "提供", "Delivered"),
        t.delivered,
        tr(lang, "差し戻し", "Rejected"),
        t.rejected,
        tr(lang, "保留", "Held"),
        t.held,
        tr(lang, "取込不可", "Quarantined"),
        t.quarantined,
    );
    let _ = write!(o, "<h2>{}</h2>", tr(lang, "日別の推移", "Daily trend"));
    o.push_str(&svg::daily_bars(
        &r.daily,
        [
            tr(lang, "提供", "Delivered"),
            tr(lang, "差し戻し", "Rejected"),
            tr(lang, "保留", "Held"),
        ],
        tr(
            lang,
            "日別の提供・差し戻し・保留の件数",
            "Delivered, rejected and held per day",
        ),
    ));
    fixes(o, r, lang);
    o.push_str("</section>");
}

/// Patients held for a missing insurance member id: counted, never named.
fn insurance_gap(o: &mut String, r: &QualityReport, lang: Lang) {
    let gap = r.insurance_gap;
    if gap.items == 0 {
        return;
    }
    let reason = HoldReason::PatientNoInsuranceId;
    let _ = write!(
        o,
        r#"<p id="insurance-gap"><strong>{}: {} {} ({} {})</strong><br>{}</p>"#,
        tr(lang, reason.name_ja(), reason.name_en()),
        gap.patients,
        tr(lang, "人", "patients"),
        gap.items,
        tr(lang, "件保留", "items held"),
        tr(lang, reason.remedy_ja(), reason.remedy_en()),
    );
}

fn fixes(o: &mut String, r: &QualityReport, lang: Lang) {
    let _ = write!(
        o,
        "<h2>{}</h2>",
        tr(
            lang,
            "改善のための対応 (効果の大きい順)",
            "What to fix first (largest effect first)"
        )
    );
    insurance_gap(o, r, lang);
    if r.unmapped_codes.is_empty() {
        let _ = write!(
            o,
            "<p>{}</p>",
            tr(
                lang,
                "未対応のローカルコードはありません。",
                "No unmapped local codes."
            )
        );
        return;
    }
    let _ = write!(
        o,
        r#"<p>{}</p><table><tr><th class="n">#</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th class="n">{}</th></tr>"#,
        tr(
            lang,
            "次のローカルコードを標準コードに対応付けると、コード化率が上がります。",
            "Mapping these local codes to standard codes raises the coded rate the most."
        ),
        tr(lang, "マスター", "Master"),
        tr(lang, "ローカルコード", "Local code"),
        tr(lang, "名称", "Name"),
        tr(lang, "状態", "State"),
        tr(lang, "影響件数", "Records"),
    );
    for u in r.unmapped_codes.iter().take(10) {
        let state = if u.outcome == "invalid" {
            tr(lang, "マスター不一致", "invalid")
        } else {
            tr(lang, "未対応", "unmapped")
        };
        let _ = write!(
            o,
            r#"<tr><td class="n">{}</td><td>{}</td><td><code>{}</code> <small>({} · {})</small></td><td>{}</td><td>{}</td><td class="n">{}</td></tr>"#,
            u.rank,
            esc(&category_name(lang, &u.category)),
            esc(&u.local_code),
            esc(&u.local_system),
            esc(&u.source_system),
            esc(u.local_name.as_deref().unwrap_or("—")),
            state,
            u.records
        );
    }
    let _ = write!(
        o,
        "</table><p>{}</p><pre>tsunagi mapping suggest\ntsunagi replay --unmapped</pre>",
        tr(lang, "候補の標準コードを調べ、対応表に登録したあと、保存済みの入力から再送します:", "Look up candidate codes, add them to the mapping table, then rebuild and resend from the stored inputs:"),
    );
}
