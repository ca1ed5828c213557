//! Sources: where clinical input enters tsunagi, and the contract by which it is handed over.
//!
//! A source finds input (files in watched folders, [`folder`]; files of SS-MIX2 storages,
//! [`ssmix2`]; HL7 v2 messages over MLLP, [`mllp`]; FHIR over HTTP, [`fhir_http`]; records of a vendor's exec plugin, [`exec`]) and offers every complete
//! unit of it to an [`Intake`], which the daemon implements on top of the SQLite store.
//!
//! # The acknowledgement rule
//!
//! A source acknowledges input (moves a file out of the inbox, ACKs a message) **only after**
//! [`Intake::commit`] has returned `Ok`, which means the raw bytes are committed and fsynced. A crash
//! at any point therefore leaves the input either unacknowledged (offered again after restart; the
//! store recognises it and answers [`Committed::AlreadyStored`]) or stored and acknowledged, never
//! acknowledged but lost. A source that cannot acknowledge (a read-only folder, e.g. an SS-MIX2
//! storage that must not be touched) says so and instead asks [`Intake::is_known`] before reading,
//! so a restart neither re-reads what is stored nor skips what is not.
//!
//! File sources never follow a symbolic link out of their root and never move a file they did not
//! find as a regular file inside it ([`root_guard`]); what they skip is counted by reason
//! ([`skips`]).
//!
//! Each kind of source (`[[source.NAME]]` in the config) is registered by name in [`kinds`]:
//! its config, checks, description and start. A new kind is its module here plus one line in
//! [`kinds::Builtin`]; the config, the daemon, `check-config` and `tsunagi doctor` do not change.
//!
//! [`IntakeError::Paused`] means "the disk reserve is crossed, keep the input where it is": the
//! source leaves it unacknowledged and tries again later, without spinning.

pub mod exec;
pub mod fhir_http;
pub mod folder;
pub mod intake;
pub mod kinds;
pub mod mllp;
pub mod root_guard;
pub mod scan_loop;
pub mod skips;
pub mod ssmix2;

pub use skips::SkipCounts;

use std::path::Path;

/// One complete file offered to the store.
#[derive(Debug, Clone, Copy)]
pub struct IncomingFile<'a> {
    /// The configured source name (`[[source.folder]] name`).
    pub source: &'a str,
    /// Path relative to the source root, `/`-separated, valid UTF-8. May carry patient IDs: never
    /// log it (use `folder::names::path_tag`).
    pub rel_path: &'a str,
    /// Where the file is on disk now (for diagnostics; the content is `bytes`).
    #[allow(dead_code)]
    // the store's intake needs only the bytes; kept for intakes that check the file
    pub abs_path: &'a Path,
    /// Size in bytes, equal to `bytes.len()`.
    pub size: u64,
    /// Modification time in nanoseconds since the Unix epoch (negative before it).
    pub mtime_ns: i128,
    /// The whole content, read after the file was seen stable and verified unchanged after reading.
    pub bytes: &'a [u8],
}

/// What the store did with an offered file. Both variants mean "durable": the source may acknowledge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    /// Newly stored under this inbox row.
    Stored { inbox_id: i64 },
    /// The same input was stored before (e.g. a crash between commit and move); nothing was added.
    AlreadyStored { inbox_id: i64 },
}

/// Why the store did not take an offered file. The source keeps the input and retries later.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The disk reserve is crossed; intake resumes when space is freed.
    #[error("intake paused: disk reserve reached")]
    Paused,
    /// The store failed; the message must not carry patient data.
    #[error("store error: {0}")]
    Store(String),
}

/// The store side of a source. Implemented by the daemon; every call blocks until it has an answer.
pub trait Intake: Send + Sync + 'static {
    /// Whether this exact file (source, relative path, size, mtime) was stored or rejected before.
    /// Used by read-only sources, which cannot mark a file as processed by moving it.
    fn is_known(
        &self,
        source: &str,
        rel_path: &str,
        size: u64,
        mtime_ns: i128,
    ) -> Result<bool, IntakeError>;

    /// Stores the file durably; returns only after the commit is fsynced.
    fn commit(&self, file: &IncomingFile<'_>) -> Result<Committed, IntakeError>;

    /// Stores several files in one durable commit (one fsync for all of them). All or nothing:
    /// on `Err`, none of them may be acknowledged. The default commits them one by one, which is
    /// correct (a file committed before a later one failed is found `AlreadyStored` next time).
    fn commit_batch(&self, files: &[IncomingFile<'_>]) -> Result<Vec<Committed>, IntakeError> {
        files.iter().map(|f| self.commit(f)).collect()
    }

    /// Records a file that is not taken in as a visible quarantine item, without its content.
    /// Must be idempotent (a crash before the file is moved to `rejected/` repeats it), and
    /// afterwards `is_known(source, rel_path, size, mtime_ns)` must answer `true`.
    fn refuse(
        &self,
        source: &str,
        rel_path: &str,
        size: u64,
        mtime_ns: i128,
        why: Refusal,
    ) -> Result<(), IntakeError>;
}

/// Why a file source quarantines a file without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Larger than the configured `max_file_bytes`.
    Oversize,
    /// Its name is not valid UTF-8 (the relative path offered is a lossy rendering).
    NameNotUtf8,
}

impl Refusal {
    /// The quarantine reason, in English and Japanese; `size` is the file's size in bytes.
    pub fn reason(self, size: u64) -> String {
        match self {
            Refusal::Oversize => format!(
                "file is {size} bytes, over the configured max_file_bytes; it was not stored / ファイルサイズが上限を超えているため取り込みませんでした"
            ),
            Refusal::NameNotUtf8 => "the file name is not valid UTF-8 (e.g. Shift_JIS); it was not read and stays in the folder: rename it, or have the EHR write UTF-8 names / ファイル名が UTF-8 ではないため取り込みませんでした。ファイル名を変更してください".to_string(),
        }
    }
}
