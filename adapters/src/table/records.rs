//! One row to one canonical [`Record`] of the spec's kind.

use crate::model::{
    Allergy, AllergyCategory, Coded, Condition, Gender, InsuranceId, LabResult, LabValue, Patient,
    PersonName,
};
use std::collections::BTreeMap;

use crate::{Problem, Record, Sensitive};

use super::rows::Row;
use super::spec::{FieldSpec, RecordKind, TableSpec};
use super::values::{self, DateFormat, Refused};

/// The row's record, or a problem for each cell that could not be read.
pub(super) fn read(
    spec: &TableSpec,
    dates: &BTreeMap<String, DateFormat>,
    columns: &[usize],
    row: &Row,
) -> Result<Record, Vec<Problem>> {
    let mut cells = Cells {
        spec,
        dates,
        columns,
        row,
        problems: Vec::new(),
    };
    let record = match spec.record {
        RecordKind::Patient => Record::Patient(patient(&mut cells)),
        RecordKind::Condition => Record::Condition(condition(&mut cells)),
        RecordKind::Allergy => Record::Allergy(allergy(&mut cells)),
        RecordKind::LabResult => lab(&mut cells),
    };
    if cells.text("patient_id").is_none() {
        cells.refuse("patient_id", "is empty", "値が空です");
    }
    if cells.problems.is_empty() {
        Ok(record)
    } else {
        Err(cells.problems)
    }
}

/// One row's cells, read by canonical field name; problems collected, never thrown.
struct Cells<'a> {
    spec: &'a TableSpec,
    dates: &'a BTreeMap<String, DateFormat>,
    columns: &'a [usize],
    row: &'a Row,
    problems: Vec<Problem>,
}

impl Cells<'_> {
    fn field(&self, name: &str) -> Option<(usize, &FieldSpec)> {
        let (i, (_, f)) = self
            .spec
            .fields
            .iter()
            .enumerate()
            .find(|(_, (n, _))| *n == name)?;
        Some((i, f))
    }

    /// The trimmed cell (half- and full-width spaces), `None` when empty or not configured.
    fn raw(&self, name: &str) -> Option<&str> {
        let (i, _) = self.field(name)?;
        let cell = self.row.cells.get(*self.columns.get(i)?)?;
        Some(cell.trim_matches(|c: char| c.is_whitespace() || c == '\u{3000}'))
            .filter(|c| !c.is_empty())
    }

    fn text(&self, name: &str) -> Option<String> {
        self.raw(name).map(str::to_string)
    }

    fn sensitive(&self, name: &str) -> Option<Sensitive<String>> {
        self.text(name).map(Sensitive::new)
    }

    fn refuse(&mut self, name: &str, en: &str, ja: &str) {
        let column = match self.field(name).and_then(|(_, f)| f.column.clone()) {
            Some(super::ColumnKey::Name(c)) => format!(", column {c:?}"),
            Some(super::ColumnKey::Index(n)) => format!(", column {n}"),
            None => String::new(),
        };
        self.problems.push(Problem::fatal(
            format!("line {}{column} ({name})", self.row.line),
            en,
            ja,
        ));
    }

    fn refused(&mut self, name: &str, r: Refused) {
        self.refuse(name, &r.en, &r.ja);
    }

    fn date(&mut self, name: &str) -> Option<String> {
        let cell = self.raw(name)?;
        match self.dates.get(name)?.read(cell) {
            Ok(d) => Some(d),
            Err(r) => {
                self.refused(name, r);
                None
            }
        }
    }

    fn flag(&mut self, name: &str) -> bool {
        let Some((_, f)) = self.field(name) else {
            return false;
        };
        let (yes, no) = (f.true_values.clone(), f.false_values.clone());
        let cell = self.raw(name).unwrap_or_default().to_string();
        values::flag(&cell, yes.as_deref(), no.as_deref()).unwrap_or_else(|r| {
            self.refused(name, r);
            false
        })
    }

    fn choice(&mut self, name: &str) -> Option<String> {
        let (_, f) = self.field(name)?;
        let map = f.map.clone();
        let cell = self.raw(name).unwrap_or_default().to_string();
        values::choice(name, &cell, map.as_ref())
            .map_err(|r| self.refused(name, r))
            .ok()
    }

    fn code(&self, name: &str) -> Option<Coded> {
        let system = self.field(name)?.1.system.clone()?;
        Some(Coded {
            system,
            code: self.text(name)?,
            display: None,
        })
    }
}

