//! Uplink availability, derived from delivery attempts.
//!
//! # Method
//! Every recorded attempt is a sample of the uplink's state at its time: `transient` and
//! `ambiguous` outcomes (connection refused, TLS failure, timeout, 5xx, 429) mean it was not
//! usable; `accepted`, `duplicate`, `rejected` (the platform answered) and `awaiting` (the shared
//! folder took the file) mean it was. The state holds from one attempt until the next (ordered by
//! time, then id), so a streak of failed attempts is one outage lasting from its first failure to
//! the next success. The state at the start of the month is the last attempt before it; time
//! before any known state is excluded, as is time after `now`. Availability is
//! up / (up + down) over the known time of the month, in percent with two decimals.
//!
//! Limits: with no traffic the last state is assumed to hold (an outage noticed only when the
//! next send fails); the agent being stopped counts as whatever state it last saw.

use rusqlite::Connection;
use serde::Serialize;

use super::{percent, Month, QualityError};

/// Availability of the month.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Availability {
    /// Attempts recorded in the month.
    pub attempts: u64,
    /// Time with a known state, ms.
    pub known_ms: i64,
    /// Usable, ms.
    pub up_ms: i64,
    /// Not usable, ms.
    pub down_ms: i64,
    /// up / known, percent (2 decimals); `None` without any known time.
    pub availability_percent: Option<f64>,
    /// Outages that overlap the month.
    pub outages: u64,
    /// Longest outage within the month, ms.
    pub longest_outage_ms: i64,
}

fn usable(outcome: &str) -> bool {
    !matches!(outcome, "transient" | "ambiguous")
}

/// Computes the month's availability; `now` caps the period (unix ms).
pub fn compute(conn: &Connection, month: Month, now: i64) -> Result<Availability, QualityError> {
    let (start, end) = (month.start_ms(), month.end_ms().min(now));
    let mut out = Availability::default();
    if end <= start {
        return Ok(out);
    }
    let before = crate::store::report::outcome_before(conn, start)?;
    let samples = crate::store::report::outcomes(conn, start, end)?;
    out.attempts = samples.len() as u64;
    let mut state: Option<bool> = before.as_deref().map(usable);
    let mut since = start;
    let mut outage = 0i64;
    let close = |state: Option<bool>, from: i64, to: i64, out: &mut Availability| match state {
        Some(true) => out.up_ms += to - from,
        Some(false) => out.down_ms += to - from,
        None => {}
    };
    if state == Some(false) {
        out.outages += 1;
    }
    for (at, outcome) in samples {
        let up = usable(&outcome);
        close(state, since, at, &mut out);
        if state == Some(false) {
            outage += at - since;
        }
        if !up && state != Some(false) {
            out.outages += 1;
            outage = 0;
        }
        if up && state == Some(false) {
            out.longest_outage_ms = out.longest_outage_ms.max(outage);
            outage = 0;
        }
        state = Some(up);
        since = at;
    }
    close(state, since, end, &mut out);
    if state == Some(false) {
        outage += end - since;
        out.longest_outage_ms = out.longest_outage_ms.max(outage);
    }
    out.known_ms = out.up_ms + out.down_ms;
    out.availability_percent = percent(out.up_ms as u64, out.known_ms as u64, 2);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::params;

    fn store(attempts: &[(i64, &str)]) -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(dir.path()).unwrap();
        conn.execute_batch(
            "INSERT INTO inbox (id, source, origin, format, content_hash, size, received_at, state)
             VALUES (1, 's', 'o', 'f', 'h', 0, 0, 'processed');
             INSERT INTO outbox (id, inbox_id, idempotency_key, resource_type, state, created_at, updated_at)
             VALUES (1, 1, 'k', 'Condition', 'pending', 0, 0);",
        )
        .unwrap();
        for (at, outcome) in attempts {
            conn.execute(
                "INSERT INTO attempt (outbox_id, at, outcome) VALUES (1, ?1, ?2)",
                params![at, outcome],
            )
            .unwrap();
        }
        (dir, conn)
    }

    const H: i64 = 3_600_000;

    #[test]
    fn a_streak_of_failures_is_one_outage_until_the_next_success() {
        let m: Month = "2026-04".parse().unwrap();
        let s = m.start_ms();
        let (_d, conn) = store(&[
            (s - H, "accepted"),
            (s + 10 * H, "transient"),
            (s + 11 * H, "ambiguous"),
            (s + 13 * H, "rejected"),
            (s + 20 * H, "transient"),
            (s + 21 * H, "awaiting"),
        ]);
        let a = compute(&conn, m, i64::MAX).unwrap();
        assert_eq!(a.attempts, 5);
        assert_eq!(a.known_ms, 30 * 24 * H);
        assert_eq!(a.down_ms, 4 * H);
        assert_eq!(a.up_ms, 30 * 24 * H - 4 * H);
        assert_eq!(a.outages, 2);
        assert_eq!(a.longest_outage_ms, 3 * H);
        assert_eq!(a.availability_percent, Some(99.44));
    }

    #[test]
    fn unknown_time_is_excluded_and_now_caps_the_period() {
        let m: Month = "2026-04".parse().unwrap();
        let s = m.start_ms();
        let (_d, conn) = store(&[(s + 24 * H, "accepted"), (s + 48 * H, "transient")]);
        let a = compute(&conn, m, s + 72 * H).unwrap();
        assert_eq!(a.known_ms, 48 * H);
        assert_eq!(a.down_ms, 24 * H);
        assert_eq!(a.availability_percent, Some(50.0));
        assert_eq!(a.outages, 1);
        assert_eq!(a.longest_outage_ms, 24 * H);
        let (_d, empty) = store(&[]);
        let none = compute(&empty, m, i64::MAX).unwrap();
        assert_eq!(none.availability_percent, None);
        assert_eq!(none.known_ms, 0);
    }
}
