//! The fleet page (`/`, `/?lang=en`, `?sort=...`) and one agent's page (`/agent/{uid}`), in
//! Japanese (default) and English.
//!
//! Self-contained HTML: inline CSS, no scripts, no external resources (the server sends a
//! Content-Security-Policy that forbids them). Sorting is by links. Every value shown is what an
//! agent reported (names, versions, counts, times, state words, its scrubbed last error), all
//! HTML-escaped.

use std::fmt::Write as _;

use tsunagi_opamp::keys;

use crate::agent::AgentState;

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
        if q == Some("en") {
            Lang::En
        } else {
            Lang::Ja
        }
    }
    fn code(self) -> &'static str {
        if self == Lang::En {
            "en"
        } else {
            "ja"
        }
    }
    fn t(self, ja: &'static str, en: &'static str) -> &'static str {
        if self == Lang::En {
            en
        } else {
            ja
        }
    }
}

/// How an agent stands, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Standing {
    /// Not heard from for 3 intervals.
    Stale,
    /// Reports itself unhealthy.
    Unhealthy,
    /// Said goodbye (clean stop).
    Stopped,
    /// No health reported.
    Unknown,
    /// Healthy.
    Healthy,
}

impl Standing {
    /// Of one agent at `now_ms`.
    pub fn of(a: &AgentState, now_ms: i64, stale_after_ms: i64) -> Standing {
        if a.stale(now_ms, stale_after_ms) {
            Standing::Stale
        } else if a.disconnected {
            Standing::Stopped
        } else {
            match a.healthy() {
                Some(false) => Standing::Unhealthy,
                Some(true) => Standing::Healthy,
                None => Standing::Unknown,
            }
        }
    }
    /// The word for `/agents.json` and `/metrics`.
    pub fn word(self) -> &'static str {
        match self {
            Standing::Stale => "stale",
            Standing::Unhealthy => "unhealthy",
            Standing::Stopped => "stopped",
            Standing::Unknown => "unknown",
            Standing::Healthy => "healthy",
        }
    }
    fn label(self, l: Lang) -> &'static str {
        match self {
            Standing::Stale => l.t("応答なし", "stale"),
            Standing::Unhealthy => l.t("異常", "unhealthy"),
            Standing::Stopped => l.t("停止", "stopped"),
            Standing::Unknown => l.t("不明", "unknown"),
            Standing::Healthy => l.t("正常", "healthy"),
        }
    }
}

/// The columns the list sorts by.
const SORTS: [(&str, &str, &str); 9] = [
    ("state", "状態", "State"),
    ("institution", "医療機関番号", "Institution"),
    ("version", "バージョン", "Version"),
    ("last_seen", "最終受信", "Last seen"),
    ("backlog", "未送信", "Backlog"),
    ("oldest", "最古の未送信", "Oldest pending"),
    ("last_delivery", "最終送信", "Last delivery"),
    ("coded", "今月のコード化率", "Coded this month"),
    ("rejected", "本日の却下", "Rejected today"),
];

/// What the list page needs.
pub struct ListView<'a> {
    /// Every agent.
    pub agents: &'a mut Vec<AgentState>,
    /// Now, unix ms.
    pub now_ms: i64,
    /// Silence after which an agent is stale.
    pub stale_after_ms: i64,
    /// `sort` query value.
    pub sort: &'a str,
}

/// HTML-escapes text.
pub fn esc(s: &str) -> String {
    s.chars().fold(String::with_capacity(s.len()), |mut o, c| {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
        o
    })
}

fn time(ms: Option<f64>) -> String {
    ms.and_then(|ms| chrono::DateTime::from_timestamp_millis(ms as i64))
        .map(|t| {
            let jst = chrono::FixedOffset::east_opt(9 * 3600).expect("JST is a valid offset");
            t.with_timezone(&jst)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|| "-".into())
}

fn number(v: Option<f64>) -> String {
    match v {
        Some(v) if v.fract() == 0.0 => format!("{v:.0}"),
        Some(v) => format!("{v:.1}"),
        None => "-".into(),
    }
}

fn head(out: &mut String, l: Lang, title: &str) {
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><style>{CSS}</style></head><body>",
        l.code()
    );
}

const CSS: &str = "body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}\
td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}th a{color:inherit}\
.stale{background:#fdd}.unhealthy{background:#fed}.stopped{color:#888}.muted{color:#666}nav a{margin-right:1em}";

