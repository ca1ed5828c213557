//! The canonical clinical model: what an EHR export means, independent of its wire format.
//!
//! HL7 v2 (SS-MIX2) and CSV adapters fill these structs; the agent turns them into JP-CLINS
//! FHIR resources. Every value that identifies or describes a patient is wrapped in
//! [`Sensitive`], so `{:?}` on any of these types never shows patient data.
//!
//! Dates and times are kept as FHIR `date`/`dateTime` text (`2024-04-01`,
//! `2024-04-01T10:15:00+09:00`): adapters convert their own formats once, at the edge.
//! Codes keep the code system they were received in ([`Coded::system`]); no adapter invents a
//! code it did not receive.

use crate::Sensitive;

/// A code with its code system, e.g. a MEDIS 病名管理番号 or a JLAC10 code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coded {
    /// Code system URI (`http://medis.or.jp/CodeSystem/master-disease-keyNumber`) or, when an
    /// adapter cannot map it, the source's own name (`MDCDX2`, `99xxx`).
    pub system: String,
    /// The code itself.
    pub code: String,
    /// The code's display text as received, if any.
    pub display: Option<String>,
}

/// The parts of a 被保険者識別子 (JP_Insurance_memberID `保険者番号:記号:番号:枝番`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InsuranceId {
    /// 保険者番号: 8 digits, zero-padded.
    pub insurer_number: Sensitive<String>,
    /// 被保険者記号 (may be empty).
    pub symbol: Sensitive<String>,
    /// 被保険者番号.
    pub number: Sensitive<String>,
    /// 枝番: two digits, or empty.
    pub branch: Sensitive<String>,
}

impl InsuranceId {
    /// The JP_Insurance_memberID value `保険者番号:記号:番号:枝番` (still [`Sensitive`]).
    pub fn member_id(&self) -> Sensitive<String> {
        Sensitive::new(format!(
            "{}:{}:{}:{}",
            self.insurer_number.expose(),
            self.symbol.expose(),
            self.number.expose(),
            self.branch.expose()
        ))
    }
}

/// A person's name in one representation (漢字 or カナ).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PersonName {
    /// 姓.
    pub family: Sensitive<String>,
    /// 名.
    pub given: Sensitive<String>,
}

/// Administrative gender, as FHIR `Patient.gender` knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Gender {
    /// `male`.
    Male,
    /// `female`.
    Female,
    /// `other`.
    Other,
    /// `unknown`, also used when the source did not say.
    #[default]
    Unknown,
}

/// A patient (PID segment, patient master export).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Patient {
    /// The hospital's own patient ID (施設患者ID); the key other records refer to.
    pub local_id: Sensitive<String>,
    /// 被保険者識別子, when the source has it (JP-CLINS needs exactly one).
    pub insurance: Option<InsuranceId>,
    /// Name in 漢字.
    pub name_kanji: Option<PersonName>,
    /// Name in カナ.
    pub name_kana: Option<PersonName>,
    /// Gender.
    pub gender: Gender,
    /// Birth date, FHIR `date` text.
    pub birth_date: Option<Sensitive<String>>,
    /// Address as one line of text (JP_Patient_eCS needs `address.text`).
    pub address: Option<Sensitive<String>>,
}

/// A 修飾語 (prefix or postfix) of a disease name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiseaseModifier {
    /// 修飾語管理番号 (MEDIS, 8 digits).
    pub key_number: String,
    /// 修飾語交換用コード (4 characters), if received.
    pub exchange_code: Option<String>,
    /// The modifier's text, if received.
    pub display: Option<String>,
}

/// A diagnosis (傷病名; SS-MIX2 PPR-01 PRB/ZPR).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Condition {
    /// The patient's [`Patient::local_id`].
    pub patient_id: Sensitive<String>,
    /// The source's identifier for this diagnosis record (PRB-4), if any.
    pub record_id: Option<String>,
    /// 病名管理番号 (MEDIS 8 digits; `99999999` when the source says it is uncoded).
    pub disease_key: Option<String>,
    /// 病名交換用コード (4 characters).
    pub exchange_code: Option<String>,
    /// ICD-10 (2013) without the dot, e.g. `C169`.
    pub icd10: Option<String>,
    /// 接頭語 modifiers, in order.
    pub prefix_modifiers: Vec<DiseaseModifier>,
    /// 接尾語 modifiers, in order.
    pub postfix_modifiers: Vec<DiseaseModifier>,
    /// 病名開始日 (FHIR `dateTime`).
    pub onset: Option<String>,
    /// 転帰日 (FHIR `dateTime`).
    pub abatement: Option<String>,
    /// 転帰 as received (e.g. HL70241 `N` 回復せず).
    pub outcome: Option<Coded>,
    /// 主病名.
    pub principal: bool,
    /// 疑い病名 (becomes verificationStatus `unconfirmed`).
    pub suspected: bool,
    /// The disease name exactly as written in the EHR (becomes `code.text`).
    pub original_text: Sensitive<String>,
    /// Date the diagnosis was recorded (FHIR `dateTime`).
    pub recorded: Option<String>,
    /// 診療科 (SS-MIX2 ClinicalDepartment code), if the source says.
    pub department: Option<Coded>,
    /// The source withdrew this record (HL7 v2 PRB-1 `DE`): verificationStatus
    /// `entered-in-error`.
    pub entered_in_error: bool,
    /// A code that is neither a MEDIS 病名管理番号 nor 交換用コード (a local `99xxx` code), as
    /// received.
    pub local_code: Option<Coded>,
}

