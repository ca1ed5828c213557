//! Data quality and delivery figures for one month, computed from facts in the store, and the
//! monthly report in HTML, CSV and JSON (`tsunagi report`).
//!
//! Everything is recomputed from the database (`inbox`, `outbox`, `attempt`, `item_code`), so any
//! past month can be reported again. Nothing here writes, talks to the network or reads a clock
//! except where a caller passes `now`. Day and month boundaries are JST (+09:00) midnights.
//!
//! # Where things are
//! `classify` (information type and event time of a bundle), `month` (JST periods), `facts`
//! (SQL reads), `reasons` (rule keys), `availability`, `metrics` (aggregation into
//! [`QualityReport`]), `report` (compute + render per format), `html`/`html_detail`/`svg`, `csv`,
//! `fixture` (a known store, tests only).
//!
//! # Definitions
//! - **received**: inputs (`inbox`) by `received_at`; **quarantined**: those of them now quarantined.
//! - **delivered**: bundles by `delivered_at` (accepted or acknowledged as duplicate).
//! - **rejected**: bundles the platform refused, counted once, on the day of their first rejected
//!   attempt (a bundle fixed and delivered later counts in both).
//! - **held**: items held back when built (`hold_reason` set: one of the closed set
//!   `tsunagi_clins::build::HoldReason`, shown in words with what releases them; a key this
//!   version does not know is `other`), by `created_at`, except rows since superseded (rebuilt by
//!   replay or replaced by a newer version of the order; the replacement counts on its own).
//! - **insurance gap**: items held `patient-no-insurance-id` (no 被保険者番号 / 枝番, a known
//!   trouble spot between レセコン and EHR) by the same rule, and the distinct patients among them
//!   (counted by their stored reference, never shown).
//! - **information type**: `outbox.info_type` (v4), else [`classify_bundle`] on the stored body,
//!   else from the resource type (`Condition` → 傷病名, anything else unclassified).
//! - **coded rate** per master (disease, lab, allergen, drug): items of inputs received in the
//!   month, as of their latest processing, `mapped / (mapped + unmapped + invalid)`.
//! - **unmapped codes**: unmapped and invalid local codes of the month's inputs, ranked by
//!   records (inputs) affected, then items. Names are shown for lab and drug codes only (master
//!   terms); diagnosis and allergen names may be free text written in the EHR and are never read.
//! - **reasons**: rule keys (`R2152`, `TSG-…`, `SIM-…`, or the codes in `[…]`) extracted from
//!   rejected attempts of the month and from the findings of held invalid bundles, plus hold
//!   reasons. Only the keys are reported, never the surrounding text (it could quote values).
//! - **delays**: clinical event → platform receipt (`event_at → delivered_at`) and agent receipt →
//!   platform receipt (`inbox.received_at → delivered_at`) for bundles delivered in the month;
//!   p50/p95 by the nearest-rank method (value at rank ⌈p·n⌉), negative delays count as 0.
//! - **timeliness** (IG §1.3): conditions and allergies on time when delivered on the JST calendar
//!   day of the event (the visit day); lab and infection results when delivered within 7 × 24 h
//!   of the event, an approximation of "by the next visit" (the agent does not know visit dates).
//!   Assessed over delivered bundles with an event time; documents have no rule.
//! - **uplink availability**: see [`availability`].
//!
//! # JSON (`schema: "tsunagi.quality/1"`; fields are stable, new fields may be added)
//! ```text
//! { schema, month: "YYYY-MM", timezone: "+09:00", generated_at: RFC 3339,
//!   totals: { received, quarantined, delivered, rejected, held,
//!             success_percent|null, coded_percent|null, on_time_percent|null },
//!   daily: [ { date: "YYYY-MM-DD", received, quarantined, delivered, rejected, held } ]  (every day),
//!   daily_by_type: [ { date, info_type, delivered, rejected, held } ]                   (non-zero rows),
//!   by_type: [ { info_type, label_ja, label_en, delivered, rejected, held,
//!                event_delay: Delay, timing_rule: "same_day"|"within_7_days"|"none",
//!                assessed, on_time, on_time_percent|null } ]                            (all 9 types),
//!   coded: [ { category: "disease"|"lab"|"allergen"|"drug", mapped, unmapped, invalid, total,
//!              coded_percent|null } ],
//!   unmapped_codes: [ { rank, category, source_system, local_system, local_code,
//!                       local_name|null, outcome: "unmapped"|"invalid", items, records } ],
//!   reasons: [ { rank, kind: "rejection"|"validation"|"hold", key, bundles } ],
//!   delay: { event_to_delivery: Delay, receipt_to_delivery: Delay,
//!            histogram: [ { bucket, count } ] },
//!   availability: { attempts, known_ms, up_ms, down_ms, availability_percent|null,
//!                   outages, longest_outage_ms } }
//! Delay = { count, p50_ms|null, p95_ms|null }
//! ```
//! Percentages are rounded to one decimal (availability to two).
//!
//! # CSV
//! One file, one block per metric family; each block starts with a header row whose first column
//! is `section`, every row of the block carries the section name in that column, and blocks are
//! separated by one empty line. Sections: `summary`, `daily`, `daily_by_type`, `by_type`, `coded`,
//! `unmapped_codes`, `reasons`, `delay`, `delay_histogram`, `availability` (columns as in JSON).
//! UTF-8 with BOM by default, CP932 on request; CRLF line ends.

