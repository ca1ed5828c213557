//! The readiness checks behind `/readyz` and the status page's health section.
//!
//! Ready means: the store takes writes (the daemon's writer is up, its database file is still
//! the one it opened, *and* a write transaction can be opened now), the code masters are loaded, and the uplink is not down. A degraded uplink is
//! still ready (deliveries get through, slower); intake paused by the disk reserve is reported
//! but does not make the agent unready (it is waiting for space, not broken).

use std::path::Path;

use serde::Serialize;

use super::readiness::{Readiness, UplinkState};
use super::snapshot;

/// One check's outcome.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Check {
    /// `store`, `masters`, `uplink` or `validation` (which profile rules validate).
    pub name: &'static str,
    /// Whether it passes.
    pub ok: bool,
    /// A short state word (`writable`, `loaded`, `ok`, `degraded`, ...).
    pub state: String,
}

/// All checks and the verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Checks {
    /// Every check passes.
    pub ready: bool,
    /// The checks, in a fixed order.
    pub checks: Vec<Check>,
}

/// The uplink state to show: the daemon's word when it gave one, else the store's attempts.
pub fn effective_uplink(readiness: &Readiness, from_store: UplinkState) -> UplinkState {
    match readiness.uplink() {
        UplinkState::Unknown => from_store,
        s => s,
    }
}

/// Runs the checks (blocking: opens a database connection).
pub fn run(data_dir: &Path, readiness: &Readiness) -> Checks {
    let store = if readiness.store_lost() {
        Check {
            name: "store",
            ok: false,
            state: "lost".into(),
        }
    } else if !readiness.store_ok() {
        Check {
            name: "store",
            ok: false,
            state: "writer-down".into(),
        }
    } else {
        match snapshot::store_writable(data_dir) {
            Ok(()) => Check {
                name: "store",
                ok: true,
                state: "writable".into(),
            },
            Err(_) => Check {
                name: "store",
                ok: false,
                state: "not-writable".into(),
            },
        }
    };
    // Masters loaded after the start (`tsunagi masters load`) count from then on.
    if !readiness.masters_loaded() && crate::store::terminology::masters_loaded(data_dir) {
        readiness.set_masters_loaded(true);
    }
    let masters = Check {
        name: "masters",
        ok: readiness.masters_loaded(),
        state: if readiness.masters_loaded() {
            "loaded"
        } else {
            "not-loaded"
        }
        .into(),
    };
    let from_store = snapshot::connect(data_dir)
        .and_then(|c| snapshot::uplink_from_attempts(&c, crate::clock::now_ms()))
        .unwrap_or_default();
    let up = effective_uplink(readiness, from_store);
    let uplink = Check {
        name: "uplink",
        ok: up != UplinkState::Down,
        state: up.as_str().into(),
    };
    let mut checks = vec![store, masters, uplink];
    // Which IG version validates: a fact, never a reason to be unready.
    let rules = readiness.validation();
    if !rules.is_empty() {
        checks.push(Check {
            name: "validation",
            ok: true,
            state: rules,
        });
    }
    Checks {
        ready: checks.iter().all(|c| c.ok),
        checks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_when_every_check_passes() {
        let dir = tempfile::tempdir().unwrap();
        drop(crate::store::open(dir.path()).unwrap());
        let r = Readiness::default();
        let c = run(dir.path(), &r);
        assert!(!c.ready);
        assert_eq!(c.checks[0].state, "writer-down");
        r.set_store_ok(true);
        r.set_masters_loaded(true);
        let c = run(dir.path(), &r);
        assert!(c.ready, "{c:?}");
        assert_eq!(c.checks[2].state, "unknown");
        r.set_uplink(UplinkState::Degraded);
        assert!(run(dir.path(), &r).ready);
        r.set_uplink(UplinkState::Down);
        assert!(!run(dir.path(), &r).ready);
        r.set_uplink(UplinkState::Ok);
        r.set_validation("jp-eCSCLINS.r4#1.10.0 (built-in)".into());
        let c = run(dir.path(), &r);
        assert!(c.ready);
        assert_eq!(c.checks[3].state, "jp-eCSCLINS.r4#1.10.0 (built-in)");
    }

    #[test]
    fn a_locked_store_is_not_writable() {
        let dir = tempfile::tempdir().unwrap();
        let holder = crate::store::open(dir.path()).unwrap();
        holder.execute_batch("BEGIN IMMEDIATE").unwrap();
        let r = Readiness::default();
        r.set_store_ok(true);
        r.set_masters_loaded(true);
        let c = run(dir.path(), &r);
        assert!(!c.ready);
        assert_eq!(c.checks[0].state, "not-writable");
        holder.execute_batch("ROLLBACK").unwrap();
        assert!(run(dir.path(), &r).ready);
    }

    #[test]
    fn a_missing_database_is_not_writable() {
        let dir = tempfile::tempdir().unwrap();
        let r = Readiness::default();
        r.set_store_ok(true);
        assert_eq!(run(dir.path(), &r).checks[0].state, "not-writable");
    }

    #[test]
    fn a_lost_store_is_unready_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(dir.path()).unwrap();
        let (writer, _h) = crate::store::Writer::spawn(conn).unwrap();
        let r = Readiness::default();
        r.set_store_ok(true);
        r.set_masters_loaded(true);
        r.watch_store(writer.lost());
        assert!(run(dir.path(), &r).ready);
        // Swap the file for another database: the path still opens and takes writes, so only
        // the writer's flag can tell.
        let db = crate::store::db_path(dir.path());
        std::fs::rename(&db, dir.path().join("old.db")).unwrap();
        drop(crate::store::open(dir.path()).unwrap());
        let c = run(dir.path(), &r);
        assert!(!c.ready, "noticed without waiting for a commit");
        assert_eq!(c.checks[0].state, "lost");
        assert!(writer.call(|_| Ok(())).is_err(), "and the writer refuses");
    }
}
