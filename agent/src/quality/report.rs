//! One call per output format: compute the month from the store and render it.
//!
//! `now` is taken from the clock here (it stamps the report and caps the availability period at
//! the present); the `*_at` variants take it as an argument for reproducible output in tests.

use rusqlite::Connection;

use super::csv::Encoding;
use super::{metrics, Lang, Month, QualityError, QualityReport};

/// The month's figures, as of now.
pub fn compute(conn: &Connection, month: Month) -> Result<QualityReport, QualityError> {
    metrics::compute(conn, month, crate::clock::now_ms())
}

/// The HTML report (self-contained, printable).
pub fn render_html(conn: &Connection, month: Month, lang: Lang) -> Result<String, QualityError> {
    Ok(super::html::render(&compute(conn, month)?, lang))
}

/// The CSV report, encoded.
pub fn render_csv(
    conn: &Connection,
    month: Month,
    lang: Lang,
    encoding: Encoding,
) -> Result<Vec<u8>, QualityError> {
    Ok(super::csv::render(&compute(conn, month)?, lang, encoding))
}

/// The JSON report (pretty-printed, UTF-8, trailing newline).
pub fn render_json(conn: &Connection, month: Month) -> Result<String, QualityError> {
    to_json(&compute(conn, month)?)
}

/// Serialises a computed report.
pub fn to_json(report: &QualityReport) -> Result<String, QualityError> {
    let mut s =
        serde_json::to_string_pretty(report).map_err(|e| QualityError::Encode(e.to_string()))?;
    s.push('\n');
    Ok(s)
}
