//! What the operations surface reads from the store at request time, on a fresh read connection.
//!
//! The reads are store functions (`store::figures`, `store::query`); this module shapes them.
//! Every figure is a count or a time grouped by a fixed vocabulary (states, outcomes, configured
//! source names, the platform's rule keys); nothing here sees raw inputs, bundle bodies or
//! patient references. Free text (quarantine reasons, last errors) is read only for the status
//! page's "recent errors" and passes through [`super::redact::scrub`] before it leaves; a
//! quarantine reason names its input by [`super::redact::input_tag`], never by its file name or
//! path (which may hold a patient's name or ID).

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

use super::readiness::UplinkState;
use super::redact;
use crate::store::{self, figures, query, InputState, OutboxState, StoreError};

pub use crate::store::figures::Today;

/// Store figures for `/metrics` and the status page.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    /// Outbox items by state.
    pub outbox: Vec<(String, i64)>,
    /// Age of the oldest item not yet delivered (pending, in flight, awaiting).
    pub oldest_pending_age_secs: Option<i64>,
    /// Inputs by state.
    pub inbox: Vec<(String, i64)>,
    /// Inputs ever stored, by source name.
    pub ingested_by_source: Vec<(String, i64)>,
    /// Delivery attempts by outcome.
    pub attempts_by_outcome: Vec<(String, i64)>,
    /// Rejections by the platform's rule key (`other` when a reason names none).
    pub rejections_by_rule: Vec<(String, i64)>,
    /// Held items by reason.
    pub held_by_reason: Vec<(String, i64)>,
    /// Unix ms of the last delivery.
    pub last_delivery_ms: Option<i64>,
    /// Intake paused by the free-space reserve.
    pub intake_paused: bool,
    /// The uplink judged from the recent attempts.
    pub uplink: UplinkState,
}

impl Snapshot {
    /// Count of one key in a grouped list.
    pub fn get(list: &[(String, i64)], key: &str) -> i64 {
        list.iter()
            .find(|(k, _)| k == key)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    }

    /// Outbox items in one state.
    pub fn items(&self, state: OutboxState) -> i64 {
        Snapshot::get(&self.outbox, state.as_str())
    }

    /// Inputs in one state.
    pub fn inputs(&self, state: InputState) -> i64 {
        Snapshot::get(&self.inbox, state.as_str())
    }
}

/// Opens a read connection on an existing database.
pub fn connect(data_dir: &Path) -> Result<Connection, StoreError> {
    let conn = store::open_existing(data_dir)?;
    conn.busy_timeout(Duration::from_secs(2))?;
    Ok(conn)
}

/// Reads every figure.
pub fn read(conn: &Connection) -> Result<Snapshot, StoreError> {
    let s = query::status(conn)?;
    let mut rejections = std::collections::BTreeMap::<String, i64>::new();
    for detail in figures::rejection_details(conn)? {
        for key in redact::rule_keys(detail.as_deref().unwrap_or("")) {
            *rejections.entry(key).or_default() += 1;
        }
    }
    Ok(Snapshot {
        outbox: s.outbox,
        oldest_pending_age_secs: s.oldest_pending_age_secs,
        inbox: s.inputs_by_state,
        ingested_by_source: figures::inputs_by_source(conn)?,
        attempts_by_outcome: figures::attempts_by_outcome(conn)?,
        rejections_by_rule: rejections.into_iter().collect(),
        held_by_reason: figures::held_by_reason(conn)?,
        last_delivery_ms: s.last_delivery_ms,
        intake_paused: s.intake_paused,
        uplink: uplink_from_attempts(conn, crate::clock::now_ms())?,
    })
}

