//! What a declarative table adapter is told: [`TableSpec`], read from TOML by the agent.
//!
//! ```toml
//! record = "condition"        # patient | condition | allergy | lab-result
//! layout = "csv"              # csv | tsv | fixed
//! encoding = "cp932"          # utf-8 | cp932 | euc-jp
//! header = true               # csv/tsv: the first row (after skip_rows) names the columns
//! skip_rows = 0               # title lines before the header or the data
//!
//! [fields]
//! patient_id = { column = "患者ID" }
//! onset = { column = "開始日", date = "%Y/%m/%d" }
//! principal = { column = "主病名", true = ["1"], false = ["", "0"] }
//! local_code = { column = 5, system = "urn:oid:1.2.392.100495.20.3.51.11318814790" }
//! ```
//!
//! A fixed-width layout names byte positions instead of columns (`start` is 1-based, as the
//! vendors' 固定長 specifications count them, and `width` is in bytes of the file's encoding:
//! a 全角 character is 2 bytes in CP932).

use std::collections::BTreeMap;

use serde::Deserialize;

/// A whole declarative adapter.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    /// Which canonical record each row becomes.
    pub record: RecordKind,
    /// How rows and cells are separated.
    pub layout: Layout,
    /// The file's character encoding.
    #[serde(default)]
    pub encoding: TextEncoding,
    /// Whether the first row (after `skip_rows`) is a header naming the columns (csv/tsv).
    #[serde(default)]
    pub header: bool,
    /// Lines before the header or the first data row that are skipped (titles, notes).
    #[serde(default)]
    pub skip_rows: usize,
    /// Canonical field name → where its value is.
    pub fields: BTreeMap<String, FieldSpec>,
}

/// The canonical record a row becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecordKind {
    /// A patient master row.
    Patient,
    /// A 傷病名 row.
    Condition,
    /// An allergy row.
    Allergy,
    /// A 検体検査結果 row; rows with the same `report_id` form one report.
    LabResult,
}

/// How a file is cut into rows and cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// Comma-separated, `"` quoting as Excel writes it.
    Csv,
    /// Tab-separated, the same quoting.
    Tsv,
    /// One row per line, each field at fixed byte positions.
    Fixed,
}

/// The character encoding a spec declares (not guessed: a declared encoding that does not fit
/// shows as decode replacements, which hold the input).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum TextEncoding {
    /// UTF-8 (a BOM is skipped).
    #[default]
    #[serde(rename = "utf-8", alias = "utf8")]
    Utf8,
    /// CP932 (Windows-31J; Shift_JIS as Japanese Windows writes it).
    #[serde(
        rename = "cp932",
        alias = "shift_jis",
        alias = "sjis",
        alias = "windows-31j"
    )]
    Cp932,
    /// EUC-JP.
    #[serde(rename = "euc-jp")]
    EucJp,
}

/// A column named by its header text or by its 1-based position.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ColumnKey {
    /// The header cell's text.
    Name(String),
    /// 1-based column number.
    Index(usize),
}

/// Where one canonical field's value is and how to read it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// csv/tsv: the column.
    pub column: Option<ColumnKey>,
    /// fixed: first byte, 1-based.
    pub start: Option<usize>,
    /// fixed: length in bytes.
    pub width: Option<usize>,
    /// Date fields: the cell's format (`%Y %m %d %H %M %S`, anything else literal).
    pub date: Option<String>,
    /// Coded fields: the code system the column's codes belong to.
    pub system: Option<String>,
    /// Yes/no fields: the cells meaning yes (default `["1"]`).
    #[serde(rename = "true")]
    pub true_values: Option<Vec<String>>,
    /// Yes/no fields: the cells meaning no (default `["", "0"]`); any other cell is an error.
    #[serde(rename = "false")]
    pub false_values: Option<Vec<String>>,
    /// Choice fields (gender, category): cell → the canonical value; a cell not listed is an
    /// error.
    pub map: Option<BTreeMap<String, String>>,
}

/// How a canonical field is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Text as written.
    Text,
    /// A date or date-time, with a `date` format.
    Date,
    /// A code, with a `system`.
    Code,
    /// Yes/no.
    Flag,
    /// One of a fixed set of values, through `map` (or the built-in map).
    Choice,
}

impl RecordKind {
    /// The canonical fields of this kind, with how each is read; the first is required.
    pub fn fields(self) -> &'static [(&'static str, FieldType)] {
        use FieldType::*;
        match self {
            RecordKind::Patient => &[
                ("patient_id", Text),
                ("insurer_number", Text),
                ("insurance_symbol", Text),
                ("insurance_number", Text),
                ("insurance_branch", Text),
                ("family_name", Text),
                ("given_name", Text),
                ("family_kana", Text),
                ("given_kana", Text),
                ("gender", Choice),
                ("birth_date", Date),
                ("address", Text),
            ],
            RecordKind::Condition => &[
                ("patient_id", Text),
                ("record_id", Text),
                ("original_text", Text),
                ("disease_key", Text),
                ("exchange_code", Text),
                ("icd10", Text),
                ("local_code", Code),
                ("onset", Date),
                ("abatement", Date),
                ("recorded", Date),
                ("principal", Flag),
                ("suspected", Flag),
                ("entered_in_error", Flag),
            ],
            RecordKind::Allergy => &[
                ("patient_id", Text),
                ("record_id", Text),
                ("original_text", Text),
                ("category", Choice),
                ("allergen", Code),
                ("severity", Code),
                ("reaction", Text),
                ("onset", Date),
                ("recorded", Date),
            ],
            RecordKind::LabResult => &[
                ("patient_id", Text),
                ("report_id", Text),
                ("local_code", Code),
                ("local_name", Text),
                ("jlac10", Text),
                ("value", Text),
                ("unit", Text),
                ("reference_range", Text),
                ("flag", Text),
                ("specimen", Code),
                ("collected_at", Date),
                ("status", Text),
            ],
        }
    }

    /// The fields a spec of this kind must name.
    pub fn required(self) -> &'static [&'static str] {
        match self {
            RecordKind::LabResult => &["patient_id", "local_code"],
            RecordKind::Condition | RecordKind::Allergy => &["patient_id", "original_text"],
            RecordKind::Patient => &["patient_id"],
        }
    }

    /// The type of a field of this kind, `None` when the kind has no such field.
    pub fn field_type(self, name: &str) -> Option<FieldType> {
        self.fields()
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| *t)
    }
}

