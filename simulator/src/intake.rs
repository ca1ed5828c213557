//! Intake: one submission in, one verdict out. Shared by the HTTPS route and the shared folder.
//!
//! Order of decisions: key format (400) → duplicate of an accepted key (200, same receipt) →
//! JSON parse (400) → checks (422) → durable store, then accepted (201).
//! Invariant: `Verdict::Accepted` is only returned after the body is durably stored; the ledger
//! lock is held from the duplicate check to the store, so two submissions with one key cannot
//! both be accepted. Counters: `received` is counted by the transport (it also counts faulted
//! requests); the other three here.

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde_json::Value;

use crate::checks;
use crate::ledger::{self, Ledger};
use crate::outcome::{self, Issue};
use crate::Stats;

/// The answer to one submission.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Newly accepted and stored.
    Accepted { receipt: String },
    /// The key was accepted before; same receipt as then.
    Duplicate { receipt: String },
    /// Not accepted. `status` is 400 (unusable request) or 422 (rule broken).
    Rejected { status: u16, outcome: Value },
}

impl Verdict {
    /// The OperationOutcome body to answer with.
    pub fn outcome(&self) -> Value {
        match self {
            Verdict::Accepted { receipt } => outcome::accepted(receipt, false),
            Verdict::Duplicate { receipt } => outcome::accepted(receipt, true),
            Verdict::Rejected { outcome, .. } => outcome.clone(),
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    received: AtomicU64,
    accepted: AtomicU64,
    rejected: AtomicU64,
    duplicates: AtomicU64,
}

/// The simulated platform's state: ledger, registered institutions, counters.
#[derive(Debug)]
pub struct Platform {
    ledger: Mutex<Ledger>,
    institutions: Vec<String>,
    counters: Counters,
}

impl Platform {
    pub fn new(ledger: Ledger, institutions: Vec<String>) -> Platform {
        Platform {
            ledger: Mutex::new(ledger),
            institutions,
            counters: Counters::default(),
        }
    }

    pub fn count_received(&self) {
        self.counters.received.fetch_add(1, Ordering::Relaxed);
    }

    pub fn stats(&self) -> Stats {
        let c = &self.counters;
        Stats {
            received: c.received.load(Ordering::Relaxed),
            accepted: c.accepted.load(Ordering::Relaxed),
            rejected: c.rejected.load(Ordering::Relaxed),
            duplicates: c.duplicates.load(Ordering::Relaxed),
        }
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        // A panic while holding the lock cannot leave the ledger half-updated in memory in a
        // way that matters more than the files on disk; keep serving.
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn identifier_count(&self) -> usize {
        self.ledger().identifier_count()
    }

    pub fn latest_key_for(&self, identifier: &str) -> Option<String> {
        self.ledger().latest_key_for(identifier)
    }

    pub fn accepted_dir(&self) -> PathBuf {
        self.ledger().accepted_dir().to_path_buf()
    }

    /// Decides and records one submission (blocking file I/O: call off the async runtime).
    /// `Err` only for storage failures, which the transport reports as a server error.
    pub fn submit(&self, key: Option<&str>, body: &[u8]) -> io::Result<Verdict> {
        let Some(key) = key.filter(|k| ledger::is_valid_key(k)) else {
            let text = match key {
                None => "SIM-IDEMPOTENCY-KEY: the Idempotency-Key header is required",
                Some(_) => "SIM-IDEMPOTENCY-KEY: the Idempotency-Key must be 1-128 characters of [A-Za-z0-9_-]",
            };
            self.counters.rejected.fetch_add(1, Ordering::Relaxed);
            return Ok(Verdict::Rejected {
                status: 400,
                outcome: outcome::single("error", "required", text),
            });
        };
        let mut ledger = self.ledger();
        if let Some(receipt) = ledger.receipt_for(key) {
            self.counters.duplicates.fetch_add(1, Ordering::Relaxed);
            return Ok(Verdict::Duplicate { receipt });
        }
        let (status, issues) = match checks::parse_body(body) {
            Err(issue) => (400, vec![issue]),
            Ok(bundle) => {
                let issues = checks::check_bundle(&bundle, &self.institutions);
                if issues.is_empty() {
                    let id = checks::bundle_identifier(&bundle);
                    let receipt = ledger.accept(key, body, id)?;
                    self.counters.accepted.fetch_add(1, Ordering::Relaxed);
                    return Ok(Verdict::Accepted { receipt });
                }
                (422, issues)
            }
        };
        ledger.reject(key, body)?;
        self.counters.rejected.fetch_add(1, Ordering::Relaxed);
        Ok(rejected(status, &issues))
    }
}

fn rejected(status: u16, issues: &[Issue]) -> Verdict {
    Verdict::Rejected {
        status,
        outcome: outcome::errors(issues),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::valid_clins_bundle;

    fn platform(dir: &std::path::Path) -> Platform {
        Platform::new(Ledger::open(dir).unwrap(), vec![])
    }

    #[test]
    fn accept_then_duplicate_then_restart_still_duplicate() {
        let dir = tempfile::tempdir().unwrap();
        let body = serde_json::to_vec(&valid_clins_bundle()).unwrap();
        let p = platform(dir.path());
        let first = p.submit(Some("k1"), &body).unwrap();
        let Verdict::Accepted { receipt } = first else {
            panic!("{first:?}")
        };
        assert!(dir.path().join("accepted/k1.json").is_file());
        assert_eq!(
            p.submit(Some("k1"), b"anything").unwrap(),
            Verdict::Duplicate {
                receipt: receipt.clone()
            }
        );
        drop(p);
        let p = platform(dir.path());
        assert_eq!(
            p.submit(Some("k1"), &body).unwrap(),
            Verdict::Duplicate { receipt }
        );
        assert_eq!(p.stats().duplicates, 1);
    }

    #[test]
    fn missing_or_bad_key_is_400() {
        let dir = tempfile::tempdir().unwrap();
        let p = platform(dir.path());
        for key in [None, Some(""), Some("a/b")] {
            let v = p.submit(key, b"{}").unwrap();
            assert!(matches!(v, Verdict::Rejected { status: 400, .. }), "{v:?}");
        }
        assert_eq!(p.stats().rejected, 3);
    }

    #[test]
    fn bad_json_is_400_and_rule_is_422_and_both_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = platform(dir.path());
        let v = p.submit(Some("j"), b"{not json").unwrap();
        assert!(matches!(v, Verdict::Rejected { status: 400, .. }), "{v:?}");
        let mut b = valid_clins_bundle();
        b["type"] = "batch".into();
        let v = p
            .submit(Some("r"), &serde_json::to_vec(&b).unwrap())
            .unwrap();
        let Verdict::Rejected {
            status: 422,
            outcome,
        } = v
        else {
            panic!("{v:?}")
        };
        let text = outcome["issue"][0]["details"]["text"].as_str().unwrap();
        assert!(text.starts_with("SIM-BUNDLE-TYPE: "), "{text}");
        assert!(dir.path().join("rejected/j.json").is_file());
        assert!(dir.path().join("rejected/r.json").is_file());
        // A rejected key can still be accepted later with a fixed body.
        let good = serde_json::to_vec(&valid_clins_bundle()).unwrap();
        assert!(matches!(
            p.submit(Some("r"), &good).unwrap(),
            Verdict::Accepted { .. }
        ));
        assert_eq!(p.identifier_count(), 1);
    }
}
