//! Computes a [`QualityReport`] from the store: SQL for the facts, Rust for the aggregation.
//!
//! Read-only: works on a reader connection while the daemon runs, and on databases written before
//! schema v4 (no `outbox.info_type` / `event_at`: bundles are classified from their stored body).
//! See the module doc of [`super`] for what each figure means.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rusqlite::Connection;

use crate::store::InputState;

use super::classify::TimingRule;
use super::facts;
use super::month::jst_date;
use super::reasons::{hold_key, rule_keys};
use super::{
    availability, percent, Bucket, ByType, Daily, DailyByType, Delay, Delays, InfoType,
    InsuranceGap, Month, QualityError, QualityReport, Reason, Totals,
};
use tsunagi_clins::build::HoldReason;

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// Histogram buckets: key and exclusive upper bound (ms).
pub const BUCKETS: [(&str, i64); 6] = [
    ("lt_1h", HOUR_MS),
    ("1h_6h", 6 * HOUR_MS),
    ("6h_24h", DAY_MS),
    ("1d_3d", 3 * DAY_MS),
    ("3d_7d", 7 * DAY_MS),
    ("ge_7d", i64::MAX),
];

/// Items held for a missing insurance member id in `[start, end)` and the patients affected.
fn insurance_gap(conn: &Connection, start: i64, end: i64) -> Result<InsuranceGap, QualityError> {
    let (items, patients) =
        crate::store::report::held_for(conn, start, end, HoldReason::PatientNoInsuranceId.key())?;
    Ok(InsuranceGap {
        items: items.max(0) as u64,
        patients: patients.max(0) as u64,
    })
}

