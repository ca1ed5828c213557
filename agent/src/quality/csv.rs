//! The report as CSV for spreadsheets.
//!
//! One file, one block per metric family: each block starts with a header row whose first column
//! is `section`, each of its rows carries the section name there, and an empty line separates
//! blocks (Excel shows them one under another; a program splits on the empty lines). Lines end
//! with CRLF. Text fields are quoted when they hold a comma, quote or line break, and a text that
//! starts like a formula (`=`, `+`, `-`, `@`) gets a leading `'` so a spreadsheet never runs it.
//! Encoded as UTF-8 with a BOM (Excel then reads it as UTF-8), or CP932 (Windows-31J) for older
//! tools; characters CP932 lacks become `?`.

use super::{Lang, QualityError, QualityReport};

/// The output encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// UTF-8 with a byte-order mark.
    #[default]
    Utf8Bom,
    /// Windows-31J (Shift_JIS as Windows writes it).
    Cp932,
}

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
        Cell::Num(s) => s.clone(),
        Cell::Text(s) => {
            let s = if s.starts_with(['=', '+', '-', '@']) {
                format!("'{s}")
            } else {
                s.clone()
            };
            if s.contains([',', '"', '\r', '\n']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s
            }
        }
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

/// The report as CSV bytes in `encoding`.
pub fn render(r: &QualityReport, lang: Lang, encoding: Encoding) -> Result<Vec<u8>, QualityError> {
    let text = render_text(r, lang);
    Ok(match encoding {
        Encoding::Utf8Bom => {
            let mut out = "\u{feff}".as_bytes().to_vec();
            out.extend_from_slice(text.as_bytes());
            out
        }
        Encoding::Cp932 => to_cp932(&text)?,
    })
}

/// Encodes to Windows-31J; characters it lacks become `?`.
pub fn to_cp932(text: &str) -> Result<Vec<u8>, QualityError> {
    let mut encoder = encoding_rs::SHIFT_JIS.new_encoder();
    let mut out = Vec::with_capacity(text.len() * 2);
    let mut rest = text;
    loop {
        let mut buf = vec![0u8; rest.len() * 2 + 16];
        let (result, read, written) =
            encoder.encode_from_utf8_without_replacement(rest, &mut buf, true);
        out.extend_from_slice(&buf[..written]);
        rest = &rest[read..];
        match result {
            encoding_rs::EncoderResult::InputEmpty => return Ok(out),
            encoding_rs::EncoderResult::Unmappable(_) => out.push(b'?'),
            encoding_rs::EncoderResult::OutputFull => {
                if read == 0 && written == 0 {
                    return Err(QualityError::Encode(
                        "CP932 encoder made no progress".into(),
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        assert_eq!(field(&t("a,b")), "\"a,b\"");
        assert_eq!(field(&t("say \"hi\"")), "\"say \"\"hi\"\"\"");
        assert_eq!(field(&t("=1+2")), "'=1+2");
        assert_eq!(field(&n(-3)), "-3");
    }

    #[test]
    fn cp932_encodes_japanese_and_replaces_what_it_lacks() {
        let bytes = to_cp932("検査,①\u{1F600}x").unwrap();
        // 検 = 0x8C9F, 査 = 0x8DB8 in CP932; ① = 0x8740 (an NEC extension CP932 has).
        assert_eq!(
            bytes,
            [0x8C, 0x9F, 0x8D, 0xB8, b',', 0x87, 0x40, b'?', b'x']
        );
    }
}