fn patient(c: &mut Cells<'_>) -> Patient {
    let name = |c: &Cells<'_>, family: &str, given: &str| {
        (c.raw(family).is_some() || c.raw(given).is_some()).then(|| PersonName {
            family: Sensitive::new(c.text(family).unwrap_or_default()),
            given: Sensitive::new(c.text(given).unwrap_or_default()),
        })
    };
    let insurance = c.raw("insurance_number").is_some().then(|| InsuranceId {
        insurer_number: Sensitive::new(c.text("insurer_number").unwrap_or_default()),
        symbol: Sensitive::new(c.text("insurance_symbol").unwrap_or_default()),
        number: Sensitive::new(c.text("insurance_number").unwrap_or_default()),
        branch: Sensitive::new(c.text("insurance_branch").unwrap_or_default()),
    });
    let gender = match c.choice("gender").as_deref() {
        Some("male") => Gender::Male,
        Some("female") => Gender::Female,
        Some("other") => Gender::Other,
        _ => Gender::Unknown,
    };
    Patient {
        local_id: Sensitive::new(c.text("patient_id").unwrap_or_default()),
        insurance,
        name_kanji: name(c, "family_name", "given_name"),
        name_kana: name(c, "family_kana", "given_kana"),
        gender,
        birth_date: c.date("birth_date").map(Sensitive::new),
        address: c.sensitive("address"),
    }
}

fn condition(c: &mut Cells<'_>) -> Condition {
    Condition {
        patient_id: Sensitive::new(c.text("patient_id").unwrap_or_default()),
        record_id: c.text("record_id"),
        disease_key: c.text("disease_key"),
        exchange_code: c.text("exchange_code"),
        icd10: c.text("icd10").map(|s| s.replace('.', "")),
        onset: c.date("onset"),
        abatement: c.date("abatement"),
        recorded: c.date("recorded"),
        principal: c.flag("principal"),
        suspected: c.flag("suspected"),
        entered_in_error: c.flag("entered_in_error"),
        original_text: Sensitive::new(c.text("original_text").unwrap_or_default()),
        local_code: c.code("local_code"),
        ..Condition::default()
    }
}

fn allergy(c: &mut Cells<'_>) -> Allergy {
    let category = match c.choice("category").as_deref() {
        Some("medication") => AllergyCategory::Medication,
        Some("food") => AllergyCategory::Food,
        Some("environment") => AllergyCategory::Environment,
        _ => AllergyCategory::Unknown,
    };
    Allergy {
        patient_id: Sensitive::new(c.text("patient_id").unwrap_or_default()),
        record_id: c.text("record_id"),
        category,
        allergen: c.code("allergen"),
        original_text: Sensitive::new(c.text("original_text").unwrap_or_default()),
        severity: c.code("severity"),
        reaction: c.sensitive("reaction"),
        onset: c.date("onset"),
        recorded: c.date("recorded"),
    }
}

fn lab(c: &mut Cells<'_>) -> Record {
    let Some(mut local_code) = c.code("local_code") else {
        c.refuse("local_code", "is empty", "値が空です");
        return Record::LabResult(empty_lab());
    };
    local_code.display = c.text("local_name");
    let value = c.text("value").map(|v| {
        if LabValue::is_number(&v) {
            LabValue::Numeric(v)
        } else {
            LabValue::Text(Sensitive::new(v))
        }
    });
    Record::LabResult(LabResult {
        patient_id: Sensitive::new(c.text("patient_id").unwrap_or_default()),
        report_id: c.text("report_id"),
        local_code,
        jlac10: c.text("jlac10"),
        value,
        unit: c.text("unit"),
        reference_range: c.text("reference_range"),
        flag: c.text("flag"),
        specimen: c.code("specimen"),
        collected_at: c.date("collected_at"),
        status: c.text("status"),
    })
}

fn empty_lab() -> LabResult {
    LabResult {
        patient_id: Sensitive::new(String::new()),
        report_id: None,
        local_code: Coded {
            system: String::new(),
            code: String::new(),
            display: None,
        },
        jlac10: None,
        value: None,
        unit: None,
        reference_range: None,
        flag: None,
        specimen: None,
        collected_at: None,
        status: None,
    }
}
