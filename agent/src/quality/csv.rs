//! The report as CSV for spreadsheets.
//!
//! One file, one block per metric family: each block starts with a header row whose first column
//! is `section`, each of its rows carries the section name there, and an empty line separates
//! blocks (Excel shows them one under another; a program splits on the empty lines). Lines end
//! with CRLF. Cells are written by [`crate::excel_csv`], the same writer as the mapping files:
//! quoted when needed, and a text that starts like a formula (`=`, `+`, `-`, `@`, tab, CR) gets a
//! leading `'` so a spreadsheet never runs it. Encoded as UTF-8 with a BOM (Excel then reads it as
//! UTF-8), or CP932 (Windows-31J) for older tools; characters CP932 lacks become `?`.

use super::{Lang, QualityReport};

/// The output encoding (UTF-8 with a BOM, or CP932).
pub use crate::excel_csv::TextEncoding as Encoding;
use crate::excel_csv::{cells, encode_lossy};

enum Cell {
    Num(String),
    Text(String),
}

fn n(v: impl ToString) -> Cell {
    Cell::Num(v.to_string())
}

fn opt<T: ToString>(v: Option<T>) -> Cell {
    Cell::Num(v.map(|v| v.to_string()).unwrap_or_default())
}

fn pct(v: Option<f64>, decimals: usize) -> Cell {
    Cell::Num(v.map(|v| format!("{v:.decimals$}")).unwrap_or_default())
}

fn t(v: impl Into<String>) -> Cell {
    Cell::Text(v.into())
}

fn field(c: &Cell) -> String {
    match c {
        Cell::Num(s) => cells::number(s),
        Cell::Text(s) => cells::text(s),
    }
}

struct Sheet {
    out: String,
}

impl Sheet {
    fn block(&mut self, section: &str, header: &[&str], rows: Vec<Vec<Cell>>) {
        if !self.out.is_empty() {
            self.out.push_str("\r\n");
        }
        self.out.push_str("section");
        for h in header {
            self.out.push(',');
            self.out.push_str(h);
        }
        self.out.push_str("\r\n");
        for row in rows {
            self.out.push_str(section);
            for c in &row {
                self.out.push(',');
                self.out.push_str(&field(c));
            }
            self.out.push_str("\r\n");
        }
    }
}

