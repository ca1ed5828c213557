//! The simulator's durable record of what it accepted: the stand-in for the platform database.
//!
//! Layout under the data directory:
//! - `accepted/<idempotency-key>.json`: the exact body of every accepted submission;
//! - `rejected/<idempotency-key>.json`: the latest rejected body under that key;
//! - `identifiers.log`: one line `<Bundle.identifier.value>\t<key>` per acceptance, appended;
//!   the last line for an identifier names its latest bundle. It is derived data: lines whose key
//!   has no accepted file are ignored, and a missing log is rebuilt from `accepted/`.
//!
//! Invariants:
//! - a key is in the dedup index iff `accepted/<key>.json` exists (the index is rebuilt from
//!   that directory at open, so a restarted simulator still deduplicates);
//! - the accepted file is durable (tmp + fsync + rename + fsync dir) before `accept` returns,
//!   so nothing is acknowledged that a crash could lose;
//! - the receipt id of a key is a pure function of the key, so it survives restarts without
//!   extra state;
//! - all files are 0600: they hold patient data.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;
use sha2::{Digest, Sha256};

use crate::durable;

static KEY_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_-]{1,128}$").expect("static"));

/// True for a well-formed `Idempotency-Key`: 1..=128 of `[A-Za-z0-9_-]` (also a safe file name).
pub fn is_valid_key(key: &str) -> bool {
    KEY_RE.is_match(key)
}

