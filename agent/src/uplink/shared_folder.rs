//! The shared-folder route (資格確認端末経由方式): bundles are handed to the オンライン資格確認
//! terminal through a folder it shares with us, and its answers come back the same way.
//!
//! Assumed layout and protocol (our assumption; the terminal side is simulated in `simulator/`):
//! - `ROOT/req/` and `ROOT/res/` belong to the terminal's share. We never create them: if they
//!   are missing the share is probably not mounted, and writing into the bare mount point would
//!   strand requests on the local disk. `submit` then answers `Transient { Io }`.
//! - Submit: write `ROOT/req/<key>.json.tmp` (mode 0600), fsync it, rename it to
//!   `ROOT/req/<key>.json`, fsync `ROOT/req/` → [`Outcome::Awaiting`]. The terminal only ever
//!   sees complete files. Writing the same key again replaces the request atomically.
//! - The terminal answers by writing `ROOT/res/<key>.result.json` (complete, e.g. via its own
//!   rename) = `{"idempotencyKey": "<key>", "status": "accepted"|"duplicate"|"rejected",
//!   "receipt": "..."|null, "outcome": <OperationOutcome>|null}` and deletes the request.
//!   Unknown extra fields are ignored.
//! - Collect: every `*.result.json` in `ROOT/res/` is read; the caller commits the outcome, then
//!   calls `acknowledge(key)`, which removes the result file (so a crash in between only repeats
//!   the outcome, never loses it).
//! - A result file that cannot be understood is reported by file name and left in place for the
//!   operator; it never stops the collection of the others.
//! - Directory fsync failing with "not supported"/"invalid" (some network file systems) is
//!   tolerated after the rename; any other error is reported.
//!
//! Reasons and log lines name files (which hold only the key), never their contents.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Deserialize;
use serde_json::Value;

use super::classify::{bounded, clean_receipt, operation_outcome_text};
use super::{invalid_key_outcome, is_valid_key, Outcome, Submission, TransientKind};

const RESULT_SUFFIX: &str = ".result.json";
/// A result file larger than this is not a result file.
const MAX_RESULT_BYTES: u64 = 1024 * 1024;

#[derive(Debug)]
pub struct SharedFolderClient {
    root: PathBuf,
    /// Unreadable result files already logged, so each is logged once, not every poll.
    reported: Mutex<HashSet<PathBuf>>,
}

/// What one pass over `ROOT/res/` found.
#[derive(Debug, Default)]
pub struct Collected {
    /// `(idempotency key, outcome)`, sorted by key.
    pub results: Vec<(String, Outcome)>,
    pub unreadable: Vec<UnreadableResult>,
}

/// A file in `ROOT/res/` (or the folder itself) that could not be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableResult {
    pub path: PathBuf,
    pub reason: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResultFile {
    idempotency_key: String,
    status: String,
    #[serde(default)]
    receipt: Option<String>,
    #[serde(default)]
    outcome: Option<Value>,
}

impl SharedFolderClient {
    /// No I/O here: the share may come and go while the agent runs.
    pub fn new(root: &Path) -> Self {
        SharedFolderClient {
            root: root.to_path_buf(),
            reported: Mutex::default(),
        }
    }

    pub fn request_path(&self, key: &str) -> PathBuf {
        self.root.join("req").join(format!("{key}.json"))
    }

    pub fn result_path(&self, key: &str) -> PathBuf {
        self.root.join("res").join(format!("{key}{RESULT_SUFFIX}"))
    }

    /// Write the request atomically and durably; [`Outcome::Awaiting`] once it is in place.
    pub async fn submit(&self, s: Submission<'_>) -> Outcome {
        if !is_valid_key(s.idempotency_key) {
            return invalid_key_outcome();
        }
        let dst = self.request_path(s.idempotency_key);
        let body = s.body.to_vec();
        let written = tokio::task::spawn_blocking(move || write_request(&dst, &body)).await;
        match written {
            Ok(Ok(())) => Outcome::Awaiting,
            Ok(Err(reason)) => Outcome::Transient {
                kind: TransientKind::Io,
                reason: bounded(reason),
                retry_after: None,
            },
            Err(join) => Outcome::Transient {
                kind: TransientKind::Io,
                reason: format!("internal: shared-folder writer failed: {join}"),
                retry_after: None,
            },
        }
    }

    /// Read every result file in `ROOT/res/`. Nothing is removed here.
    pub async fn collect(&self) -> Collected {
        let res_dir = self.root.join("res");
        tokio::task::spawn_blocking(move || scan_results(&res_dir))
            .await
            .unwrap_or_else(|join| Collected {
                results: Vec::new(),
                unreadable: vec![UnreadableResult {
                    path: PathBuf::new(),
                    reason: format!("internal: shared-folder reader failed: {join}"),
                }],
            })
    }