/// The report as CSV text (before encoding).
pub fn render_text(r: &QualityReport, lang: Lang) -> String {
    let mut s = Sheet { out: String::new() };
    let tt = &r.totals;
    let ev = &r.delay.event_to_delivery;
    s.block(
        "summary",
        &[
            "month",
            "received",
            "quarantined",
            "delivered",
            "rejected",
            "held",
            "success_percent",
            "coded_percent",
            "on_time_percent",
            "event_delay_p50_ms",
            "event_delay_p95_ms",
            "availability_percent",
        ],
        vec![vec![
            t(r.month.clone()),
            n(tt.received),
            n(tt.quarantined),
            n(tt.delivered),
            n(tt.rejected),
            n(tt.held),
            pct(tt.success_percent, 1),
            pct(tt.coded_percent, 1),
            pct(tt.on_time_percent, 1),
            opt(ev.p50_ms),
            opt(ev.p95_ms),
            pct(r.availability.availability_percent, 2),
        ]],
    );
    s.block(
        "daily",
        &[
            "date",
            "received",
            "quarantined",
            "delivered",
            "rejected",
            "held",
        ],
        r.daily
            .iter()
            .map(|d| {
                vec![
                    t(d.date.clone()),
                    n(d.received),
                    n(d.quarantined),
                    n(d.delivered),
                    n(d.rejected),
                    n(d.held),
                ]
            })
            .collect(),
    );
    s.block(
        "daily_by_type",
        &["date", "info_type", "delivered", "rejected", "held"],
        r.daily_by_type
            .iter()
            .map(|d| {
                vec![
                    t(d.date.clone()),
                    t(d.info_type),
                    n(d.delivered),
                    n(d.rejected),
                    n(d.held),
                ]
            })
            .collect(),
    );
    s.block(
        "by_type",
        &[
            "info_type",
            "label",
            "delivered",
            "rejected",
            "held",
            "event_delay_p50_ms",
            "event_delay_p95_ms",
            "timing_rule",
            "assessed",
            "on_time",
            "on_time_percent",
        ],
        r.by_type
            .iter()
            .map(|b| {
                let label = if lang == Lang::En {
                    b.label_en
                } else {
                    b.label_ja
                };
                vec![
                    t(b.info_type),
                    t(label),
                    n(b.delivered),
                    n(b.rejected),
                    n(b.held),
                    opt(b.event_delay.p50_ms),
                    opt(b.event_delay.p95_ms),
                    t(b.timing_rule),
                    n(b.assessed),
                    n(b.on_time),
                    pct(b.on_time_percent, 1),
                ]
            })
            .collect(),
    );
    s.block(
        "coded",
        &[
            "category",
            "mapped",
            "unmapped",
            "invalid",
            "total",
            "coded_percent",
        ],
        r.coded
            .iter()
            .map(|c| {
                vec![
                    t(c.category),
                    n(c.mapped),
                    n(c.unmapped),
                    n(c.invalid),
                    n(c.total),
                    pct(c.coded_percent, 1),
                ]
            })
            .collect(),
    );
    s.block(
        "unmapped_codes",
        &[
            "rank",
            "category",
            "source_system",
            "local_system",
            "local_code",
            "local_name",
            "outcome",
            "items",
            "records",
        ],
        r.unmapped_codes
            .iter()
            .map(|u| {
                vec![
                    n(u.rank),
                    t(u.category.clone()),
                    t(u.source_system.clone()),
                    t(u.local_system.clone()),
                    t(u.local_code.clone()),
                    t(u.local_name.clone().unwrap_or_default()),
                    t(u.outcome.clone()),
                    n(u.items),
                    n(u.records),
                ]
            })
            .collect(),
    );
    s.block(
        "reasons",
        &["rank", "kind", "key", "bundles"],
        r.reasons
            .iter()
            .map(|x| vec![n(x.rank), t(x.kind), t(x.key.clone()), n(x.bundles)])
            .collect(),
    );
    s.block(
        "insurance_gap",
        &["items", "patients"],
        vec![vec![n(r.insurance_gap.items), n(r.insurance_gap.patients)]],
    );
    let d = |name: &str, v: &super::Delay| vec![t(name), n(v.count), opt(v.p50_ms), opt(v.p95_ms)];
    s.block(
        "delay",
        &["measure", "count", "p50_ms", "p95_ms"],
        vec![
            d("event_to_delivery", &r.delay.event_to_delivery),
            d("receipt_to_delivery", &r.delay.receipt_to_delivery),
        ],
    );
    s.block(
        "delay_histogram",
        &["bucket", "count"],
        r.delay
            .histogram
            .iter()
            .map(|b| vec![t(b.bucket), n(b.count)])
            .collect(),
    );
    let a = &r.availability;
    s.block(
        "availability",
        &[
            "attempts",
            "known_ms",
            "up_ms",
            "down_ms",
            "availability_percent",
            "outages",
            "longest_outage_ms",
        ],
        vec![vec![
            n(a.attempts),
            n(a.known_ms),
            n(a.up_ms),
            n(a.down_ms),
            pct(a.availability_percent, 2),
            n(a.outages),
            n(a.longest_outage_ms),
        ]],
    );
    s.out
}

/// The report as CSV bytes in `encoding`; characters CP932 lacks become `?`.
pub fn render(r: &QualityReport, lang: Lang, encoding: Encoding) -> Vec<u8> {
    encode_lossy(&render_text(r, lang), encoding)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        assert_eq!(field(&t("a,b")), "\"a,b\"");
        assert_eq!(field(&t("say \"hi\"")), "\"say \"\"hi\"\"\"");
        assert_eq!(field(&t("=1+2")), "'=1+2");
        assert_eq!(field(&t("\t=1+2")), "'\t=1+2");
        assert_eq!(field(&t("@SUM(1+1)")), "'@SUM(1+1)");
        assert_eq!(field(&n(-3)), "-3");
    }
}