/// The receipt id the platform gives a key (UUID-shaped, derived from the key).
pub fn receipt_id(key: &str) -> String {
    let d = Sha256::digest(format!("tsunagi-sim receipt\n{key}").as_bytes());
    let h = hex::encode(&d[..16]);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Accepted keys and the latest key per Bundle identifier, backed by files.
#[derive(Debug)]
pub struct Ledger {
    accepted_dir: PathBuf,
    rejected_dir: PathBuf,
    identifiers_file: PathBuf,
    accepted: HashSet<String>,
    identifiers: BTreeMap<String, String>,
    fsync: bool,
}

impl Ledger {
    /// Opens (creating directories as needed) and rebuilds the index from `accepted/`.
    /// `identifiers.log` is loaded when present, otherwise derived from the accepted files in
    /// modification-time order.
    pub fn open(data_dir: &Path) -> io::Result<Ledger> {
        let accepted_dir = data_dir.join("accepted");
        let rejected_dir = data_dir.join("rejected");
        fs::create_dir_all(&accepted_dir)?;
        fs::create_dir_all(&rejected_dir)?;
        let mut files = Vec::new();
        for entry in fs::read_dir(&accepted_dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(key) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            if is_valid_key(key) {
                files.push((entry.metadata()?.modified()?, key.to_string(), entry.path()));
            }
        }
        let identifiers_file = data_dir.join("identifiers.log");
        let known: HashSet<&str> = files.iter().map(|(_, k, _)| k.as_str()).collect();
        let identifiers = match fs::read_to_string(&identifiers_file) {
            Ok(text) => text
                .lines()
                .filter_map(|l| l.split_once('\t'))
                .filter(|(_, k)| known.contains(k))
                .map(|(i, k)| (i.to_string(), k.to_string()))
                .collect(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                files.sort();
                let mut map = BTreeMap::new();
                for (_, key, path) in &files {
                    let body: serde_json::Value =
                        serde_json::from_slice(&fs::read(path)?).unwrap_or_default();
                    if let Some(id) = crate::checks::bundle_identifier(&body) {
                        map.insert(id.to_string(), key.clone());
                    }
                }
                map
            }
            Err(e) => return Err(e),
        };
        Ok(Ledger {
            accepted: files.into_iter().map(|(_, k, _)| k).collect(),
            accepted_dir,
            rejected_dir,
            identifiers_file,
            identifiers,
            fsync: true,
        })
    }

    /// Turns fsync off (benchmarks only): writes stay atomic, not durable across power loss.
    pub fn set_fsync(&mut self, fsync: bool) {
        self.fsync = fsync;
    }

    pub fn accepted_dir(&self) -> &Path {
        &self.accepted_dir
    }

    /// The receipt of an already accepted key.
    pub fn receipt_for(&self, key: &str) -> Option<String> {
        self.accepted.contains(key).then(|| receipt_id(key))
    }

    /// Durably stores an accepted body and records it as the latest for its identifier.
    /// The key must be valid (`is_valid_key`) and not yet accepted.
    pub fn accept(
        &mut self,
        key: &str,
        body: &[u8],
        identifier: Option<&str>,
    ) -> io::Result<String> {
        durable::write_atomic_with(&self.accepted_path(key), body, durable::PRIVATE, self.fsync)?;
        self.accepted.insert(key.to_string());
        if let Some(id) = identifier.filter(|i| !i.contains(['\t', '\n'])) {
            self.identifiers.insert(id.to_string(), key.to_string());
            use std::io::Write;
            let mut log = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.identifiers_file)?;
            log.write_all(format!("{id}\t{key}\n").as_bytes())?;
        }
        Ok(receipt_id(key))
    }

    /// Keeps a rejected body for inspection (latest one per key).
    pub fn reject(&self, key: &str, body: &[u8]) -> io::Result<()> {
        let path = self.rejected_dir.join(format!("{key}.json"));
        durable::write_atomic_with(&path, body, durable::PRIVATE, self.fsync)
    }

    pub fn accepted_path(&self, key: &str) -> PathBuf {
        self.accepted_dir.join(format!("{key}.json"))
    }

    /// Number of distinct Bundle identifiers with an accepted submission.
    pub fn identifier_count(&self) -> usize {
        self.identifiers.len()
    }

    /// The latest accepted key for a Bundle identifier value.
    pub fn latest_key_for(&self, identifier: &str) -> Option<String> {
        self.identifiers.get(identifier).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_format() {
        assert!(is_valid_key("abc-DEF_123"));
        assert!(is_valid_key(&"a".repeat(128)));
        assert!(!is_valid_key(&"a".repeat(129)));
        assert!(!is_valid_key(""));
        assert!(!is_valid_key("../x"));
        assert!(!is_valid_key("a.json"));
    }

    #[test]
    fn receipt_is_stable_and_uuid_shaped() {
        let r = receipt_id("k1");
        assert_eq!(r, receipt_id("k1"));
        assert_ne!(r, receipt_id("k2"));
        assert_eq!(r.len(), 36);
        assert_eq!(r.matches('-').count(), 4);
    }

    #[test]
    fn reopened_ledger_still_knows_accepted_keys_and_identifiers() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut l = Ledger::open(dir.path()).unwrap();
            assert_eq!(l.receipt_for("k1"), None);
            let r = l.accept("k1", b"{}", Some("id^1")).unwrap();
            assert_eq!(l.receipt_for("k1"), Some(r));
            l.accept("k2", b"{}", Some("id^1")).unwrap();
            l.reject("k3", b"bad").unwrap();
        }
        let l = Ledger::open(dir.path()).unwrap();
        assert_eq!(l.receipt_for("k1"), Some(receipt_id("k1")));
        assert_eq!(l.receipt_for("k3"), None);
        assert_eq!(l.latest_key_for("id^1").as_deref(), Some("k2"));
        assert_eq!(l.identifier_count(), 1);
        assert!(dir.path().join("rejected/k3.json").is_file());
    }

    #[test]
    fn identifiers_are_derived_when_the_file_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let body = serde_json::to_vec(&crate::fixtures::valid_clins_bundle()).unwrap();
        {
            let mut l = Ledger::open(dir.path()).unwrap();
            l.accept("only", &body, Some(crate::fixtures::SAMPLE_IDENTIFIER))
                .unwrap();
        }
        fs::remove_file(dir.path().join("identifiers.log")).unwrap();
        let l = Ledger::open(dir.path()).unwrap();
        assert_eq!(
            l.latest_key_for(crate::fixtures::SAMPLE_IDENTIFIER)
                .as_deref(),
            Some("only")
        );
    }
}