fn sort(agents: &mut [AgentState], by: &str, now_ms: i64, stale_after_ms: i64) {
    let fig = |a: &AgentState, k: &str| a.figure(k).unwrap_or(f64::NEG_INFINITY);
    match by {
        "institution" => agents.sort_by(|a, b| a.institution().cmp(b.institution())),
        "version" => agents.sort_by(|a, b| a.version().cmp(b.version())),
        "last_seen" => agents.sort_by_key(|a| std::cmp::Reverse(a.last_seen_ms)),
        "backlog" | "oldest" | "last_delivery" | "coded" | "rejected" => {
            let k = match by {
                "backlog" => keys::BACKLOG,
                "oldest" => keys::OLDEST_PENDING_S,
                "last_delivery" => keys::LAST_DELIVERY_MS,
                "coded" => keys::CODED_RATE_MONTH,
                _ => keys::REJECTED_TODAY,
            };
            // Worst first: most backlog/oldest/rejected, earliest delivery, lowest rate.
            let asc = matches!(by, "last_delivery" | "coded");
            agents.sort_by(|a, b| {
                let o = fig(a, k).total_cmp(&fig(b, k));
                if asc {
                    o
                } else {
                    o.reverse()
                }
            });
        }
        _ => agents.sort_by_key(|a| {
            (
                Standing::of(a, now_ms, stale_after_ms),
                a.institution().to_string(),
            )
        }),
    }
}

/// The list of agents.
pub fn list(v: ListView<'_>, l: Lang) -> String {
    sort(v.agents, v.sort, v.now_ms, v.stale_after_ms);
    let title = l.t("tsunagi フリート", "tsunagi fleet");
    let mut o = String::new();
    head(&mut o, l, title);
    let count = |s: Standing| {
        v.agents
            .iter()
            .filter(|a| Standing::of(a, v.now_ms, v.stale_after_ms) == s)
            .count()
    };
    let _ = write!(
        o,
        "<header><h1>{title}</h1><p class=\"muted\">{} {} (JST) · {} {} · {} {} · {} {}</p>\
         <nav><a href=\"/?lang=ja\">日本語</a><a href=\"/?lang=en\">English</a><a href=\"/agents.json\">/agents.json</a><a href=\"/metrics\">/metrics</a></nav></header>",
        l.t("更新", "As of"),
        time(Some(v.now_ms as f64)),
        l.t("エージェント", "agents"),
        v.agents.len(),
        l.t("応答なし", "stale"),
        count(Standing::Stale),
        l.t("異常", "unhealthy"),
        count(Standing::Unhealthy),
    );
    o.push_str("<table id=\"agents\"><thead><tr>");
    for (key, ja, en) in SORTS {
        let _ = write!(
            o,
            "<th><a href=\"/?sort={key}&amp;lang={}\">{}</a></th>",
            l.code(),
            l.t(ja, en)
        );
    }
    let _ = write!(
        o,
        "<th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        l.t("更新", "Update"),
        l.t("名前", "Name"),
        l.t("ホスト", "Host")
    );
    for a in v.agents.iter() {
        row(&mut o, a, &v, l);
    }
    o.push_str("</tbody></table></body></html>");
    o
}

fn row(o: &mut String, a: &AgentState, v: &ListView<'_>, l: Lang) {
    let st = Standing::of(a, v.now_ms, v.stale_after_ms);
    let _ = write!(
        o,
        "<tr class=\"{}\" data-uid=\"{}\"><td><a href=\"/agent/{}?lang={}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td>\
         <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        st.word(),
        esc(&a.uid),
        esc(&a.uid),
        l.code(),
        st.label(l),
        esc(a.institution()),
        esc(a.version()),
        time(Some(a.last_seen_ms as f64)),
        number(a.figure(keys::BACKLOG)),
        age(a.figure(keys::OLDEST_PENDING_S), l),
        time(a.figure(keys::LAST_DELIVERY_MS)),
        a.figure(keys::CODED_RATE_MONTH)
            .map(|r| format!("{r:.1}%"))
            .unwrap_or_else(|| "-".into()),
        number(a.figure(keys::REJECTED_TODAY)),
        update(a, l),
        esc(a.name()),
        esc(a.non_identifying.get("host.name").map(String::as_str).unwrap_or("")),
    );
}

/// The agent's update state as it reported it: a version waiting, versions rolled back.
fn update(a: &AgentState, l: Lang) -> String {
    let mut parts = Vec::new();
    if let Some(v) = a.note(keys::UPDATE_AVAILABLE) {
        parts.push(format!("{} {}", l.t("更新あり", "available"), esc(v)));
    }
    if let Some(v) = a.note(keys::UPDATE_FAILED) {
        parts.push(format!(
            "<span class=\"unhealthy\">{} {}</span>",
            l.t("取り消し", "rolled back"),
            esc(v)
        ));
    }
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(" · ")
    }
}

fn age(secs: Option<f64>, l: Lang) -> String {
    match secs {
        None => "-".into(),
        Some(s) if s < 120.0 => format!("{s:.0}{}", l.t("秒", " s")),
        Some(s) if s < 7200.0 => format!("{:.0}{}", s / 60.0, l.t("分", " min")),
        Some(s) => format!("{:.1}{}", s / 3600.0, l.t("時間", " h")),
    }
}