/// Computes the report for `month`; `now` (unix ms) stamps it and caps the availability period.
pub fn compute(conn: &Connection, month: Month, now: i64) -> Result<QualityReport, QualityError> {
    let (start, end) = (month.start_ms(), month.end_ms());
    let in_month = |t: Option<i64>| t.filter(|t| (start..end).contains(t));
    let days = month.days();
    let mut daily: BTreeMap<String, Daily> = days
        .iter()
        .map(|d| {
            let date = d.format("%Y-%m-%d").to_string();
            (
                date.clone(),
                Daily {
                    date,
                    ..Daily::default()
                },
            )
        })
        .collect();
    let day_of = |ms: i64| jst_date(ms).format("%Y-%m-%d").to_string();

    let mut totals = Totals::default();
    for (at, state) in crate::store::report::inputs(conn, start, end)? {
        let quarantined = u64::from(state == InputState::Quarantined);
        totals.received += 1;
        totals.quarantined += quarantined;
        if let Some(d) = daily.get_mut(&day_of(at)) {
            d.received += 1;
            d.quarantined += quarantined;
        }
    }

    let rows = facts::outbox_rows(conn, start, end)?;
    let mut by_day_type: BTreeMap<(String, InfoType), [u64; 3]> = BTreeMap::new();
    let mut per_type: HashMap<InfoType, TypeAcc> = HashMap::new();
    let mut all_event = Vec::new();
    let mut all_receipt = Vec::new();
    let mut histogram = [0u64; BUCKETS.len()];
    let mut validation: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
    let mut holds: BTreeMap<&'static str, u64> = BTreeMap::new();
    for row in &rows {
        let acc = per_type.entry(row.info_type).or_default();
        let mut bump = |at: i64, slot: usize, totals_slot: &mut u64| {
            *totals_slot += 1;
            acc.counts[slot] += 1;
            let day = day_of(at);
            if let Some(d) = daily.get_mut(&day) {
                match slot {
                    0 => d.delivered += 1,
                    1 => d.rejected += 1,
                    _ => d.held += 1,
                }
            }
            by_day_type.entry((day, row.info_type)).or_default()[slot] += 1;
        };
        if let Some(at) = in_month(row.delivered_at) {
            bump(at, 0, &mut totals.delivered);
        }
        if let Some(at) = in_month(row.first_rejected) {
            bump(at, 1, &mut totals.rejected);
        }
        if let Some(at) = in_month(row.held_at) {
            bump(at, 2, &mut totals.held);
            let reason = hold_key(row.hold_reason.as_deref().unwrap_or(""));
            *holds.entry(reason).or_default() += 1;
            if reason == "invalid" {
                for k in rule_keys(row.last_error.as_deref().unwrap_or("")) {
                    validation.entry(k).or_default().insert(row.id);
                }
            }
        }
        if let Some(delivered) = in_month(row.delivered_at) {
            all_receipt.push((delivered - row.received_at).max(0));
            if let Some(event) = row.event_at {
                let delay = (delivered - event).max(0);
                all_event.push(delay);
                acc.event_delays.push(delay);
                if let Some(b) = BUCKETS.iter().position(|(_, upper)| delay < *upper) {
                    histogram[b] += 1;
                }
                let on_time = match row.info_type.timing() {
                    TimingRule::SameDay => Some(jst_date(event) == jst_date(delivered)),
                    TimingRule::Within7Days => Some(delivered - event <= 7 * DAY_MS),
                    TimingRule::None => None,
                };
                if let Some(ok) = on_time {
                    acc.assessed += 1;
                    acc.on_time += u64::from(ok);
                }
            }
        }
    }

    let by_type: Vec<ByType> = InfoType::ALL
        .into_iter()
        .map(|t| {
            let acc = per_type.remove(&t).unwrap_or_default();
            ByType {
                info_type: t.key(),
                label_ja: t.label_ja(),
                label_en: t.label_en(),
                delivered: acc.counts[0],
                rejected: acc.counts[1],
                held: acc.counts[2],
                event_delay: delay(acc.event_delays),
                timing_rule: match t.timing() {
                    TimingRule::SameDay => "same_day",
                    TimingRule::Within7Days => "within_7_days",
                    TimingRule::None => "none",
                },
                assessed: acc.assessed,
                on_time: acc.on_time,
                on_time_percent: percent(acc.on_time, acc.assessed, 1),
            }
        })
        .collect();
    let assessed: u64 = by_type.iter().map(|t| t.assessed).sum();
    let on_time: u64 = by_type.iter().map(|t| t.on_time).sum();
    totals.on_time_percent = percent(on_time, assessed, 1);
    totals.success_percent = percent(
        totals.delivered,
        totals.delivered + totals.rejected + totals.held,
        1,
    );
    let coded = facts::coded(conn, start, end)?;
    let mapped: u64 = coded.iter().map(|c| c.mapped).sum();
    let all: u64 = coded.iter().map(|c| c.total).sum();
    totals.coded_percent = percent(mapped, all, 1);

    let mut reasons: Vec<Reason> = Vec::new();
    for (key, ids) in facts::rejection_keys(conn, start, end)? {
        reasons.push(reason("rejection", key, ids.len() as u64));
    }
    for (key, ids) in validation {
        reasons.push(reason("validation", key, ids.len() as u64));
    }
    for (key, n) in holds {
        reasons.push(reason("hold", key.to_owned(), n));
    }
    reasons.sort_by(|a, b| {
        b.bundles
            .cmp(&a.bundles)
            .then(a.kind.cmp(b.kind))
            .then(a.key.cmp(&b.key))
    });
    for (i, r) in reasons.iter_mut().enumerate() {
        r.rank = i as u64 + 1;
    }

    Ok(QualityReport {
        schema: "tsunagi.quality/1",
        month: month.to_string(),
        timezone: "+09:00",
        generated_at: rfc3339_jst(now),
        totals,
        daily: daily.into_values().collect(),
        daily_by_type: by_day_type
            .into_iter()
            .map(|((date, t), [delivered, rejected, held])| DailyByType {
                date,
                info_type: t.key(),
                delivered,
                rejected,
                held,
            })
            .collect(),
        by_type,
        coded,
        unmapped_codes: facts::unmapped(conn, start, end)?,
        reasons,
        insurance_gap: insurance_gap(conn, start, end)?,
        delay: Delays {
            event_to_delivery: delay(all_event),
            receipt_to_delivery: delay(all_receipt),
            histogram: BUCKETS
                .iter()
                .zip(histogram)
                .map(|((bucket, _), count)| Bucket { bucket, count })
                .collect(),
        },
        availability: availability::compute(conn, month, now)?,
    })
}

#[derive(Default)]
struct TypeAcc {
    counts: [u64; 3],
    event_delays: Vec<i64>,
    assessed: u64,
    on_time: u64,
}

fn reason(kind: &'static str, key: String, bundles: u64) -> Reason {
    Reason {
        rank: 0,
        kind,
        key,
        bundles,
    }
}

/// p50 and p95 by the nearest-rank method.
pub fn delay(mut values: Vec<i64>) -> Delay {
    values.sort_unstable();
    let rank = |p: f64| -> Option<i64> {
        if values.is_empty() {
            return None;
        }
        let r = ((p * values.len() as f64).ceil() as usize).clamp(1, values.len());
        values.get(r - 1).copied()
    };
    Delay {
        count: values.len() as u64,
        p50_ms: rank(0.50),
        p95_ms: rank(0.95),
    }
}

fn rfc3339_jst(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&tsunagi_clins::time::jst())
                .format("%Y-%m-%dT%H:%M:%S%:z")
                .to_string()
        })
        .unwrap_or_default()
}
