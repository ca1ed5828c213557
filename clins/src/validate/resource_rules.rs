//! Built-in rules on one resource: JP_Patient_eCS, JP_Condition_eCS, JP_AllergyIntolerance_eCS,
//! JP_MedicationRequest_eCS (+ JP_MedicationDosage_eCS), and the base-R4 invariants of those
//! types (`con-*`, `ait-*`). Observation lives in `observation_rules`.
//!
//! Profile rules run when the resource declares the eCS profile, or when it sits in a
//! JP_Bundle_CLINS (which implies it). Base invariants run for any resource of the type.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::{items, observation_rules, str_at, Context, Finding, Severity, Subject};
use crate::build::clins::{declares_profile, INSURANCE_MEMBER_ID_SYSTEM};

pub(super) const PATIENT_ECS: &str = "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Patient_eCS";
pub(super) const CONDITION_ECS: &str =
    "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Condition_eCS";
pub(super) const ALLERGY_ECS: &str =
    "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_AllergyIntolerance_eCS";
pub(super) const LAB_ECS: &str =
    "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Observation_LabResult_eCS";
pub(super) const MEDREQ_ECS: &str =
    "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_MedicationRequest_eCS";

/// R1013, as written in the package.
static MEMBER_ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[0-9]{8}:[^:^\s^　]*:[^:^\s^　]*:(.{0}|[0-9][0-9])$")
        .expect("constant regex compiles")
});
/// R1010 / R9012: a 10-digit 保険医療機関番号.
pub(super) static INSTITUTION_NUMBER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[0-4][0-9][1-3][0-9]{7}$").expect("constant regex compiles"));

const LOCAL_PATIENT_OID: &str = "urn:oid:1.2.392.100495.20.3.51.";
const EN_REPRESENTATION: &str =
    "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation";
const CONDITION_VER_STATUS: &str = "http://terminology.hl7.org/CodeSystem/condition-ver-status";
const CONDITION_CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";
const ALLERGY_VERIFICATION: &str =
    "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification";
const YJ_CODE: &str = "http://capstandard.jp/iyaku.info/CodeSystem/YJ-code";
const KIKAKUBETSU: &str = "http://capstandard.jp/CodeSystem/KikakubetsuYakuzaiSeibun";
/// JP-Core 一般名処方マスタ: referenced by the IG, not shipped in the package.
const GENERIC_NAME_CODE: &str =
    "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/MedicationGeneralOrderCode";
const USAGE_UNCODED: &str =
    "http://jpfhir.jp/fhir/clins/CodeSystem/JP_CLINS_MedicationUsage_Uncoded_CS";
const USAGE_UNCODED_CODE: &str = "0X0XXXXXXXXX0000";
const USAGE_EPRESCRIPTION: &str =
    "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/MedicationUsage_ePrescription";

/// Runs every rule that applies to `s`.
pub(super) fn check(s: &Subject, out: &mut Vec<Finding>) {
    let kind = str_at(s.resource, "/resourceType").unwrap_or_default();
    let profile = match kind {
        "Patient" => PATIENT_ECS,
        "Condition" => CONDITION_ECS,
        "AllergyIntolerance" => ALLERGY_ECS,
        "Observation" => LAB_ECS,
        "MedicationRequest" => MEDREQ_ECS,
        _ => "",
    };
    let profiled = !profile.is_empty()
        && (s.context == Context::ClinsEntry || declares_profile(s.resource, profile));
    if !profiled && s.context == Context::Standalone {
        out.push(Finding::info(
            "TSG-PROFILE",
            s.path("meta.profile"),
            "no built-in rules for the declared profile; checked by the base rules of its resource type only",
            "宣言されたプロファイルの組込みルールはありません。リソース型の基本ルールのみで検査しました",
        ));
    }
    match kind {
        "Patient" if profiled => patient(s, out),
        "Condition" => condition(s, profiled, out),
        "AllergyIntolerance" => allergy(s, profiled, out),
        "Observation" => observation_rules::check(s, profiled, out),
        "MedicationRequest" if profiled => medication_request(s, out),
        _ => {}
    }
}

