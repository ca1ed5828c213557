//! The offline route: a shared folder read by the 資格確認端末 (qualification-check terminal).
//!
//! ASSUMED LAYOUT (ours; the real terminal interface is not public):
//! - The agent writes each request as `ROOT/req/<idempotency-key>.json` (body = one Bundle),
//!   first under a name not ending in `.json` (e.g. `<key>.json.tmp`) and then renamed, so the
//!   terminal never reads a half-written file. Names not ending in `.json` are ignored.
//! - The terminal (this module, polling every ~50 ms) runs the same checks, deduplication and
//!   storage as the HTTPS route, then writes `ROOT/res/<idempotency-key>.result.json`
//!   (tmp + fsync + rename) with
//!   `{"idempotencyKey": "...", "status": "accepted"|"duplicate"|"rejected",
//!     "receipt": "..."|null, "outcome": <OperationOutcome>}`
//!   and only then deletes the request file.
//! - Faults are not applied on this route. A storage failure leaves the request in place; it
//!   is retried on the next poll.
//!
//! Invariant: a request file disappears only after its result file is durable, so a crash
//! at any point leaves either the request (processed again: the key deduplicates) or the result.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::watch;

use crate::durable;
use crate::intake::{Platform, Verdict};
use crate::sim::SimState;

/// How often the terminal looks for requests.
pub const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// `ROOT/req`: where requests are written.
pub fn request_dir(root: &Path) -> PathBuf {
    root.join("req")
}

/// `ROOT/res`: where results appear.
pub fn result_dir(root: &Path) -> PathBuf {
    root.join("res")
}

/// The result file for a key.
pub fn result_path(root: &Path, key: &str) -> PathBuf {
    result_dir(root).join(format!("{key}.result.json"))
}

/// Creates `req/` and `res/` under `root`.
pub fn prepare(root: &Path) -> io::Result<()> {
    fs::create_dir_all(request_dir(root))?;
    fs::create_dir_all(result_dir(root))
}

pub(crate) async fn run(root: PathBuf, state: Arc<SimState>, mut stopped: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(POLL_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            _ = tick.tick() => {
                let (root, state) = (root.clone(), state.clone());
                let scanned = tokio::task::spawn_blocking(move || scan_once(&root, &state.platform)).await;
                match scanned {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => tracing::warn!(error = %e, "shared folder scan failed"),
                    Err(e) => tracing::warn!(error = %e, "shared folder scan task failed"),
                }
            }
        }
    }
}

/// Processes every pending request once, in name order; returns how many were answered.
pub fn scan_once(root: &Path, platform: &Platform) -> io::Result<usize> {
    let req_dir = request_dir(root);
    let mut names: Vec<String> = fs::read_dir(&req_dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    let mut answered = 0;
    for name in names {
        let key = name.trim_end_matches(".json");
        let path = req_dir.join(&name);
        let body = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        platform.count_received();
        let verdict = match platform.submit(Some(key), &body) {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(error = %e, "storage failed; request left for the next poll");
                continue;
            }
        };
        let (status, receipt) = match &verdict {
            Verdict::Accepted { receipt } => ("accepted", Some(receipt.clone())),
            Verdict::Duplicate { receipt } => ("duplicate", Some(receipt.clone())),
            Verdict::Rejected { .. } => ("rejected", None),
        };
        let result = json!({
            "idempotencyKey": key,
            "status": status,
            "receipt": receipt,
            "outcome": verdict.outcome(),
        });
        durable::write_atomic(
            &result_path(root, key),
            result.to_string().as_bytes(),
            durable::PRIVATE,
        )?;
        fs::remove_file(&path)?;
        durable::sync_dir(&req_dir)?;
        tracing::info!(status, "shared folder request answered");
        answered += 1;
    }
    Ok(answered)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::valid_clins_bundle;
    use crate::ledger::Ledger;

    fn read_result(root: &Path, key: &str) -> serde_json::Value {
        serde_json::from_slice(&fs::read(result_path(root, key)).unwrap()).unwrap()
    }

    #[test]
    fn answers_accepted_duplicate_and_rejected_and_ignores_tmp() {
        let data = tempfile::tempdir().unwrap();
        let root = tempfile::tempdir().unwrap();
        prepare(root.path()).unwrap();
        let p = Platform::new(Ledger::open(data.path()).unwrap(), vec![]);
        let body = serde_json::to_vec(&valid_clins_bundle()).unwrap();
        let req = request_dir(root.path());
        fs::write(req.join("k1.json"), &body).unwrap();
        fs::write(req.join("k2.json.tmp"), &body).unwrap();
        fs::write(req.join("bad.json"), b"[]").unwrap();
        assert_eq!(scan_once(root.path(), &p).unwrap(), 2);

        let r = read_result(root.path(), "k1");
        assert_eq!(r["status"], "accepted");
        assert_eq!(r["idempotencyKey"], "k1");
        assert!(r["receipt"].is_string());
        let r = read_result(root.path(), "bad");
        assert_eq!(r["status"], "rejected");
        assert!(r["receipt"].is_null());
        assert_eq!(r["outcome"]["issue"][0]["severity"], "error");
        assert!(!req.join("k1.json").exists());
        assert!(req.join("k2.json.tmp").exists());

        fs::write(req.join("k1.json"), &body).unwrap();
        assert_eq!(scan_once(root.path(), &p).unwrap(), 1);
        assert_eq!(read_result(root.path(), "k1")["status"], "duplicate");
        let s = p.stats();
        assert_eq!(
            (s.received, s.accepted, s.rejected, s.duplicates),
            (3, 1, 1, 1)
        );
    }
}