    /// [`Self::collect`], logging each unreadable file once (by name) and returning the results.
    pub(crate) async fn collect_logged(&self) -> Vec<(String, Outcome)> {
        let collected = self.collect().await;
        if let Ok(mut reported) = self.reported.lock() {
            for u in &collected.unreadable {
                if reported.insert(u.path.clone()) {
                    tracing::warn!(
                        file = %u.path.display(),
                        reason = %u.reason,
                        "shared folder: result file left in place / 結果ファイルを読めません"
                    );
                }
            }
            let now: HashSet<&PathBuf> = collected.unreadable.iter().map(|u| &u.path).collect();
            reported.retain(|p| now.contains(p));
        }
        collected.results
    }

    /// Remove the result file for `key` (after its outcome is committed). Already gone is fine.
    pub async fn acknowledge(&self, key: &str) -> io::Result<()> {
        if !is_valid_key(key) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "idempotency key is not 64 lowercase hex characters",
            ));
        }
        let path = self.result_path(key);
        let res_dir = self.root.join("res");
        tokio::task::spawn_blocking(move || {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(e),
            }
            sync_dir(&res_dir)
        })
        .await
        .map_err(io::Error::other)?
    }
}

/// `<dst>.tmp` → fsync → rename to `dst` → fsync the folder. The error is a reason naming the path.
fn write_request(dst: &Path, body: &[u8]) -> Result<(), String> {
    let req_dir = dst.parent().unwrap_or(Path::new("."));
    if !req_dir.is_dir() {
        return Err(format!(
            "shared folder {} is missing (is the terminal's share mounted?) / 共有フォルダがありません",
            req_dir.display()
        ));
    }
    let mut tmp_name = dst.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    let step = |what: &str, path: &Path, e: io::Error| format!("{what} {}: {e}", path.display());
    let result = (|| {
        let mut f = crate::owner_only::options()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(|e| step("cannot create", &tmp, e))?;
        // A leftover tmp file keeps its old mode, and the share's folder may grant others
        // access; the request holds patient data.
        crate::owner_only::restrict_file(&tmp).map_err(|e| step("cannot restrict", &tmp, e))?;
        f.write_all(body)
            .map_err(|e| step("cannot write", &tmp, e))?;
        f.sync_all().map_err(|e| step("cannot fsync", &tmp, e))?;
        drop(f);
        fs::rename(&tmp, dst).map_err(|e| step("cannot rename to", dst, e))?;
        sync_dir(req_dir).map_err(|e| step("cannot fsync", req_dir, e))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// fsync a directory so a rename or removal in it is durable. File systems that cannot do this
/// (EINVAL / unsupported) are tolerated.
fn sync_dir(dir: &Path) -> io::Result<()> {
    match File::open(dir)?.sync_all() {
        Ok(()) => Ok(()),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(e),
    }
}

fn scan_results(res_dir: &Path) -> Collected {
    let mut out = Collected::default();
    let entries = match fs::read_dir(res_dir) {
        Ok(e) => e,
        Err(e) => {
            out.unreadable.push(UnreadableResult {
                path: res_dir.to_path_buf(),
                reason: format!("cannot list the result folder (is the share mounted?): {e}"),
            });
            return out;
        }
    };
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                out.unreadable.push(UnreadableResult {
                    path: res_dir.to_path_buf(),
                    reason: format!("cannot list the result folder: {e}"),
                });
                continue;
            }
        };
        let name = entry.file_name();
        let Some(key) = name.to_str().and_then(|n| n.strip_suffix(RESULT_SUFFIX)) else {
            continue; // not a result file (the terminal's temporary files, etc.)
        };
        files.push((key.to_owned(), entry.path()));
    }
    files.sort();
    for (key, path) in files {
        match read_result(&key, &path) {
            Ok(outcome) => out.results.push((key, outcome)),
            Err(reason) => out.unreadable.push(UnreadableResult { path, reason }),
        }
    }
    out
}

/// The outcome in one result file, or why it cannot be used (never quoting its content).
fn read_result(key: &str, path: &Path) -> Result<Outcome, String> {
    if !is_valid_key(key) {
        return Err("file name is not <64 hex key>.result.json".into());
    }
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|f| f.take(MAX_RESULT_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > MAX_RESULT_BYTES {
        return Err(format!("larger than {MAX_RESULT_BYTES} bytes"));
    }
    let parsed: ResultFile = serde_json::from_slice(&bytes).map_err(|e| {
        format!(
            "not a result document ({:?} error at line {} column {})",
            e.classify(),
            e.line(),
            e.column()
        )
    })?;
    if parsed.idempotency_key != key {
        return Err("idempotencyKey does not match the file name".into());
    }
    let receipt = parsed.receipt.as_deref().and_then(clean_receipt);
    match parsed.status.as_str() {
        "accepted" => Ok(Outcome::Accepted {
            receipt,
            duplicate: false,
        }),
        "duplicate" => Ok(Outcome::Accepted {
            receipt,
            duplicate: true,
        }),
        "rejected" => {
            let text = parsed
                .outcome
                .and_then(|o| operation_outcome_text(o.to_string().as_bytes()));
            Ok(Outcome::Rejected {
                status: None,
                reason: text
                    .unwrap_or_else(|| "rejected by the terminal (no OperationOutcome)".into()),
            })
        }
        _ => Err("unknown status (expected accepted, duplicate or rejected)".into()),
    }
}

#[cfg(test)]
#[path = "shared_folder_tests.rs"]
mod tests;
