//! The national code masters: the tables that turn a hospital's codes into the names and code
//! systems JP-CLINS asks for (MEDIS 標準病名マスター and its 修飾語, レセ電 傷病名/修飾語, JLAC10,
//! the CLINS designated lab items, YJ, J-FAGY, HOT).
//!
//! This module owns reading the files hospitals download (each kind in its own layout and
//! encoding), checking code formats ([`format`]), keeping versions in SQLite (through
//! `store::terminology::masters`) and the
//! in-memory lookup the pipeline uses ([`MasterSet`]).
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

// The CLI loads and reports; the lookup API (MasterSet, format checks) is for the pipeline,
// which is wired to it by the integrator. Until then parts of it are unused in the binary.

pub mod fhir_package;
pub mod format;
pub mod kinds;
pub(crate) mod parse;
mod set;
pub(crate) mod text;

#[cfg(test)]
mod format_tests;
#[cfg(test)]
mod shared_tests;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::PathBuf;

pub use crate::store::terminology::masters::status;
pub use set::MasterSet;

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
    crate::store::terminology::masters::store_version(conn, kind, &parsed, version)
}

/// The masters tsunagi knows; the kebab names are stable (they are stored and typed on the CLI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MasterKind {
    /// MEDIS 標準病名マスター 病名基本テーブル (`nmainNNN.txt`), keyed by 病名管理番号.
    MedisDisease,
    /// MEDIS 修飾語テーブル, keyed by 修飾語管理番号.
    MedisModifier,
    /// MEDIS 修飾語交換用コード → name (the CSV converted from JP-Core), keyed by exchange code.
    MedisModifierExchange,
    /// レセ電 傷病名 (`masterB-disease`), keyed by the 7-digit code.
    ReceiptDisease,
    /// レセ電 修飾語 (`masterZ-disease-modifier`), keyed by the 4-digit code.
    ReceiptModifier,
    /// General JLAC10 (17 characters).
    Jlac10,
    /// The CLINS designated lab and infection items (JLAC10/JLAC11 CodeSystems of the IG).
    ClinsLab,
    /// YJ codes (read from MHLW's 薬価基準収載品目リスト).
    Yj,
    /// J-FAGY allergens.
    Jfagy,
    /// MEDIS HOT codes, keyed by HOT13.
    Hot,
}

impl MasterKind {
    /// Every kind, in display order.
    pub const ALL: [MasterKind; 10] = [
        MasterKind::MedisDisease,
        MasterKind::MedisModifier,
        MasterKind::MedisModifierExchange,
        MasterKind::ReceiptDisease,
        MasterKind::ReceiptModifier,
        MasterKind::Jlac10,
        MasterKind::ClinsLab,
        MasterKind::Yj,
        MasterKind::Jfagy,
        MasterKind::Hot,
    ];

    /// The stable kebab name.
    pub fn as_str(self) -> &'static str {
        match self {
            MasterKind::MedisDisease => "medis-disease",
            MasterKind::MedisModifier => "medis-modifier",
            MasterKind::MedisModifierExchange => "medis-modifier-exchange",
            MasterKind::ReceiptDisease => "receipt-disease",
            MasterKind::ReceiptModifier => "receipt-modifier",
            MasterKind::Jlac10 => "jlac10",
            MasterKind::ClinsLab => "clins-lab",
            MasterKind::Yj => "yj",
            MasterKind::Jfagy => "jfagy",
            MasterKind::Hot => "hot",
        }
    }

    /// The Japanese name, for output.
    pub fn name_ja(self) -> &'static str {
        match self {
            MasterKind::MedisDisease => "標準病名マスター",
            MasterKind::MedisModifier => "修飾語マスター",
            MasterKind::MedisModifierExchange => "修飾語交換用コード",
            MasterKind::ReceiptDisease => "レセ電傷病名マスター",
            MasterKind::ReceiptModifier => "レセ電修飾語マスター",
            MasterKind::Jlac10 => "JLAC10",
            MasterKind::ClinsLab => "CLINS指定検査項目",
            MasterKind::Yj => "YJコード",
            MasterKind::Jfagy => "J-FAGY",
            MasterKind::Hot => "HOTコード",
        }
    }
}

impl fmt::Display for MasterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl std::str::FromStr for MasterKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MasterKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = MasterKind::ALL.iter().map(|k| k.as_str()).collect();
                format!(
                    "unknown master kind {s:?}; one of: {} / 不明なマスター種別です",
                    names.join(", ")
                )
            })
    }
}