/// A mistake in a spec, found before any file is read. Names the field; English and Japanese.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fields.{field}: {en} / {ja}")]
pub struct SpecError {
    /// The canonical field (or `header`, `layout`).
    pub field: String,
    /// Why, in English.
    pub en: String,
    /// Why, in Japanese.
    pub ja: String,
}

fn spec_error(field: &str, en: impl Into<String>, ja: impl Into<String>) -> SpecError {
    SpecError {
        field: field.to_string(),
        en: en.into(),
        ja: ja.into(),
    }
}

impl TableSpec {
    /// Every mistake in the spec; empty when it can be used.
    pub fn check(&self) -> Vec<SpecError> {
        let mut errors = Vec::new();
        for required in self.record.required() {
            if !self.fields.contains_key(*required) {
                errors.push(spec_error(
                    required,
                    "is required for this record kind",
                    "このレコード種別では必須です",
                ));
            }
        }
        for (name, field) in &self.fields {
            match self.record.field_type(name) {
                None => errors.push(spec_error(
                    name,
                    format!(
                        "is not a field of this record kind (known: {})",
                        self.field_names().join(", ")
                    ),
                    "このレコード種別にない項目名です",
                )),
                Some(kind) => errors.extend(self.check_field(name, field, kind)),
            }
        }
        errors
    }

    fn field_names(&self) -> Vec<&'static str> {
        self.record.fields().iter().map(|(n, _)| *n).collect()
    }

    fn check_field(&self, name: &str, f: &FieldSpec, kind: FieldType) -> Vec<SpecError> {
        let mut errors = Vec::new();
        let mut push = |en: &str, ja: &str| errors.push(spec_error(name, en, ja));
        match (self.layout, &f.column, f.start, f.width) {
            (Layout::Fixed, None, Some(s), Some(w)) if s >= 1 && w >= 1 => {}
            (Layout::Fixed, _, _, _) => push(
                "a fixed layout needs start (1-based byte) and width (bytes), and no column",
                "固定長では start(1始まりのバイト位置)と width(バイト数)を指定し、column は指定しません",
            ),
            (_, Some(ColumnKey::Index(0)), _, _) => {
                push("columns are numbered from 1", "列番号は1から数えます")
            }
            (_, Some(ColumnKey::Name(_)), None, None) if !self.header => push(
                "a column named by its header needs header = true",
                "見出し名で列を指定するには header = true が必要です",
            ),
            (_, Some(_), None, None) => {}
            _ => push(
                "csv and tsv name a column (its header text or 1-based number), not start/width",
                "csv・tsv では column(見出し名または1始まりの列番号)を指定します",
            ),
        }
        let extra = |has: bool, wanted: FieldType, key: &str| {
            (has != (kind == wanted)).then(|| {
                let need = if has { "does not take" } else { "needs" };
                let ja = if has {
                    "この項目には指定できません"
                } else {
                    "この項目には指定が必要です"
                };
                spec_error(name, format!("{need} `{key}`"), format!("`{key}` は{ja}"))
            })
        };
        errors.extend(extra(f.date.is_some(), FieldType::Date, "date"));
        errors.extend(extra(f.system.is_some(), FieldType::Code, "system"));
        let flag_lists = f.true_values.is_some() || f.false_values.is_some();
        if flag_lists && kind != FieldType::Flag {
            errors.push(spec_error(
                name,
                "only yes/no fields take `true`/`false`",
                "`true`/`false` は有無の項目にだけ指定できます",
            ));
        }
        if f.map.is_some() && kind != FieldType::Choice {
            errors.push(spec_error(
                name,
                "only gender and category take `map`",
                "`map` は gender と category にだけ指定できます",
            ));
        }
        if let Some(format) = &f.date {
            if let Err(e) = super::values::DateFormat::parse(format) {
                errors.push(spec_error(name, e.en, e.ja));
            }
        }
        if let Some(map) = &f.map {
            let allowed = super::values::choices(name);
            for v in map.values().filter(|v| !allowed.contains(&v.as_str())) {
                errors.push(spec_error(
                    name,
                    format!("map value {v:?} is not one of {}", allowed.join(", ")),
                    format!(
                        "map の値 {v:?} は {} のいずれかにしてください",
                        allowed.join(", ")
                    ),
                ));
            }
        }
        errors
    }
}
