//! JP-CLINS canonical URLs and code systems the builder writes and the validator checks.
//!
//! One place for every URI, so builder and validator cannot drift apart. Values come from the
//! official package jp-eCSCLINS.r4 1.10.0 (StructureDefinition-JP-Bundle-CLINS.json and the
//! resource profiles).

/// The 5情報 Bundle profile.
pub const BUNDLE_PROFILE: &str = "http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Bundle_CLINS";
/// The code system of the Bundle's `meta.tag` that declares the contained resource type.
pub const BUNDLE_RESOURCE_TYPE_CS: &str =
    "http://jpfhir.jp/fhir/clins/CodeSystem/BundleResourceType_CS";
/// `Bundle.identifier.system`.
pub const BUNDLE_IDENTIFIER_SYSTEM: &str = "http://jpfhir.jp/fhir/clins/bundle-identifier";
/// Extension carrying the 保険医療機関番号 on every non-Patient entry.
pub const INSTITUTION_EXTENSION: &str =
    "http://jpfhir.jp/fhir/clins/Extension/StructureDefinition/JP_eCS_InstitutionNumber";
/// Identifier system of the 保険医療機関番号.
pub const INSTITUTION_SYSTEM: &str =
    "http://jpfhir.jp/fhir/core/IdSystem/insurance-medical-institution-no";
/// Extension carrying the 診療科 on Condition and Observation.
pub const DEPARTMENT_EXTENSION: &str =
    "http://jpfhir.jp/fhir/eCS/Extension/StructureDefinition/JP_eCS_Department";
/// SS-MIX2 診療科 code system.
pub const DEPARTMENT_SYSTEM: &str = "http://jami.jp/SS-MIX2/CodeSystem/ClinicalDepartment";
/// 被保険者識別子 identifier system on the Patient.
pub const INSURANCE_MEMBER_ID_SYSTEM: &str =
    "http://jpfhir.jp/fhir/clins/Idsystem/JP_Insurance_memberID";

/// The resource types a 5情報 Bundle may carry after its Patient.
pub const FIVE_INFO_TYPES: [&str; 3] = ["AllergyIntolerance", "Condition", "Observation"];

/// The JP-CLINS profile a resource of this type must declare inside a JP_Bundle_CLINS.
pub fn resource_profile(resource_type: &str) -> Option<&'static str> {
    Some(match resource_type {
        "Patient" => "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Patient_eCS",
        "Condition" => "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Condition_eCS",
        "AllergyIntolerance" => {
            "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_AllergyIntolerance_eCS"
        }
        "Observation" => {
            "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Observation_LabResult_eCS"
        }
        _ => return None,
    })
}

/// True when `meta.profile` of `json` names `profile`, with or without a `|version` suffix.
pub fn declares_profile(json: &serde_json::Value, profile: &str) -> bool {
    tsunagi_adapters::profiles(json).any(|p| p == profile)
}

/// `identifier.system` of every clinical resource instance.
pub const RESOURCE_INSTANCE_ID_SYSTEM: &str =
    "http://jpfhir.jp/fhir/core/IdSystem/resourceInstance-identifier";
/// Code system of the LTS / UNINFORMED / UNDELIVERED `meta.tag` flags.
pub const INDICATION_CS: &str = "http://jpfhir.jp/fhir/clins/CodeSystem/JP_ehrshrs_indication";
/// JP-Core profiles of contained resources.
pub const CORE_ENCOUNTER_PROFILE: &str =
    "http://jpfhir.jp/fhir/core/StructureDefinition/JP_Encounter";
/// Contained Practitioner profile.
pub const CORE_PRACTITIONER_PROFILE: &str =
    "http://jpfhir.jp/fhir/core/StructureDefinition/JP_Practitioner";
/// Contained Specimen profile.
pub const CORE_SPECIMEN_PROFILE: &str =
    "http://jpfhir.jp/fhir/core/StructureDefinition/JP_Specimen";
/// JP_MedicationRequest_eCS (documents only).
pub const MEDICATION_REQUEST_PROFILE: &str =
    "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_MedicationRequest_eCS";
/// Extension marking a name as 漢字 (`IDE`) or カナ (`SYL`).
pub const NAME_REPRESENTATION_EXTENSION: &str =
    "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation";
/// 主病名 extension.
pub const DIAGNOSIS_TYPE_EXTENSION: &str =
    "http://jpfhir.jp/fhir/eCS/Extension/StructureDefinition/JP_eCS_DiagnosisType";
/// 接頭語 modifier extension (on `Condition.code`).
pub const PREFIX_MODIFIER_EXTENSION: &str =
    "http://jpfhir.jp/fhir/core/Extension/StructureDefinition/JP_Condition_DiseasePrefixModifier";
/// 接尾語 modifier extension (on `Condition.code`).
pub const POSTFIX_MODIFIER_EXTENSION: &str =
    "http://jpfhir.jp/fhir/core/Extension/StructureDefinition/JP_Condition_DiseasePostfixModifier";
/// MEDIS 修飾語管理番号.
pub const MODIFIER_KEY_SYSTEM: &str = "http://medis.or.jp/CodeSystem/master-disease-modKeyNumber";
/// MEDIS 修飾語交換用コード.
pub const MODIFIER_EXCODE_SYSTEM: &str = "http://medis.or.jp/CodeSystem/master-disease-modExCode";
/// LocalCode coding of every lab Observation (R6021).
pub const LAB_LOCAL_CODE_SYSTEM: &str =
    "http://jpfhir.jp/fhir/clins/CodeSystem/JP_CLINS_ObsLabResult_LocalCode_CS";
/// Uncoded lab marker system.
pub const LAB_UNCODED_SYSTEM: &str =
    "http://jpfhir.jp/fhir/clins/CodeSystem/JP_CLINS_ObsLabResult_Uncoded_CS";
/// Observation category system.
pub const OBSERVATION_CATEGORY_SYSTEM: &str =
    "http://jpfhir.jp/fhir/core/CodeSystem/JP_SimpleObservationCategory_CS";
