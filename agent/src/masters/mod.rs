//! The national code masters: the tables that turn a hospital's codes into the names and code
//! systems JP-CLINS asks for (MEDIS 標準病名マスター and its 修飾語, レセ電 傷病名/修飾語, JLAC10,
//! the CLINS designated lab items, YJ, J-FAGY, HOT).
//!
//! This module owns reading the files hospitals download (each kind in its own layout and
//! encoding) and loading them (the SQL is `store::terminology::masters`). What the map stage
//! uses in memory — the kinds, entries, [`MasterSet`] and the code format checks ([`format`]) —
//! is pure and lives in `tsunagi_clins::map`, re-exported here.
//!
//! # Invariants
//! - A file is parsed completely before anything is written; a file with any malformed line,
//!   undecodable bytes, a truncated last record, duplicate codes or no entries is refused, and
//!   the version that was active stays active.
//! - A load is one SQLite transaction: the new entries and the flip of `active` commit together
//!   or not at all. At most one version per kind is active (a partial unique index says so).
//! - Codes and names in master files are public reference data, not patient data: errors may
//!   quote them.
//!
//! # Layouts, and what is assumed
//! See [`kinds`] for each kind's layout. Several are not published and are marked there:
//! the MEDIS column order (a public DDL and a third-party product page agree, MEDIS's own layout
//! document was not checked), the MEDIS 修飾語 file, general JLAC10 and HOT (documented CSVs of our
//! own). The YJ master is read from MHLW's 薬価基準収載品目リスト: its 12-character
//! 薬価基準収載医薬品コード is taken as the YJ code. That holds for listed products (the YJ code
//! follows the 薬価基準コード) but is an assumption of this module, not a published equivalence.

pub mod fhir_package;
pub mod kinds;
pub(crate) mod parse;
pub(crate) mod text;

#[cfg(test)]
mod shared_tests;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

pub use crate::store::terminology::masters::status;
pub use tsunagi_clins::map::format;
pub use tsunagi_clins::map::{ExtraKey, MasterEntry, MasterKind, MasterSet};

/// Parses the whole file at `path` as `kind`, then in one transaction stores it as a new version
/// and makes it active. `version` overrides the label derived from the file (see
/// [`default_label`](parse::default_label)). On any error nothing changes.
pub fn load(
    conn: &mut rusqlite::Connection,
    kind: MasterKind,
    path: &std::path::Path,
    version: Option<&str>,
) -> Result<crate::store::terminology::masters::LoadReport, MasterError> {
    let parsed = parse::parse_path(kind, path)?;
    Ok(crate::store::terminology::masters::store_version(
        conn, kind, &parsed, version,
    )?)
}

/// Why a master file was refused or could not be stored. Messages name the file and the line,
/// in English and Japanese.
#[derive(Debug, thiserror::Error)]
pub enum MasterError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source} / 読み込めません")]
    Io {
        /// Which file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line is not in the kind's layout.
    #[error("{file} line {line}: {problem}")]
    Malformed {
        /// The file name.
        file: String,
        /// 1-based line.
        line: usize,
        /// What is wrong (bilingual).
        problem: parse::Problem,
    },
    /// The file ends inside a record: it was cut off while copying or downloading.
    #[error("{file} line {line}: the file ends in the middle of a record (truncated?) / {line}行目でファイルが途切れています(ファイルが不完全です)")]
    Truncated {
        /// The file name.
        file: String,
        /// 1-based line of the cut record.
        line: usize,
    },
    /// Bytes that are neither UTF-8 nor Shift_JIS (CP932).
    #[error("{file} line {line}: bytes that are neither UTF-8 nor Shift_JIS / {line}行目: UTF-8でもShift_JISでもない文字があります")]
    Undecodable {
        /// The file name.
        file: String,
        /// 1-based line.
        line: usize,
    },
    /// The same code twice.
    #[error("{file} line {line}: code {code} already on line {first} / {line}行目: コード {code} が{first}行目と重複しています")]
    Duplicate {
        /// The file name.
        file: String,
        /// 1-based line of the second occurrence.
        line: usize,
        /// Line of the first.
        first: usize,
        /// The code (public master data).
        code: String,
    },
    /// Nothing to load.
    #[error("{file}: no entries / 有効なデータがありません")]
    Empty {
        /// The file name.
        file: String,
    },
    /// The JSON of a CodeSystem is not usable.
    #[error("{file}: {reason} / CodeSystem JSONとして読めません")]
    Json {
        /// The file name.
        file: String,
        /// Why.
        reason: String,
    },
    /// An official FHIR package that cannot become the validation rules (unreadable, broken
    /// JSON, no JP-CLINS profiles, packed).
    #[error("{0}")]
    FhirPackage(String),
    /// SQLite failed; nothing of this load was kept.
    #[error("database error (nothing of this load was kept): {0} / データベースエラー(この取り込みは反映されていません)")]
    Sqlite(#[from] rusqlite::Error),
}

impl From<crate::store::StoreError> for MasterError {
    /// The store's errors, as a master load reports them.
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::Sqlite(e) => MasterError::Sqlite(e),
            crate::store::StoreError::Io { path, source } => MasterError::Io { path, source },
            other => MasterError::Io {
                path: PathBuf::from(crate::store::terminology::DB_FILE),
                source: std::io::Error::other(other.to_string()),
            },
        }
    }
}