/// Which kind of allergy: decides 薬剤アレルギー等 vs その他アレルギー等.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AllergyCategory {
    /// `medication`: 薬剤アレルギー等.
    Medication,
    /// `food`.
    Food,
    /// `environment`.
    Environment,
    /// Not stated by the source.
    #[default]
    Unknown,
}

/// An allergy or intolerance (SS-MIX2 ADT-61 IAM).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Allergy {
    /// The patient's [`Patient::local_id`].
    pub patient_id: Sensitive<String>,
    /// The source's identifier for this record, if any.
    pub record_id: Option<String>,
    /// Category.
    pub category: AllergyCategory,
    /// The allergen code (J-FAGY, YJ, …) as received.
    pub allergen: Option<Coded>,
    /// The allergen as written in the EHR (becomes `code.text`).
    pub original_text: Sensitive<String>,
    /// Severity as received (HL70128).
    pub severity: Option<Coded>,
    /// Reaction description, free text.
    pub reaction: Option<Sensitive<String>>,
    /// Onset (FHIR `dateTime`).
    pub onset: Option<String>,
    /// Date recorded (FHIR `dateTime`).
    pub recorded: Option<String>,
}

/// The value of a lab result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabValue {
    /// A number, kept as received text so no precision is lost (`3.50`).
    Numeric(String),
    /// A coded result (陰性/陽性 classes, blood type).
    Coded(Coded),
    /// Free text.
    Text(Sensitive<String>),
}

impl LabValue {
    /// Whether a result's text is a plain decimal number (`12`, `-3.5`, `.25`), which every
    /// adapter keeps as [`LabValue::Numeric`] text, with no precision lost.
    pub fn is_number(text: &str) -> bool {
        let s = text.strip_prefix(['+', '-']).unwrap_or(text);
        let mut parts = s.splitn(2, '.');
        let int = parts.next().unwrap_or("");
        let frac = parts.next();
        let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        digits(int)
            && frac.is_none_or(digits)
            && (!int.is_empty() || frac.is_some_and(|f| !f.is_empty()))
    }
}

/// One lab test result (SS-MIX2 OML-11 OBX with its SPM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabResult {
    /// The patient's [`Patient::local_id`].
    pub patient_id: Sensitive<String>,
    /// The order / report number the result belongs to (groups one 検査レポート).
    pub report_id: Option<String>,
    /// The hospital's local test code and name (becomes the LocalCode coding).
    pub local_code: Coded,
    /// JLAC10 17-digit code, when the source has one.
    pub jlac10: Option<String>,
    /// Result value.
    pub value: Option<LabValue>,
    /// Unit of a numeric value.
    pub unit: Option<String>,
    /// Reference range as received (`3.5-5.0`).
    pub reference_range: Option<String>,
    /// Abnormal flag as received (`H`, `L`, `N`, …).
    pub flag: Option<String>,
    /// Specimen (材料) code, e.g. JLAC10 material `023` serum.
    pub specimen: Option<Coded>,
    /// Specimen collection time (FHIR `dateTime`; becomes `effectiveDateTime`).
    pub collected_at: Option<String>,
    /// Result status as received (`F` final, `C` corrected, …).
    pub status: Option<String>,
}

/// An amount with its unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quantity {
    /// The number as received text.
    pub value: String,
    /// Unit text or code.
    pub unit: Option<String>,
}

/// One prescribed drug (SS-MIX2 OMP-01 RXE). Travels only inside documents.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Prescription {
    /// The patient's [`Patient::local_id`].
    pub patient_id: Sensitive<String>,
    /// The source's order number.
    pub order_id: Option<String>,
    /// Drug codes as received (YJ, HOT, 一般名処方コード, …).
    pub drug_codes: Vec<Coded>,
    /// Drug name as written.
    pub drug_text: Option<String>,
    /// Dose per administration.
    pub dose: Option<Quantity>,
    /// 用法 as received.
    pub usage: Option<Coded>,
    /// Number of days supplied.
    pub days: Option<u32>,
    /// When the order was written (FHIR `dateTime`).
    pub authored: Option<String>,
    /// Route as received (HL70162 `PO`, `IV`, …).
    pub route: Option<Coded>,
    /// An injection (SS-MIX2 OMP-02; one record per RXC) rather than a 処方 (OMP-01).
    pub injection: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_id_joins_the_four_parts_and_stays_hidden() {
        let id = InsuranceId {
            insurer_number: "00012345".to_string().into(),
            symbol: "あいう".to_string().into(),
            number: "１８７".to_string().into(),
            branch: "05".to_string().into(),
        };
        assert_eq!(id.member_id().expose(), "00012345:あいう:１８７:05");
        assert!(!format!("{id:?}").contains("00012345"));
    }

    #[test]
    fn patient_debug_shows_no_patient_values() {
        let p = Patient {
            local_id: "P000123".to_string().into(),
            name_kanji: Some(PersonName {
                family: "テスト".to_string().into(),
                given: "太郎".to_string().into(),
            }),
            birth_date: Some("1950-01-02".to_string().into()),
            address: Some("東京都千代田区".to_string().into()),
            ..Patient::default()
        };
        let shown = format!("{p:?}");
        for secret in ["P000123", "テスト", "太郎", "1950", "東京都"] {
            assert!(!shown.contains(secret), "{secret} leaked: {shown}");
        }
    }
}