impl serde::Serialize for MasterKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What an entry carries besides code, name and kana; stored by these names in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExtraKey {
    /// ICD-10 (2013), no dot.
    Icd10,
    /// MEDIS 交換用コード (disease or modifier).
    ExchangeCode,
    /// レセ電 code (傷病名 7 digits, 修飾語 4 digits, 医薬品 9 digits).
    ReceiptCode,
    /// 移行先病名管理番号 (the code that replaces a retired one).
    Successor,
    /// 修飾語 connection position (`prefix`/`postfix`, or the master's raw value).
    Position,
    /// Result unit.
    Unit,
    /// Specimen (材料) code or name.
    Specimen,
    /// Measurement method.
    Method,
    /// The CodeSystem URL an entry belongs to.
    System,
    /// The group (FHIR識別名 or item group) an entry sits under.
    Group,
    /// The Japanese long name when the display is a short name.
    NameJa,
    /// 成分名.
    Ingredient,
    /// 規格.
    Strength,
    /// Hierarchy level.
    Level,
    /// English term.
    English,
    /// HOT9.
    Hot9,
    /// HOT7.
    Hot7,
    /// YJ code.
    Yj,
}

impl ExtraKey {
    const ALL: [ExtraKey; 18] = [
        ExtraKey::Icd10,
        ExtraKey::ExchangeCode,
        ExtraKey::ReceiptCode,
        ExtraKey::Successor,
        ExtraKey::Position,
        ExtraKey::Unit,
        ExtraKey::Specimen,
        ExtraKey::Method,
        ExtraKey::System,
        ExtraKey::Group,
        ExtraKey::NameJa,
        ExtraKey::Ingredient,
        ExtraKey::Strength,
        ExtraKey::Level,
        ExtraKey::English,
        ExtraKey::Hot9,
        ExtraKey::Hot7,
        ExtraKey::Yj,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ExtraKey::Icd10 => "icd10",
            ExtraKey::ExchangeCode => "exchange_code",
            ExtraKey::ReceiptCode => "receipt_code",
            ExtraKey::Successor => "successor",
            ExtraKey::Position => "position",
            ExtraKey::Unit => "unit",
            ExtraKey::Specimen => "specimen",
            ExtraKey::Method => "method",
            ExtraKey::System => "system",
            ExtraKey::Group => "group",
            ExtraKey::NameJa => "name_ja",
            ExtraKey::Ingredient => "ingredient",
            ExtraKey::Strength => "strength",
            ExtraKey::Level => "level",
            ExtraKey::English => "english",
            ExtraKey::Hot9 => "hot9",
            ExtraKey::Hot7 => "hot7",
            ExtraKey::Yj => "yj",
        }
    }

    fn from_name(s: &str) -> Option<ExtraKey> {
        ExtraKey::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One code of a master. Compact: boxed strings, and only the extras a kind has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterEntry {
    /// The code, as the code system writes it.
    pub code: Box<str>,
    /// The Japanese name (for `clins-lab`, the FHIR識別名 the IG uses as display).
    pub display: Box<str>,
    /// Reading in kana, where the master has one.
    pub kana: Option<Box<str>>,
    /// Further attributes (ICD-10, exchange code, unit, CodeSystem URL, ...).
    pub extra: Box<[(ExtraKey, Box<str>)]>,
}

impl MasterEntry {
    /// One extra attribute.
    pub fn extra(&self, key: ExtraKey) -> Option<&str> {
        self.extra
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| &**v)
    }

    /// The extras as a JSON object (how the database stores them); `None` when there are none.
    pub(crate) fn extra_json(&self) -> Option<String> {
        if self.extra.is_empty() {
            return None;
        }
        let map: serde_json::Map<String, serde_json::Value> = self
            .extra
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), serde_json::Value::from(&**v)))
            .collect();
        Some(serde_json::Value::Object(map).to_string())
    }

    /// Reads the extras back; unknown names (from a newer tsunagi) are ignored.
    fn extra_from_json(json: Option<&str>) -> Box<[(ExtraKey, Box<str>)]> {
        let Some(Ok(serde_json::Value::Object(map))) = json.map(serde_json::from_str) else {
            return Box::new([]);
        };
        map.iter()
            .filter_map(|(k, v)| Some((ExtraKey::from_name(k)?, v.as_str()?.into())))
            .collect()
    }

    #[cfg(test)]
    /// Approximate heap bytes this entry owns (for memory reports).
    pub fn heap_bytes(&self) -> usize {
        self.code.len()
            + self.display.len()
            + self.kana.as_ref().map_or(0, |k| k.len())
            + self.extra.len() * std::mem::size_of::<(ExtraKey, Box<str>)>()
            + self.extra.iter().map(|(_, v)| v.len()).sum::<usize>()
    }
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