/// One agent's page.
pub fn detail(a: &AgentState, now_ms: i64, stale_after_ms: i64, l: Lang) -> String {
    let mut o = String::new();
    let title = format!("{} {}", l.t("エージェント", "Agent"), esc(&a.uid));
    head(&mut o, l, &title);
    let st = Standing::of(a, now_ms, stale_after_ms);
    let _ = write!(
        o,
        "<header><h1>{title}</h1><nav><a href=\"/?lang={}\">{}</a><a href=\"/agent/{}?lang=ja\">日本語</a><a href=\"/agent/{}?lang=en\">English</a></nav></header>\
         <p class=\"{}\">{}: {} · {}: {} · {}: {}</p>",
        l.code(),
        l.t("一覧へ", "All agents"),
        esc(&a.uid),
        esc(&a.uid),
        st.word(),
        l.t("状態", "State"),
        st.label(l),
        l.t("最終受信", "Last seen"),
        time(Some(a.last_seen_ms as f64)),
        l.t("初回受信", "First seen"),
        time(Some(a.first_seen_ms as f64)),
    );
    table(
        &mut o,
        l.t("識別属性", "Identifying attributes"),
        a.identifying.iter(),
    );
    table(&mut o, l.t("属性", "Attributes"), a.non_identifying.iter());
    if let Some(h) = &a.health {
        let figs: Vec<(String, String)> = h
            .figures
            .iter()
            .map(|(k, v)| (k.clone(), number(Some(*v))))
            .collect();
        table(
            &mut o,
            l.t("指標", "Figures"),
            figs.iter().map(|(k, v)| (k, v)),
        );
        let comps: Vec<(String, String)> = h
            .components
            .iter()
            .map(|(k, c)| {
                let ok = if c.healthy {
                    l.t("正常", "healthy")
                } else {
                    l.t("異常", "unhealthy")
                };
                (k.clone(), format!("{ok} · {} {}", c.status, c.last_error))
            })
            .collect();
        table(
            &mut o,
            l.t("コンポーネント", "Components"),
            comps.iter().map(|(k, v)| (k, v)),
        );
        if !h.last_error.is_empty() {
            let _ = write!(
                o,
                "<p>{}: {}</p>",
                l.t("最後のエラー", "Last error"),
                esc(&h.last_error)
            );
        }
    }
    table(&mut o, l.t("パッケージ", "Packages"), a.packages.iter());
    for (name, text) in &a.effective_config {
        let _ = write!(
            o,
            "<h2>{} {}</h2><pre>{}</pre>",
            l.t("実効設定", "Effective config"),
            esc(name),
            esc(text)
        );
    }
    o.push_str("</body></html>");
    o
}

fn table<'a>(o: &mut String, title: &str, rows: impl Iterator<Item = (&'a String, &'a String)>) {
    let _ = write!(o, "<h2>{title}</h2><table>");
    for (k, v) in rows {
        let _ = write!(o, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v));
    }
    o.push_str("</table>");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(uid: &str, seen: i64, backlog: f64) -> AgentState {
        let mut a = AgentState::new(uid.into(), 0);
        a.last_seen_ms = seen;
        a.non_identifying
            .insert(keys::INSTITUTION.into(), "<1318814790>".into());
        let mut h = crate::agent::Health {
            healthy: true,
            ..Default::default()
        };
        h.figures.insert(keys::BACKLOG.into(), backlog);
        a.health = Some(h);
        a
    }

    #[test]
    fn stale_first_sorted_escaped_in_both_languages() {
        let mut agents = vec![agent("fresh", 100_000, 1.0), agent("old", 0, 5.0)];
        fn view(agents: &mut Vec<AgentState>) -> ListView<'_> {
            ListView {
                agents,
                now_ms: 100_000,
                stale_after_ms: 90_000,
                sort: "state",
            }
        }
        let ja = list(view(&mut agents), Lang::Ja);
        assert!(ja.contains("lang=\"ja\"") && ja.contains("応答なし"));
        assert!(ja.find("data-uid=\"old\"") < ja.find("data-uid=\"fresh\""));
        assert!(ja.contains("&lt;1318814790&gt;") && !ja.contains("<1318814790>"));
        let en = list(view(&mut agents), Lang::En);
        assert!(en.contains("stale") && !en.contains("<script"));
    }

    #[test]
    fn the_update_state_an_agent_reports_is_shown_escaped() {
        let mut a = agent("u", 1, 0.0);
        if let Some(h) = a.health.as_mut() {
            h.notes
                .insert(keys::UPDATE_AVAILABLE.into(), "0.2.0".into());
            h.notes.insert(keys::UPDATE_FAILED.into(), "<0.1.9>".into());
        }
        let mut agents = vec![a, agent("v", 1, 0.0)];
        let html = list(
            ListView {
                agents: &mut agents,
                now_ms: 1,
                stale_after_ms: 90_000,
                sort: "state",
            },
            Lang::En,
        );
        assert!(html.contains("available 0.2.0"), "{html}");
        assert!(html.contains("rolled back &lt;0.1.9&gt;"), "{html}");
        assert!(html.contains("<th>Update</th>"));
    }

    #[test]
    fn sorted_by_backlog_largest_first() {
        let mut agents = vec![agent("a", 1, 1.0), agent("b", 1, 9.0)];
        let html = list(
            ListView {
                agents: &mut agents,
                now_ms: 1,
                stale_after_ms: 90_000,
                sort: "backlog",
            },
            Lang::En,
        );
        assert!(html.find("data-uid=\"b\"") < html.find("data-uid=\"a\""));
    }
}