/// Judges the uplink from the attempts of the last 15 minutes (at most the last 10): the platform
/// answering (accepted, duplicate, rejected) is `ok`; transient failures mixed in are `degraded`;
/// three or more failures and no answer is `down`.
pub fn uplink_from_attempts(conn: &Connection, now_ms: i64) -> Result<UplinkState, StoreError> {
    let outcomes = figures::recent_outcomes(conn, now_ms - 15 * 60_000)?;
    let failed = |o: &String| o == "transient" || o == "ambiguous";
    let failures = outcomes.iter().filter(|o| failed(o)).count();
    Ok(match outcomes.first() {
        None => UplinkState::Unknown,
        Some(_) if failures == 0 => UplinkState::Ok,
        Some(_) if failures == outcomes.len() && failures >= 3 => UplinkState::Down,
        Some(_) => UplinkState::Degraded,
    })
}

/// Whether the store takes writes now: a write transaction is opened and rolled back.
pub fn store_writable(data_dir: &Path) -> Result<(), String> {
    let conn = connect(data_dir).map_err(|e| e.to_string())?;
    figures::check_writable(&conn).map_err(|e| e.to_string())
}

/// Start of the JST day containing `now_ms`, as unix ms.
pub fn jst_day_start(now_ms: i64) -> i64 {
    const DAY: i64 = 86_400_000;
    const JST: i64 = tsunagi_clins::time::JST_OFFSET_SECONDS as i64 * 1000;
    (now_ms + JST).div_euclid(DAY) * DAY - JST
}

/// Counts for the JST day containing `now_ms`.
pub fn today(conn: &Connection, now_ms: i64) -> Result<Today, StoreError> {
    figures::since(conn, jst_day_start(now_ms))
}

/// One line of "recent errors".
#[derive(Debug, Clone)]
pub struct RecentError {
    /// Unix ms.
    pub at_ms: i64,
    /// `rejected`, `transient`, `ambiguous` or `quarantined`.
    pub kind: String,
    /// `O-12` or `I-7` (for `tsunagi queue show`).
    pub item: String,
    /// The reason, scrubbed.
    pub text: String,
}

/// The latest delivery failures and quarantined inputs, newest first.
pub fn recent_errors(conn: &Connection, limit: usize) -> Result<Vec<RecentError>, StoreError> {
    let failures =
        figures::recent_failures(conn, limit)?
            .into_iter()
            .map(|(at_ms, kind, item, text)| RecentError {
                at_ms,
                kind,
                item,
                text: redact::scrub(&text),
            });
    // A quarantine reason starts with `source:path`; the path may carry a patient's name.
    let quarantines = figures::recent_quarantines(conn, limit)?.into_iter().map(
        |((at_ms, kind, item, text), source, origin)| RecentError {
            at_ms,
            kind,
            item,
            text: redact::scrub_input(&text, &source, &origin),
        },
    );
    let mut out: Vec<RecentError> = failures.chain(quarantines).collect();
    out.sort_by_key(|e| std::cmp::Reverse(e.at_ms));
    out.truncate(limit);
    Ok(out)
}