pub mod availability;
pub mod classify;
pub mod csv;
mod facts;
#[cfg(test)]
pub(crate) mod fixture;
pub mod html;
mod html_detail;
pub mod metrics;
pub mod month;
mod reasons;
pub mod report;
mod svg;
#[cfg(test)]
mod tests;

pub use classify::{classify_bundle, BundleFacts, InfoType};
pub use month::Month;

use serde::Serialize;

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum QualityError {
    /// Reading the store failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Reading the store failed.
    #[error("{0}")]
    Store(#[from] crate::store::StoreError),
    /// Encoding the output failed.
    #[error("cannot encode the report: {0}")]
    Encode(String),
}

/// The report language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// 日本語 (default).
    #[default]
    Ja,
    /// English.
    En,
}

/// A delay distribution.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Delay {
    /// Values.
    pub count: u64,
    /// Median, ms.
    pub p50_ms: Option<i64>,
    /// 95th percentile, ms.
    pub p95_ms: Option<i64>,
}

/// Month totals.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Totals {
    /// Inputs received.
    pub received: u64,
    /// Of those, quarantined.
    pub quarantined: u64,
    /// Bundles delivered.
    pub delivered: u64,
    /// Bundles rejected.
    pub rejected: u64,
    /// Items held.
    pub held: u64,
    /// delivered / (delivered + rejected + held), percent.
    pub success_percent: Option<f64>,
    /// Mapped items / all coded items, percent.
    pub coded_percent: Option<f64>,
    /// On time / assessed, percent.
    pub on_time_percent: Option<f64>,
}

/// One day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Daily {
    /// `YYYY-MM-DD` (JST).
    pub date: String,
    /// Inputs received.
    pub received: u64,
    /// Of those, quarantined.
    pub quarantined: u64,
    /// Bundles delivered.
    pub delivered: u64,
    /// Bundles rejected.
    pub rejected: u64,
    /// Items held.
    pub held: u64,
}

/// One day and information type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DailyByType {
    /// `YYYY-MM-DD` (JST).
    pub date: String,
    /// Information type key.
    pub info_type: &'static str,
    /// Delivered.
    pub delivered: u64,
    /// Rejected.
    pub rejected: u64,
    /// Held.
    pub held: u64,
}

