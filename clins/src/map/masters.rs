//! The national code masters in memory: the kinds tsunagi knows ([`MasterKind`]), their entries
//! ([`MasterEntry`]) and the active version of each kind with a hash index by code
//! ([`MasterSet`]).
//!
//! A `MasterSet` is immutable once built; to pick up a newly loaded version, the agent builds a
//! new one from `terminology.db` and swaps it in. Codes and names in masters are public
//! reference data, not patient data.

use std::collections::HashMap;
use std::fmt;

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

    /// The key stored under `s`; `None` for a name this version does not know.
    pub fn from_name(s: &str) -> Option<ExtraKey> {
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

    /// Approximate heap bytes this entry owns (for memory reports).
    pub fn heap_bytes(&self) -> usize {
        self.code.len()
            + self.display.len()
            + self.kana.as_ref().map_or(0, |k| k.len())
            + self.extra.len() * std::mem::size_of::<(ExtraKey, Box<str>)>()
            + self.extra.iter().map(|(_, v)| v.len()).sum::<usize>()
    }
}

/// One kind's active version.
#[derive(Debug, Default)]
struct Table {
    version: String,
    entries: Vec<MasterEntry>,
    /// Code → position in `entries`.
    index: HashMap<Box<str>, u32>,
}

/// The active masters, by kind.
#[derive(Debug, Default)]
pub struct MasterSet {
    tables: HashMap<MasterKind, Table>,
}

impl MasterSet {
    /// No masters: every lookup misses.
    pub fn empty() -> MasterSet {
        MasterSet::default()
    }

    /// Builds a set from each kind's active version label and entries (in file order).
    pub fn from_entries(
        kinds: impl IntoIterator<Item = (MasterKind, String, Vec<MasterEntry>)>,
    ) -> MasterSet {
        MasterSet {
            tables: kinds
                .into_iter()
                .map(|(k, v, e)| (k, Table::new(v, e)))
                .collect(),
        }
    }

    /// The entry of `code` in the active version of `kind`.
    pub fn lookup(&self, kind: MasterKind, code: &str) -> Option<&MasterEntry> {
        let t = self.tables.get(&kind)?;
        t.index.get(code).map(|&i| &t.entries[i as usize])
    }

    /// All entries of a kind (empty when none is loaded), in file order.
    pub fn entries(&self, kind: MasterKind) -> &[MasterEntry] {
        self.tables.get(&kind).map_or(&[], |t| &t.entries)
    }

    /// The active version label of a kind.
    pub fn version(&self, kind: MasterKind) -> Option<&str> {
        self.tables.get(&kind).map(|t| t.version.as_str())
    }

    /// Approximate heap bytes held for a kind: entries, their strings and the index.
    pub fn heap_bytes(&self, kind: MasterKind) -> usize {
        let Some(t) = self.tables.get(&kind) else {
            return 0;
        };
        let entries = t.entries.capacity() * std::mem::size_of::<MasterEntry>()
            + t.entries.iter().map(MasterEntry::heap_bytes).sum::<usize>();
        // hashbrown: one control byte per bucket plus the (key, value) slot; buckets ≈ 8/7 cap.
        let slot = std::mem::size_of::<(Box<str>, u32)>() + 1;
        let index =
            t.index.capacity() * 8 / 7 * slot + t.index.keys().map(|k| k.len()).sum::<usize>();
        entries + index
    }
}

impl Table {
    fn new(version: String, entries: Vec<MasterEntry>) -> Table {
        let index = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.code.clone(), i as u32))
            .collect();
        Table {
            version,
            entries,
            index,
        }
    }
}