/// Bytes of the database file and its WAL.
pub fn database_bytes(data_dir: &Path) -> u64 {
    let db = store::db_path(data_dir);
    let wal = db.with_extension("db-wal");
    [db, wal]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::params;

    fn attempt(conn: &Connection, at: i64, outcome: &str, detail: Option<&str>) {
        conn.execute(
            "INSERT INTO attempt (outbox_id, at, outcome, detail) VALUES (1, ?1, ?2, ?3)",
            params![at, outcome, detail],
        )
        .unwrap();
    }

    fn db() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = store::open(dir.path()).unwrap();
        conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
        (dir, conn)
    }

    #[test]
    fn the_status_page_names_quarantined_inputs_by_tag_only() {
        let (_dir, conn) = db();
        let ssmix2 = "123/456/1234567890/20250401/OML-11/1234567890_20250401_OML-11_0000123_20250401120000000_01_1";
        let inputs = [
            (
                "drop",
                "山田太郎_20250401.json",
                "drop:山田太郎_20250401.json: not JSON at line 1 / JSONではありません",
            ),
            (
                "ss",
                ssmix2,
                &format!("ss:{ssmix2}: MSH segment missing / MSHセグメントがありません"),
            ),
        ];
        for (i, (source, origin, error)) in inputs.iter().enumerate() {
            conn.execute(
                "INSERT INTO inbox (source, origin, format, content_hash, size, received_at, state, error)
                 VALUES (?1, ?2, 'fhir-json', ?3, 1, 5, 'quarantined', ?4)",
                params![source, origin, format!("h{i}"), error],
            )
            .unwrap();
        }
        let errors = recent_errors(&conn, 10).unwrap();
        let checks = super::super::checks::Checks {
            ready: true,
            checks: vec![],
        };
        let data = super::super::page::PageData {
            checks: &checks,
            snapshot: None,
            today: None,
            errors: &errors,
            plugins: &[],
            skipped: &[],
            now_ms: 10,
            update: None,
        };
        for lang in [super::super::page::Lang::Ja, super::super::page::Lang::En] {
            let page = super::super::page::render(lang, &data);
            for secret in [
                "山田",
                "太郎",
                "20250401",
                "1234567890",
                "123/456",
                "0000123",
            ] {
                assert!(!page.contains(secret), "{secret} in {page}");
            }
            for (source, origin, _) in &inputs {
                let tag = redact::input_tag(source, origin);
                assert!(
                    page.contains(&format!("{source}:file {tag}")),
                    "{tag} not in {page}"
                );
            }
            assert!(page.contains("MSH segment missing"), "{page}");
        }
    }

    #[test]
    fn jst_days_start_at_midnight_jst() {
        // 2025-01-01T15:00Z is 2025-01-02T00:00+09:00.
        let midnight = 1_735_743_600_000;
        assert_eq!(jst_day_start(midnight), midnight);
        assert_eq!(jst_day_start(midnight + 1), midnight);
        assert_eq!(jst_day_start(midnight - 1), midnight - 86_400_000);
    }

    #[test]
    fn uplink_state_follows_recent_attempts() {
        let (_d, conn) = db();
        let now = 10_000_000;
        assert_eq!(
            uplink_from_attempts(&conn, now).unwrap(),
            UplinkState::Unknown
        );
        attempt(&conn, now - 10, "accepted", None);
        assert_eq!(uplink_from_attempts(&conn, now).unwrap(), UplinkState::Ok);
        attempt(&conn, now - 5, "transient", None);
        assert_eq!(
            uplink_from_attempts(&conn, now).unwrap(),
            UplinkState::Degraded
        );
        // Only failures in the window, three or more: down.
        let later = now + 16 * 60_000;
        for _ in 0..3 {
            attempt(&conn, later - 1, "ambiguous", None);
        }
        assert_eq!(
            uplink_from_attempts(&conn, later).unwrap(),
            UplinkState::Down
        );
    }

    #[test]
    fn rejections_are_grouped_by_rule_key_and_errors_scrubbed() {
        let (dir, conn) = db();
        attempt(
            &conn,
            1,
            "rejected",
            Some("error invalid [SIM-INSTITUTION]: unknown institution"),
        );
        attempt(
            &conn,
            2,
            "rejected",
            Some("error invalid [R9012,R0001] @Bundle: x | error invalid [R9012]"),
        );
        attempt(
            &conn,
            3,
            "rejected",
            Some("no key here, patient 1987-06-05"),
        );
        let s = read(&conn).unwrap();
        // Each rejection counts once per key it names.
        assert_eq!(Snapshot::get(&s.rejections_by_rule, "R9012"), 1);
        assert_eq!(Snapshot::get(&s.rejections_by_rule, "R0001"), 1);
        assert_eq!(Snapshot::get(&s.rejections_by_rule, "SIM-INSTITUTION"), 1);
        assert_eq!(Snapshot::get(&s.rejections_by_rule, "other"), 1);
        assert_eq!(Snapshot::get(&s.attempts_by_outcome, "rejected"), 3);
        let errs = recent_errors(&conn, 10).unwrap();
        assert_eq!(errs.len(), 3);
        assert!(
            errs.iter().all(|e| !e.text.contains("1987-06-05")),
            "{errs:?}"
        );
        assert!(store_writable(dir.path()).is_ok());
    }
}