fn patient(s: &Subject, out: &mut Vec<Finding>) {
    let ids = items(s.resource, "identifier");
    let members: Vec<Option<&str>> = ids
        .iter()
        .filter(|i| str_at(i, "/system") == Some(INSURANCE_MEMBER_ID_SYSTEM))
        .map(|i| str_at(i, "/value"))
        .collect();
    if members.len() != 1 {
        out.push(Finding::error(
            "R1012",
            s.path("identifier"),
            "the Patient needs exactly one JP_Insurance_memberID identifier",
            "被保険者識別子（JP_Insurance_memberID）はちょうど1つ必要です",
        ));
    }
    if members.len() != 1 || !members[0].is_some_and(|v| MEMBER_ID.is_match(v)) {
        out.push(Finding::error(
            "R1013",
            s.path("identifier.value"),
            "the insurance member id must be insurer(8 digits):symbol:number:branch(2 digits or empty), without spaces",
            "被保険者識別子は「保険者番号8桁:記号:番号:枝番（2桁または空）」で、空白を含んではなりません",
        ));
    }
    let local: Vec<&str> = ids
        .iter()
        .filter_map(|i| str_at(i, "/system"))
        .filter(|sys| sys.starts_with(LOCAL_PATIENT_OID))
        .collect();
    let local_ok = match local.as_slice() {
        [] => true,
        [sys] => sys[LOCAL_PATIENT_OID.len()..]
            .strip_prefix('1')
            .is_some_and(|n| INSTITUTION_NUMBER.is_match(n)),
        _ => false,
    };
    if !local_ok {
        out.push(Finding::error(
            "R1010",
            s.path("identifier.system"),
            "a local patient id needs one system urn:oid:1.2.392.100495.20.3.51.1 + the 10-digit institution number",
            "施設患者IDのsystemは1つで、urn:oid:1.2.392.100495.20.3.51.1＋医療機関番号10桁でなければなりません",
        ));
    }
    let spaced = items(s.resource, "name").iter().any(|n| {
        items(n, "extension")
            .iter()
            .any(|e| str_at(e, "/url") == Some(EN_REPRESENTATION))
            && str_at(n, "/text").is_some_and(|t| t.contains('　'))
    });
    if spaced {
        out.push(Finding::error(
            "R1113",
            s.path("name.text"),
            "kanji/kana names must not contain a full-width space",
            "漢字・カナ氏名に全角空白を含めてはなりません",
        ));
    }
}

/// True when `concept.coding` has one with this system and one of `codes`.
pub(super) fn has_coding(concept: Option<&Value>, system: &str, codes: &[&str]) -> bool {
    concept.is_some_and(|c| {
        items(c, "coding").iter().any(|cd| {
            str_at(cd, "/system") == Some(system)
                && str_at(cd, "/code").is_some_and(|code| codes.contains(&code))
        })
    })
}

/// 1.10.0 differentials: `clinicalStatus.coding.display` and `verificationStatus.coding.display`
/// are 1..1 on Condition and AllergyIntolerance (also system and code).
fn status_codings(s: &Subject, out: &mut Vec<Finding>) {
    for field in ["clinicalStatus", "verificationStatus"] {
        let Some(concept) = s.resource.get(field) else {
            continue;
        };
        let codings = items(concept, "coding");
        if codings.is_empty() {
            out.push(Finding::new(
                "SD-CARD",
                Severity::Error,
                s.path(&format!("{field}.coding")),
                format!("{field}.coding is required (min 1 in the profile)"),
                format!("{field}.codingは必須です（プロファイルで最小1）"),
            ));
        }
        for (i, coding) in codings.iter().enumerate() {
            for part in ["system", "code", "display"] {
                if coding.get(part).is_none() {
                    out.push(Finding::new(
                        "SD-CARD",
                        Severity::Error,
                        s.path(&format!("{field}.coding[{i}].{part}")),
                        format!("{field}.coding.{part} is required (min 1 in JP-CLINS 1.10.0)"),
                        format!("{field}.coding.{part}は必須です（JP-CLINS 1.10.0で最小1）"),
                    ));
                }
            }
        }
    }
}

fn condition(s: &Subject, profiled: bool, out: &mut Vec<Finding>) {
    let r = s.resource;
    let in_error = has_coding(
        r.get("verificationStatus"),
        CONDITION_VER_STATUS,
        &["entered-in-error"],
    );
    // `category.select($this='problem-list-item')` compares a CodeableConcept with a string:
    // false, never empty, for any category; so con-3 asks for clinicalStatus whenever a
    // category is present.
    let categorised = !items(r, "category").is_empty();
    if r.get("clinicalStatus").is_none() && !in_error && categorised {
        out.push(Finding::warning(
            "con-3",
            s.path("clinicalStatus"),
            "clinicalStatus should be present unless the condition is entered-in-error",
            "entered-in-errorでない限りclinicalStatusを記述してください",
        ));
    }
    let abated = [
        "abatementDateTime",
        "abatementAge",
        "abatementPeriod",
        "abatementRange",
    ]
    .iter()
    .chain(&["abatementString"])
    .any(|k| r.get(*k).is_some());
    if abated
        && !has_coding(
            r.get("clinicalStatus"),
            CONDITION_CLINICAL,
            &["resolved", "remission", "inactive"],
        )
    {
        out.push(Finding::error(
            "con-4",
            s.path("clinicalStatus"),
            "with an abatement, clinicalStatus must be resolved, remission or inactive",
            "転帰日（abatement）がある場合、clinicalStatusはresolved・remission・inactiveのいずれかでなければなりません",
        ));
    }
    if in_error && r.get("clinicalStatus").is_some() {
        out.push(Finding::error(
            "con-5",
            s.path("clinicalStatus"),
            "an entered-in-error condition must not have clinicalStatus",
            "entered-in-errorのConditionにclinicalStatusを記述してはなりません",
        ));
    }
    if !profiled {
        return;
    }
    status_codings(s, out);
    if r.get("verificationStatus").is_none() {
        out.push(Finding::error(
            "SD-CARD",
            s.path("verificationStatus"),
            "verificationStatus is required (min 1 in JP_Condition_eCS)",
            "verificationStatusは必須です（JP_Condition_eCSで最小1）",
        ));
    }
    if str_at(r, "/code/text").is_none() {
        out.push(Finding::error(
            "SD-CARD",
            s.path("code.text"),
            "code.text is required (min 1 in the profile)",
            "code.textは必須です（プロファイルで最小1）",
        ));
    }
    if s.context == Context::ClinsEntry {
        observation_rules::clins_department_and_encounter(s, true, out);
    }
}

