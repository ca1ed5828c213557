//! The JSON shape of each canonical record, as serde mirror types of [`crate::model`] (whose
//! patient values are [`Sensitive`] and so not serialisable by accident).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{
    Allergy, AllergyCategory, Coded, Condition, DiseaseModifier, Gender, InsuranceId, LabResult,
    LabValue, Patient, PersonName, Prescription, Quantity,
};
use crate::{Record, Sensitive};

/// Why an object is not a canonical record; never quotes a value.
pub struct Refused {
    pub en: String,
    pub ja: String,
}

/// One canonical record as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum CanonicalRecord {
    /// A patient.
    Patient(PatientJson),
    /// A diagnosis.
    Condition(ConditionJson),
    /// An allergy.
    Allergy(AllergyJson),
    /// A lab result.
    LabResult(LabJson),
    /// A prescription.
    Prescription(PrescriptionJson),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodedJson {
    system: String,
    code: String,
    #[serde(default)]
    display: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NameJson {
    family: String,
    given: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InsuranceJson {
    insurer_number: String,
    symbol: String,
    number: String,
    branch: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PatientJson {
    local_id: String,
    insurance: Option<InsuranceJson>,
    name_kanji: Option<NameJson>,
    name_kana: Option<NameJson>,
    gender: GenderJson,
    birth_date: Option<String>,
    address: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GenderJson {
    Male,
    Female,
    Other,
    #[default]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModifierJson {
    key_number: String,
    #[serde(default)]
    exchange_code: Option<String>,
    #[serde(default)]
    display: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConditionJson {
    patient_id: String,
    record_id: Option<String>,
    disease_key: Option<String>,
    exchange_code: Option<String>,
    icd10: Option<String>,
    prefix_modifiers: Vec<ModifierJson>,
    postfix_modifiers: Vec<ModifierJson>,
    onset: Option<String>,
    abatement: Option<String>,
    outcome: Option<CodedJson>,
    principal: bool,
    suspected: bool,
    original_text: String,
    recorded: Option<String>,
    department: Option<CodedJson>,
    entered_in_error: bool,
    local_code: Option<CodedJson>,
}

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CategoryJson {
    Medication,
    Food,
    Environment,
    #[default]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AllergyJson {
    patient_id: String,
    record_id: Option<String>,
    category: CategoryJson,
    allergen: Option<CodedJson>,
    original_text: String,
    severity: Option<CodedJson>,
    reaction: Option<String>,
    onset: Option<String>,
    recorded: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum ValueJson {
    /// A number as text, no precision lost.
    Numeric(String),
    /// A coded result.
    Coded(CodedJson),
    /// Free text.
    Text(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabJson {
    patient_id: String,
    #[serde(default)]
    report_id: Option<String>,
    local_code: CodedJson,
    #[serde(default)]
    jlac10: Option<String>,
    #[serde(default)]
    value: Option<ValueJson>,
    #[serde(default)]
    unit: Option<String>,
    #[serde(default)]
    reference_range: Option<String>,
    #[serde(default)]
    flag: Option<String>,
    #[serde(default)]
    specimen: Option<CodedJson>,
    #[serde(default)]
    collected_at: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuantityJson {
    value: String,
    #[serde(default)]
    unit: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrescriptionJson {
    patient_id: String,
    order_id: Option<String>,
    drug_codes: Vec<CodedJson>,
    drug_text: Option<String>,
    dose: Option<QuantityJson>,
    usage: Option<CodedJson>,
    days: Option<u32>,
    authored: Option<String>,
    route: Option<CodedJson>,
    injection: bool,
}

/// Patient values: masked by [`mask`] wherever these keys appear.
const SENSITIVE_KEYS: &[&str] = &[
    "local_id",
    "patient_id",
    "insurer_number",
    "symbol",
    "number",
    "branch",
    "family",
    "given",
    "birth_date",
    "address",
    "original_text",
    "reaction",
    "text",
];

/// Replaces every patient value with `"***"`.
pub fn mask(v: &mut Value) {
    match v {
        Value::Object(o) => {
            for (k, child) in o.iter_mut() {
                if SENSITIVE_KEYS.contains(&k.as_str()) && !child.is_null() {
                    *child = Value::String("***".into());
                } else {
                    mask(child);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(mask),
        _ => {}
    }
}

/// Reads one record object.
pub fn read(item: Value) -> Result<Record, Refused> {
    let kind = item.get("type").and_then(Value::as_str).map(str::to_string);
    let known = [
        "Patient",
        "Condition",
        "Allergy",
        "LabResult",
        "Prescription",
    ];
    match kind.as_deref() {
        Some(k) if known.contains(&k) => {}
        _ => {
            return Err(Refused {
                en: format!("`type` must be one of {}", known.join(", ")),
                ja: format!("`type` は {} のいずれかにしてください", known.join(", ")),
            })
        }
    }
    let record: CanonicalRecord = serde_json::from_value(item).map_err(|e| refused(&e))?;
    Ok(record.into())
}

/// serde's message names the field for unknown and missing fields; any other message may quote
/// the value, so only its kind is said.
fn refused(e: &serde_json::Error) -> Refused {
    let msg = e.to_string();
    let field = ["unknown field `", "missing field `"]
        .iter()
        .find_map(|p| Some((*p, msg.split_once(p)?.1.split('`').next()?)));
    match field {
        Some((p, f)) if p.starts_with("unknown") => Refused {
            en: format!("unknown field `{f}`"),
            ja: format!("未知の項目 `{f}` があります"),
        },
        Some((_, f)) => Refused {
            en: format!("required field `{f}` is missing"),
            ja: format!("必須項目 `{f}` がありません"),
        },
        None => Refused {
            en: "a field has the wrong type (text, true/false, number, object or list)".into(),
            ja: "項目の型が違います（文字列・真偽値・数値・オブジェクト・配列）".into(),
        },
    }
}

fn s(v: &Sensitive<String>) -> String {
    v.expose().clone()
}

fn sens(v: String) -> Sensitive<String> {
    Sensitive::new(v)
}

impl From<&Coded> for CodedJson {
    fn from(c: &Coded) -> Self {
        CodedJson {
            system: c.system.clone(),
            code: c.code.clone(),
            display: c.display.clone(),
        }
    }
}

impl From<CodedJson> for Coded {
    fn from(c: CodedJson) -> Self {
        Coded {
            system: c.system,
            code: c.code,
            display: c.display,
        }
    }
}

fn coded(c: &Option<Coded>) -> Option<CodedJson> {
    c.as_ref().map(CodedJson::from)
}

fn uncoded(c: Option<CodedJson>) -> Option<Coded> {
    c.map(Coded::from)
}

fn name_json(n: &Option<PersonName>) -> Option<NameJson> {
    n.as_ref().map(|n| NameJson {
        family: s(&n.family),
        given: s(&n.given),
    })
}

fn name(n: Option<NameJson>) -> Option<PersonName> {
    n.map(|n| PersonName {
        family: sens(n.family),
        given: sens(n.given),
    })
}

fn modifiers_json(m: &[DiseaseModifier]) -> Vec<ModifierJson> {
    m.iter()
        .map(|m| ModifierJson {
            key_number: m.key_number.clone(),
            exchange_code: m.exchange_code.clone(),
            display: m.display.clone(),
        })
        .collect()
}

fn modifiers(m: Vec<ModifierJson>) -> Vec<DiseaseModifier> {
    m.into_iter()
        .map(|m| DiseaseModifier {
            key_number: m.key_number,
            exchange_code: m.exchange_code,
            display: m.display,
        })
        .collect()
}

impl CanonicalRecord {
    /// The canonical JSON of a record; `None` for a FHIR resource, which is not canonical.
    pub fn of(r: &Record) -> Option<Self> {
        Some(match r {
            Record::Patient(p) => CanonicalRecord::Patient(patient_json(p)),
            Record::Condition(c) => CanonicalRecord::Condition(condition_json(c)),
            Record::Allergy(a) => CanonicalRecord::Allergy(allergy_json(a)),
            Record::LabResult(l) => CanonicalRecord::LabResult(lab_json(l)),
            Record::Prescription(p) => CanonicalRecord::Prescription(prescription_json(p)),
            Record::Fhir(_) => return None,
        })
    }
}

impl From<CanonicalRecord> for Record {
    fn from(r: CanonicalRecord) -> Self {
        match r {
            CanonicalRecord::Patient(p) => Record::Patient(patient(p)),
            CanonicalRecord::Condition(c) => Record::Condition(condition(c)),
            CanonicalRecord::Allergy(a) => Record::Allergy(allergy(a)),
            CanonicalRecord::LabResult(l) => Record::LabResult(lab(l)),
            CanonicalRecord::Prescription(p) => Record::Prescription(prescription(p)),
        }
    }
}

fn patient_json(p: &Patient) -> PatientJson {
    PatientJson {
        local_id: s(&p.local_id),
        insurance: p.insurance.as_ref().map(|i| InsuranceJson {
            insurer_number: s(&i.insurer_number),
            symbol: s(&i.symbol),
            number: s(&i.number),
            branch: s(&i.branch),
        }),
        name_kanji: name_json(&p.name_kanji),
        name_kana: name_json(&p.name_kana),
        gender: match p.gender {
            Gender::Male => GenderJson::Male,
            Gender::Female => GenderJson::Female,
            Gender::Other => GenderJson::Other,
            Gender::Unknown => GenderJson::Unknown,
        },
        birth_date: p.birth_date.as_ref().map(s),
        address: p.address.as_ref().map(s),
    }
}

fn patient(p: PatientJson) -> Patient {
    Patient {
        local_id: sens(p.local_id),
        insurance: p.insurance.map(|i| InsuranceId {
            insurer_number: sens(i.insurer_number),
            symbol: sens(i.symbol),
            number: sens(i.number),
            branch: sens(i.branch),
        }),
        name_kanji: name(p.name_kanji),
        name_kana: name(p.name_kana),
        gender: match p.gender {
            GenderJson::Male => Gender::Male,
            GenderJson::Female => Gender::Female,
            GenderJson::Other => Gender::Other,
            GenderJson::Unknown => Gender::Unknown,
        },
        birth_date: p.birth_date.map(sens),
        address: p.address.map(sens),
    }
}

fn condition_json(c: &Condition) -> ConditionJson {
    ConditionJson {
        patient_id: s(&c.patient_id),
        record_id: c.record_id.clone(),
        disease_key: c.disease_key.clone(),
        exchange_code: c.exchange_code.clone(),
        icd10: c.icd10.clone(),
        prefix_modifiers: modifiers_json(&c.prefix_modifiers),
        postfix_modifiers: modifiers_json(&c.postfix_modifiers),
        onset: c.onset.clone(),
        abatement: c.abatement.clone(),
        outcome: coded(&c.outcome),
        principal: c.principal,
        suspected: c.suspected,
        original_text: s(&c.original_text),
        recorded: c.recorded.clone(),
        department: coded(&c.department),
        entered_in_error: c.entered_in_error,
        local_code: coded(&c.local_code),
    }
}

fn condition(c: ConditionJson) -> Condition {
    Condition {
        patient_id: sens(c.patient_id),
        record_id: c.record_id,
        disease_key: c.disease_key,
        exchange_code: c.exchange_code,
        icd10: c.icd10,
        prefix_modifiers: modifiers(c.prefix_modifiers),
        postfix_modifiers: modifiers(c.postfix_modifiers),
        onset: c.onset,
        abatement: c.abatement,
        outcome: uncoded(c.outcome),
        principal: c.principal,
        suspected: c.suspected,
        original_text: sens(c.original_text),
        recorded: c.recorded,
        department: uncoded(c.department),
        entered_in_error: c.entered_in_error,
        local_code: uncoded(c.local_code),
    }
}

fn allergy_json(a: &Allergy) -> AllergyJson {
    AllergyJson {
        patient_id: s(&a.patient_id),
        record_id: a.record_id.clone(),
        category: match a.category {
            AllergyCategory::Medication => CategoryJson::Medication,
            AllergyCategory::Food => CategoryJson::Food,
            AllergyCategory::Environment => CategoryJson::Environment,
            AllergyCategory::Unknown => CategoryJson::Unknown,
        },
        allergen: coded(&a.allergen),
        original_text: s(&a.original_text),
        severity: coded(&a.severity),
        reaction: a.reaction.as_ref().map(s),
        onset: a.onset.clone(),
        recorded: a.recorded.clone(),
    }
}

fn allergy(a: AllergyJson) -> Allergy {
    Allergy {
        patient_id: sens(a.patient_id),
        record_id: a.record_id,
        category: match a.category {
            CategoryJson::Medication => AllergyCategory::Medication,
            CategoryJson::Food => AllergyCategory::Food,
            CategoryJson::Environment => AllergyCategory::Environment,
            CategoryJson::Unknown => AllergyCategory::Unknown,
        },
        allergen: uncoded(a.allergen),
        original_text: sens(a.original_text),
        severity: uncoded(a.severity),
        reaction: a.reaction.map(sens),
        onset: a.onset,
        recorded: a.recorded,
    }
}

fn lab_json(l: &LabResult) -> LabJson {
    LabJson {
        patient_id: s(&l.patient_id),
        report_id: l.report_id.clone(),
        local_code: CodedJson::from(&l.local_code),
        jlac10: l.jlac10.clone(),
        value: l.value.as_ref().map(|v| match v {
            LabValue::Numeric(n) => ValueJson::Numeric(n.clone()),
            LabValue::Coded(c) => ValueJson::Coded(c.into()),
            LabValue::Text(t) => ValueJson::Text(s(t)),
        }),
        unit: l.unit.clone(),
        reference_range: l.reference_range.clone(),
        flag: l.flag.clone(),
        specimen: coded(&l.specimen),
        collected_at: l.collected_at.clone(),
        status: l.status.clone(),
    }
}

fn lab(l: LabJson) -> LabResult {
    LabResult {
        patient_id: sens(l.patient_id),
        report_id: l.report_id,
        local_code: l.local_code.into(),
        jlac10: l.jlac10,
        value: l.value.map(|v| match v {
            ValueJson::Numeric(n) => LabValue::Numeric(n),
            ValueJson::Coded(c) => LabValue::Coded(c.into()),
            ValueJson::Text(t) => LabValue::Text(sens(t)),
        }),
        unit: l.unit,
        reference_range: l.reference_range,
        flag: l.flag,
        specimen: uncoded(l.specimen),
        collected_at: l.collected_at,
        status: l.status,
    }
}

fn prescription_json(p: &Prescription) -> PrescriptionJson {
    PrescriptionJson {
        patient_id: s(&p.patient_id),
        order_id: p.order_id.clone(),
        drug_codes: p.drug_codes.iter().map(CodedJson::from).collect(),
        drug_text: p.drug_text.clone(),
        dose: p.dose.as_ref().map(|d| QuantityJson {
            value: d.value.clone(),
            unit: d.unit.clone(),
        }),
        usage: coded(&p.usage),
        days: p.days,
        authored: p.authored.clone(),
        route: coded(&p.route),
        injection: p.injection,
    }
}

fn prescription(p: PrescriptionJson) -> Prescription {
    Prescription {
        patient_id: sens(p.patient_id),
        order_id: p.order_id,
        drug_codes: p.drug_codes.into_iter().map(Coded::from).collect(),
        drug_text: p.drug_text,
        dose: p.dose.map(|d| Quantity {
            value: d.value,
            unit: d.unit,
        }),
        usage: uncoded(p.usage),
        days: p.days,
        authored: p.authored,
        route: uncoded(p.route),
        injection: p.injection,
    }
}