/// One information type over the month.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ByType {
    /// Key.
    pub info_type: &'static str,
    /// Japanese name.
    pub label_ja: &'static str,
    /// English name.
    pub label_en: &'static str,
    /// Delivered.
    pub delivered: u64,
    /// Rejected.
    pub rejected: u64,
    /// Held.
    pub held: u64,
    /// Clinical event → platform receipt.
    pub event_delay: Delay,
    /// `same_day`, `within_7_days` or `none`.
    pub timing_rule: &'static str,
    /// Delivered bundles with an event time, under a rule.
    pub assessed: u64,
    /// Of those, on time.
    pub on_time: u64,
    /// on_time / assessed, percent.
    pub on_time_percent: Option<f64>,
}

/// Coded rate of one master.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coded {
    /// disease | lab | allergen | drug.
    pub category: &'static str,
    /// Mapped to a standard code.
    pub mapped: u64,
    /// Sent with the uncoded marker.
    pub unmapped: u64,
    /// Refused by the master.
    pub invalid: u64,
    /// All items.
    pub total: u64,
    /// mapped / total, percent.
    pub coded_percent: Option<f64>,
}

/// One unmapped local code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnmappedCode {
    /// 1-based rank.
    pub rank: u64,
    /// Master category.
    pub category: String,
    /// Sending system.
    pub source_system: String,
    /// Local code system.
    pub local_system: String,
    /// Local code.
    pub local_code: String,
    /// Master term (lab and drug only).
    pub local_name: Option<String>,
    /// unmapped | invalid.
    pub outcome: String,
    /// Items carrying it.
    pub items: u64,
    /// Inputs carrying it (records a fix improves).
    pub records: u64,
}

/// One reason, ranked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// 1-based rank.
    pub rank: u64,
    /// rejection | validation | hold.
    pub kind: &'static str,
    /// Rule key or hold reason.
    pub key: String,
    /// Bundles or items affected.
    pub bundles: u64,
}

/// Items held this month because the patient has no insurance member id (被保険者番号 / 枝番,
/// a known trouble spot between レセコン and EHR), and the patients affected: counted, never named.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct InsuranceGap {
    /// Items held (the Patient and each resource waiting with it).
    pub items: u64,
    /// Distinct patients among them.
    pub patients: u64,
}

/// One histogram bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bucket {
    /// `lt_1h`, `1h_6h`, `6h_24h`, `1d_3d`, `3d_7d`, `ge_7d`.
    pub bucket: &'static str,
    /// Bundles.
    pub count: u64,
}

/// Delays of the month.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Delays {
    /// Clinical event → platform receipt.
    pub event_to_delivery: Delay,
    /// Agent receipt → platform receipt.
    pub receipt_to_delivery: Delay,
    /// Histogram of event → platform receipt.
    pub histogram: Vec<Bucket>,
}

/// The whole month.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QualityReport {
    /// `tsunagi.quality/1`.
    pub schema: &'static str,
    /// `YYYY-MM`.
    pub month: String,
    /// `+09:00`.
    pub timezone: &'static str,
    /// When computed (RFC 3339, JST).
    pub generated_at: String,
    /// Totals.
    pub totals: Totals,
    /// Every day.
    pub daily: Vec<Daily>,
    /// Non-zero day × type rows.
    pub daily_by_type: Vec<DailyByType>,
    /// Every type.
    pub by_type: Vec<ByType>,
    /// Every master.
    pub coded: Vec<Coded>,
    /// Ranked.
    pub unmapped_codes: Vec<UnmappedCode>,
    /// Ranked.
    pub reasons: Vec<Reason>,
    /// Items held for a missing insurance member id (被保険者番号 / 枝番) this month.
    pub insurance_gap: InsuranceGap,
    /// Delays.
    pub delay: Delays,
    /// Uplink availability.
    pub availability: availability::Availability,
}

/// `part / whole` in percent, rounded to `decimals`; `None` when `whole` is 0.
pub fn percent(part: u64, whole: u64, decimals: i32) -> Option<f64> {
    if whole == 0 {
        return None;
    }
    let scale = 10f64.powi(decimals);
    Some((part as f64 * 100.0 * scale / whole as f64).round() / scale)
}