fn allergy(s: &Subject, profiled: bool, out: &mut Vec<Finding>) {
    let r = s.resource;
    let in_error = has_coding(
        r.get("verificationStatus"),
        ALLERGY_VERIFICATION,
        &["entered-in-error"],
    );
    if !in_error && r.get("clinicalStatus").is_none() {
        out.push(Finding::error(
            "ait-1",
            s.path("clinicalStatus"),
            "clinicalStatus is required unless verificationStatus is entered-in-error",
            "verificationStatusがentered-in-errorでない限りclinicalStatusは必須です",
        ));
    }
    if in_error && r.get("clinicalStatus").is_some() {
        out.push(Finding::error(
            "ait-2",
            s.path("clinicalStatus"),
            "an entered-in-error allergy must not have clinicalStatus",
            "entered-in-errorのAllergyIntoleranceにclinicalStatusを記述してはなりません",
        ));
    }
    if !profiled {
        return;
    }
    status_codings(s, out);
    if str_at(r, "/code/text").is_none() {
        out.push(Finding::error(
            "SD-CARD",
            s.path("code.text"),
            "code.text is required (min 1 in the profile)",
            "code.textは必須です（プロファイルで最小1）",
        ));
    }
}

fn medication_request(s: &Subject, out: &mut Vec<Finding>) {
    let r = s.resource;
    let concept = r.get("medicationCodeableConcept");
    let count = |system: &str| {
        concept.map_or(0, |c| {
            items(c, "coding")
                .iter()
                .filter(|cd| str_at(cd, "/system") == Some(system))
                .count()
        })
    };
    // R3010: 1.10.0 carries this as a warning (the FSH source says error).
    if count(YJ_CODE) != 1 && count(KIKAKUBETSU) != 1 {
        out.push(Finding::warning(
            "R3010",
            s.path("medicationCodeableConcept.coding"),
            "for CLINS the medication needs a YJ code or a 規格別薬剤成分 code",
            "電子カルテ情報共有サービスでは、YJコードまたは規格別薬剤成分コードのいずれかが必要です",
        ));
    }
    if count(GENERIC_NAME_CODE) > 0 {
        out.push(Finding::info(
            "TSG-CODELIST",
            s.path("medicationCodeableConcept.coding"),
            "the JP-Core 一般名処方 code list is not in the package; the generic-name code cannot be judged",
            "JP-Coreの一般名処方マスタはパッケージに含まれないため、一般名コードは判定できません",
        ));
    }
    for (i, dosage) in items(r, "dosageInstruction").iter().enumerate() {
        let codings = dosage
            .pointer("/timing/code")
            .map(|c| items(c, "coding"))
            .unwrap_or_default();
        let uncoded = codings.iter().any(|c| {
            str_at(c, "/system") == Some(USAGE_UNCODED)
                && str_at(c, "/code") == Some(USAGE_UNCODED_CODE)
        });
        let coded = codings
            .iter()
            .any(|c| str_at(c, "/system") == Some(USAGE_EPRESCRIPTION));
        let path = s.path(&format!("dosageInstruction[{i}].timing.code"));
        if uncoded && coded {
            out.push(Finding::error(
                "R5021",
                path,
                "the MHLW usage code and the dummy usage code must not both be used",
                "厚労省用法コードとダミー用法コードを同時に使用してはなりません",
            ));
        } else if !uncoded && !coded {
            out.push(Finding::error(
                "R5020",
                path,
                "exactly one of the MHLW usage code (e-prescription) or the dummy usage code is required",
                "厚労省用法コード（電子処方箋）またはダミー用法コードのどちらか一方が必要です",
            ));
        }
    }
}
