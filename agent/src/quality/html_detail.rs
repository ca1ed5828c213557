//! The detail pages of the HTML report: figures per information type, coded rate per master,
//! the delay histogram, the ranked reasons, and the method notes (including what about the
//! incentive rules is unverified). Same rules as [`super::html`]: inline only, all text escaped.

use std::fmt::Write as _;

use super::html::{bucket_name, category_name, duration, esc, pct, reason_kind, reason_words, tr};
use super::svg;
use super::{Lang, QualityReport};

/// Appends the detail section.
pub(super) fn render(o: &mut String, r: &QualityReport, lang: Lang) {
    let _ = write!(
        o,
        r#"<section class="detail"><h2>{}</h2><table><tr><th>{}</th><th class="n">{}</th><th class="n">{}</th><th class="n">{}</th><th class="n">{}</th><th class="n">{}</th><th class="n">{}</th></tr>"#,
        tr(lang, "情報の種類ごとの状況", "By information type"),
        tr(lang, "種類", "Type"),
        tr(lang, "提供", "Delivered"),
        tr(lang, "差し戻し", "Rejected"),
        tr(lang, "保留", "Held"),
        tr(lang, "期限内", "On time"),
        tr(lang, "中央値", "Median"),
        tr(lang, "95%", "95th"),
    );
    for b in &r.by_type {
        if b.delivered + b.rejected + b.held == 0 {
            continue;
        }
        let on_time = if b.timing_rule == "none" {
            "—".to_owned()
        } else {
            format!(
                "{} ({}/{})",
                pct(b.on_time_percent, 1),
                b.on_time,
                b.assessed
            )
        };
        let _ = write!(
            o,
            r#"<tr><td>{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
            esc(if lang == Lang::En {
                b.label_en
            } else {
                b.label_ja
            }),
            b.delivered,
            b.rejected,
            b.held,
            esc(&on_time),
            duration(b.event_delay.p50_ms, lang),
            duration(b.event_delay.p95_ms, lang)
        );
    }
    let _ = write!(
        o,
        "</table><h2>{}</h2>",
        tr(
            lang,
            "マスターごとの標準コード化率",
            "Coded rate per master"
        )
    );
    o.push_str(&svg::coded_bars(
        &r.coded,
        &|c| category_name(lang, c),
        tr(
            lang,
            "マスターごとの標準コード化率",
            "Coded rate per master",
        ),
    ));
    let rd = &r.delay.receipt_to_delivery;
    let _ = write!(
        o,
        "<h2>{}</h2>{}<p>{} {} / {}</p>",
        tr(
            lang,
            "診療から提供までの時間",
            "Time from clinical event to delivery"
        ),
        svg::histogram(
            &r.delay.histogram,
            &|b| bucket_name(lang, b),
            tr(
                lang,
                "提供までの時間の分布",
                "Distribution of time to delivery"
            )
        ),
        tr(
            lang,
            "エージェント受信から提供まで (中央値 / 95%):",
            "From receipt by the agent to delivery (median / 95th):"
        ),
        duration(rd.p50_ms, lang),
        duration(rd.p95_ms, lang),
    );
    let _ = write!(
        o,
        "<h2>{}</h2>",
        tr(
            lang,
            "差し戻し・検証エラー・保留の理由",
            "Rejection, validation and hold reasons"
        )
    );
    if r.reasons.is_empty() {
        let _ = write!(o, "<p>{}</p>", tr(lang, "ありません。", "None."));
    } else {
        let _ = write!(
            o,
            r#"<table><tr><th class="n">#</th><th>{}</th><th>{}</th><th class="n">{}</th></tr>"#,
            tr(lang, "区分", "Kind"),
            tr(lang, "ルール / 理由", "Rule / reason"),
            tr(lang, "件数", "Bundles")
        );
        for x in &r.reasons {
            let _ = write!(
                o,
                r#"<tr><td class="n">{}</td><td>{}</td><td>{}</td><td class="n">{}</td></tr>"#,
                x.rank,
                reason_kind(lang, x.kind),
                reason_words(lang, x.kind, &x.key),
                x.bundles
            );
        }
        o.push_str("</table>");
        let _ = write!(
            o,
            "<p>{}</p>",
            tr(
                lang,
                "各件の詳細は <code>tsunagi queue list</code> で確認できます。",
                "See each item with <code>tsunagi queue list</code>."
            )
        );
    }
    notes(o, r, lang);
    o.push_str("</section>");
}

fn notes(o: &mut String, r: &QualityReport, lang: Lang) {
    let a = &r.availability;
    let _ = write!(
        o,
        r#"<h2>{}</h2><ul class="notes">"#,
        tr(lang, "集計方法と注意", "Method and caveats")
    );
    let items: [&str; 6] = [
        tr(lang, "日付と月の区切りは日本時間 (JST) です。数値はすべてエージェントのデータベースから再計算しています。",
           "Days and months are JST. All figures are recomputed from the agent's database."),
        tr(lang, "期限: 傷病名・アレルギーは診療当日 (同じ暦日) の提供、検査・感染症は「次回受診まで」を7日以内で近似しています (エージェントは受診日を知らないため)。",
           "Timing: diagnoses and allergies on the day of the event (same calendar day); labs and infection tests \"by the next visit\", approximated as within 7 days (the agent does not know visit dates)."),
        tr(lang, "通信可用率は送信試行の結果から推定しています: 一時的失敗が続いた間を接続不可とみなします。",
           "Availability is derived from delivery attempts: a streak of transient or ambiguous failures counts as unavailable until the next answer."),
        tr(lang, "信号の色の基準 (提供成功率 98%/90%、コード化率・期限内 95%/80%、可用率 99%/95%、95%値 1日/7日) は tsunagi 独自の目安です。",
           "Traffic-light thresholds (delivered 98/90%, coded and on-time 95/80%, availability 99/95%, 95th delay 1/7 days) are tsunagi's own guide, not an official figure."),
        tr(lang, "令和8年度の電子的診療情報連携体制整備加算について、施設基準(8)〜(10)の正確な文言、電子カルテ情報共有サービスの利用量に関する指標、報告義務は未確認です。本レポートは公式の指標ではなく、提供状況の自己点検用です。",
           "For the FY2026 電子的診療情報連携体制整備加算, the exact wording of criteria (8)–(10), any CLINS usage-volume metric and any reporting duty are unverified. This report is a self-check of data supply, not an official metric."),
        tr(lang, "患者の氏名・ID・生年月日・自由記載は含みません。病名とアレルゲンはコードのみ表示します。",
           "No patient names, IDs, birth dates or free text appear; diagnoses and allergens are shown by code only."),
    ];
    for i in items {
        let _ = write!(o, "<li>{}</li>", esc(i));
    }
    let _ = write!(
        o,
        "<li>{}: {} {} · {} {}</li></ul>",
        tr(lang, "送信試行", "Attempts"),
        a.attempts,
        tr(lang, "件", ""),
        tr(lang, "接続不可の回数", "outages"),
        a.outages
    );
}
