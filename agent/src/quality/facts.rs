//! The facts the figures are made of, read with SQL: the outbox rows that matter for a month
//! (classified by their stored type or body), rule keys of rejected attempts, coded-item counts
//! and the unmapped codes. Read-only; works on databases before schema v4.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rusqlite::{params, Connection};

use super::metrics::CATEGORIES;
use super::reasons::rule_keys;
use super::{classify_bundle, percent, BundleFacts, Coded, InfoType, QualityError, UnmappedCode};

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

fn has_v4_columns(conn: &Connection) -> Result<bool, QualityError> {
    let mut st =
        conn.prepare("SELECT name FROM pragma_table_info('outbox') WHERE name = 'info_type'")?;
    Ok(st.exists([])?)
}

pub(super) fn outbox_rows(
    conn: &Connection,
    start: i64,
    end: i64,
) -> Result<Vec<Row>, QualityError> {
    let (info, event) = if has_v4_columns(conn)? {
        ("o.info_type", "o.event_at")
    } else {
        ("NULL", "NULL")
    };
    let sql = format!(
        "WITH rej AS (SELECT outbox_id, MIN(at) AS first_at FROM attempt
                      WHERE outcome = 'rejected' GROUP BY outbox_id)
         SELECT o.id, o.resource_type, {info}, {event},
                CASE WHEN {info} IS NULL THEN o.body END,
                i.received_at, o.delivered_at,
                CASE WHEN o.hold_reason IS NOT NULL AND o.state <> 'superseded' THEN o.created_at END,
                o.hold_reason, rej.first_at,
                CASE WHEN o.hold_reason = 'invalid' THEN o.last_error END
         FROM outbox AS o JOIN inbox AS i ON i.id = o.inbox_id
              LEFT JOIN rej ON rej.outbox_id = o.id
         WHERE (o.delivered_at >= ?1 AND o.delivered_at < ?2)
            OR (o.hold_reason IS NOT NULL AND o.state <> 'superseded'
                AND o.created_at >= ?1 AND o.created_at < ?2)
            OR (rej.first_at >= ?1 AND rej.first_at < ?2)
         ORDER BY o.id"
    );
    let mut st = conn.prepare(&sql)?;
    let rows = st
        .query_map(params![start, end], |r| {
            let resource_type: String = r.get(1)?;
            let stored_type: Option<String> = r.get(2)?;
            let stored_event: Option<i64> = r.get(3)?;
            let body: Option<Vec<u8>> = r.get(4)?;
            let (info_type, event_at) = match stored_type {
                Some(k) => (InfoType::from_key(&k), stored_event),
                None => match body.and_then(|b| serde_json::from_slice(&b).ok()) {
                    Some(v) => {
                        let f: BundleFacts = classify_bundle(&v);
                        (f.info_type, f.event_at)
                    }
                    None => (InfoType::from_resource_type(&resource_type), None),
                },
            };
            Ok(Row {
                id: r.get(0)?,
                info_type,
                event_at,
                received_at: r.get(5)?,
                delivered_at: r.get(6)?,
                held_at: r.get(7)?,
                hold_reason: r.get(8)?,
                first_rejected: r.get(9)?,
                last_error: r.get(10)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub(super) fn rejection_keys(
    conn: &Connection,
    start: i64,
    end: i64,
) -> Result<BTreeMap<String, BTreeSet<i64>>, QualityError> {
    let mut st = conn.prepare(
        "SELECT outbox_id, COALESCE(detail, '') FROM attempt
         WHERE outcome = 'rejected' AND at >= ?1 AND at < ?2",
    )?;
    let mut keys: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
    for r in st.query_map(params![start, end], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
    })? {
        let (id, detail) = r?;
        for k in rule_keys(&detail) {
            keys.entry(k).or_default().insert(id);
        }
    }
    Ok(keys)
}

pub(super) fn coded(conn: &Connection, start: i64, end: i64) -> Result<Vec<Coded>, QualityError> {
    let mut st = conn.prepare(
        "SELECT c.category, c.outcome, COUNT(*) FROM item_code AS c JOIN inbox AS i ON i.id = c.inbox_id
         WHERE i.received_at >= ?1 AND i.received_at < ?2 GROUP BY c.category, c.outcome",
    )?;
    let mut counts: HashMap<(String, String), u64> = HashMap::new();
    for r in st.query_map(params![start, end], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })? {
        let (cat, outcome, n) = r?;
        counts.insert((cat, outcome), n.max(0) as u64);
    }
    let get = |cat: &str, outcome: &str| {
        counts
            .get(&(cat.to_owned(), outcome.to_owned()))
            .copied()
            .unwrap_or(0)
    };
    Ok(CATEGORIES
        .into_iter()
        .map(|category| {
            let (mapped, unmapped, invalid) = (
                get(category, "mapped"),
                get(category, "unmapped"),
                get(category, "invalid"),
            );
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
    // Names only for master terms (lab, drug): diagnosis and allergen names may be free text.
    let mut st = conn.prepare(
        "SELECT c.category, c.source_system, c.local_system, c.local_code,
                CASE WHEN c.category IN ('lab', 'drug') THEN MAX(c.local_name) END,
                c.outcome, COUNT(*), COUNT(DISTINCT c.inbox_id)
         FROM item_code AS c JOIN inbox AS i ON i.id = c.inbox_id
         WHERE i.received_at >= ?1 AND i.received_at < ?2 AND c.outcome IN ('unmapped', 'invalid')
         GROUP BY c.category, c.source_system, c.local_system, c.local_code, c.outcome
         ORDER BY COUNT(DISTINCT c.inbox_id) DESC, COUNT(*) DESC, c.category, c.local_code",
    )?;
    let rows = st
        .query_map(params![start, end], |r| {
            Ok(UnmappedCode {
                rank: 0,
                category: clean(r.get(0)?),
                source_system: clean(r.get(1)?),
                local_system: clean(r.get(2)?),
                // A diagnosis coded by nothing but its name (`name` system) is keyed by the
                // name the EHR wrote: free text, so the report shows a stable digest instead
                // (`tsunagi mapping suggest`, run locally, shows the name itself).
                local_code: match r.get::<_, String>(2)?.as_str() {
                    crate::terminology::NAME_SYSTEM => {
                        let text: String = r.get(3)?;
                        format!("#{}", &crate::store::sha256_hex(text.as_bytes())[..10])
                    }
                    _ => clean(r.get(3)?),
                },
                local_name: r.get::<_, Option<String>>(4)?.map(clean),
                outcome: clean(r.get(5)?),
                items: r.get::<_, i64>(6)?.max(0) as u64,
                records: r.get::<_, i64>(7)?.max(0) as u64,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
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
