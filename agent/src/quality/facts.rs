//! The facts the figures are made of, read through [`crate::store::report`]: the outbox rows
//! that matter for a month (classified here by their stored type or body), rule keys of
//! rejected attempts, coded-item counts and the unmapped codes. Read-only; works on databases
//! before schema v4.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rusqlite::Connection;

use crate::store::report;

use super::reasons::rule_keys;
use super::{classify_bundle, percent, BundleFacts, Coded, InfoType, QualityError, UnmappedCode};
use crate::map::{Category, ItemState};

/// One outbox row that matters for the month.
pub(super) struct Row {
    pub(super) id: i64,
    pub(super) info_type: InfoType,
    pub(super) event_at: Option<i64>,
    pub(super) received_at: i64,
    pub(super) delivered_at: Option<i64>,
    pub(super) held_at: Option<i64>,
    pub(super) hold_reason: Option<String>,
    pub(super) first_rejected: Option<i64>,
    pub(super) last_error: Option<String>,
}

pub(super) fn outbox_rows(
    conn: &Connection,
    start: i64,
    end: i64,
) -> Result<Vec<Row>, QualityError> {
    let rows = report::outbox_rows(conn, start, end)?
        .into_iter()
        .map(|f| {
            let (info_type, event_at) = match f.info_type {
                Some(k) => (InfoType::from_key(&k), f.event_at),
                None => match f.body.and_then(|b| serde_json::from_slice(&b).ok()) {
                    Some(v) => {
                        let facts: BundleFacts = classify_bundle(&v);
                        (facts.info_type, facts.event_at)
                    }
                    None => (InfoType::from_resource_type(&f.resource_type), None),
                },
            };
            Row {
                id: f.id,
                info_type,
                event_at,
                received_at: f.received_at,
                delivered_at: f.delivered_at,
                held_at: f.held_at,
                hold_reason: f.hold_reason,
                first_rejected: f.first_rejected,
                last_error: f.last_error,
            }
        })
        .collect();
    Ok(rows)
}

pub(super) fn rejection_keys(
    conn: &Connection,
    start: i64,
    end: i64,
) -> Result<BTreeMap<String, BTreeSet<i64>>, QualityError> {
    let mut keys: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
    for (id, detail) in report::rejections(conn, start, end)? {
        for k in rule_keys(&detail) {
            keys.entry(k).or_default().insert(id);
        }
    }
    Ok(keys)
}

pub(super) fn coded(conn: &Connection, start: i64, end: i64) -> Result<Vec<Coded>, QualityError> {
    let mut counts: HashMap<(Category, ItemState), u64> = HashMap::new();
    for (cat, outcome, n) in report::coded_counts(conn, start, end)? {
        counts.insert((cat, outcome), n.max(0) as u64);
    }
    let get = |cat: Category, outcome: ItemState| counts.get(&(cat, outcome)).copied().unwrap_or(0);
    Ok(Category::ALL
        .into_iter()
        .map(|cat| {
            let (mapped, unmapped, invalid) = (
                get(cat, ItemState::Mapped),
                get(cat, ItemState::Unmapped),
                get(cat, ItemState::Invalid),
            );
            let category = cat.as_str();
            let total = mapped + unmapped + invalid;
            Coded {
                category,
                mapped,
                unmapped,
                invalid,
                total,
                coded_percent: percent(mapped, total, 1),
            }
        })
        .collect())
}

pub(super) fn unmapped(
    conn: &Connection,
    start: i64,
    end: i64,
) -> Result<Vec<UnmappedCode>, QualityError> {
    // Names only for master terms (lab, drug): the store returns no others.
    let rows: Vec<UnmappedCode> = report::unmapped(conn, start, end)?
        .into_iter()
        .map(|f| UnmappedCode {
            rank: 0,
            // A diagnosis coded by nothing but its name (`name` system) is keyed by the name
            // the EHR wrote: free text, so the report shows a stable digest instead
            // (`tsunagi mapping suggest`, run locally, shows the name itself).
            local_code: match f.local_system.as_str() {
                crate::map::NAME_SYSTEM => {
                    format!(
                        "#{}",
                        &crate::digest::sha256_hex(f.local_code.as_bytes())[..10]
                    )
                }
                _ => clean(f.local_code),
            },
            category: clean(f.category),
            source_system: clean(f.source_system),
            local_system: clean(f.local_system),
            local_name: f.local_name.map(clean),
            outcome: clean(f.outcome),
            items: f.items.max(0) as u64,
            records: f.records.max(0) as u64,
        })
        .collect();
    Ok(rows
        .into_iter()
        .enumerate()
        .map(|(i, mut u)| {
            u.rank = i as u64 + 1;
            u
        })
        .collect())
}

/// One line, at most 80 characters: stored codes and master terms as the report shows them.
fn clean(s: String) -> String {
    s.chars().filter(|c| !c.is_control()).take(80).collect()
}
