//! The list of built-in rules: the key a finding carries, the package's constraint key it
//! implements, and the severity 1.10.0 gives it. Used by the coverage listing and by the
//! tests that make every rule pass and fail once.

use super::Severity;

/// One built-in rule.
#[derive(Debug, Clone, Copy)]
pub struct RuleInfo {
    /// What [`super::Finding::rule`] says.
    pub rule: &'static str,
    /// The package's constraint key, or "" for the agent's own (`TSG-…`) and cardinality rules.
    pub package_key: &'static str,
    /// The severity the rule reports with.
    pub severity: Severity,
}

const fn r(rule: &'static str, package_key: &'static str, severity: Severity) -> RuleInfo {
    RuleInfo {
        rule,
        package_key,
        severity,
    }
}

use Severity::{Error as E, Info as I, Warning as W};

/// Every built-in rule.
pub const RULES: &[RuleInfo] = &[
    // JP_Bundle_CLINS
    r("R0213", "bundle-profile-is-JP-Bundle-CLINS", E),
    r("R02141", "bundle-meta-tag-resourceType-exists", E),
    r("R02142", "bundle-meta-tag-resourceType-valid", E),
    r(
        "R02143",
        "mustHaveOneMoreResources-with-designatedResourceType",
        E,
    ),
    r("R02151", "valid-system-bundleIdenfifier", E),
    r("R2152", "valid-value-bundleIdenfifier", E),
    r(
        "R9011",
        "all-entries-needs-extension-of-institutionNumber",
        E,
    ),
    r("R9012", "all-entries-needs-valid-institutionNumber", E),
    r(
        "condition-needs-contained-of-Encounter",
        "condition-needs-contained-of-Encounter",
        E,
    ),
    r("R9014C", "condition-needs-extension-of-Department", E),
    r("R9013C", "condition-needs-onsetDateTime", E),
    r("R9013O", "observation-needs-contained-of-Encounter", E),
    r("R9014O", "observation-needs-extension-of-Department", E),
    r("R9017O", "observation-needs-performer", E),
    r("R9019O", "observation-needs-contained-of-Practitioner", E),
    r("R9016O", "observation-needs-encounter", E),
    r("R6081", "observation-has-no-hasMember", E),
    r("R6021", "needs-localCode-observation-laboresult", E),
    r("R0211", "first-bundle-entry-is-Patient", E),
    r("R0212", "patients-profile-is-JP-Patient-eCS", E),
    r(
        "validEntryProfile-AllergyIntolerance",
        "validEntryProfile-AllergyIntolerance",
        E,
    ),
    r(
        "validEntryProfile-Condition",
        "validEntryProfile-Condition",
        E,
    ),
    r(
        "validEntryProfile-MedicationRequest",
        "validEntryProfile-MedicationRequest",
        E,
    ),
    r(
        "validEntryProfile-ObservationLabResult",
        "validEntryProfile-ObservationLabResult",
        E,
    ),
    r("TSG-RESOURCE-TYPE", "", E),
    r("TSG-BUNDLE-TYPE", "", E),
    r("TSG-TIMESTAMP", "", E),
    r("TSG-LAST-UPDATED", "", E),
    r("TSG-ONE-TYPE", "", E),
    r("TSG-FULLURL", "", E),
    r("TSG-CODE-TEXT", "", E),
    r("TSG-PRIMITIVE", "", E),
    // Document bundles
    r("bdl-9", "bdl-9", E),
    r("bdl-10", "bdl-10", E),
    r("bdl-11", "bdl-11", E),
    r(
        "checkExist-CDASection-or-CompositionSection",
        "checkExist-CDASection-or-CompositionSection",
        E,
    ),
    r(
        "checkExist-CDASection-or-structuredSection",
        "checkExist-CDASection-or-structuredSection",
        E,
    ),
    // JP_Patient_eCS
    r("R1010", "valid-system-local-patientID", E),
    r("R1012", "valid-system-insurance-patientIdentifier", E),
    r("R1013", "valid-value-insurance-patientIdentifier", E),
    r(
        "R1113",
        "kanjiName-kanaName-donot-contain-ZenkakuKuuhaku",
        E,
    ),
    // JP_Condition_eCS (+ base R4)
    r("con-3", "con-3", W),
    r("con-4", "con-4", E),
    r("con-5", "con-5", E),
    // JP_AllergyIntolerance_eCS (+ base R4)
    r("ait-1", "ait-1", E),
    r("ait-2", "ait-2", E),
    // Cardinalities of the 1.10.0 differentials the built-in layer knows (status display…)
    r("SD-CARD", "", E),
    // JP_Observation_LabResult_eCS (+ base R4)
    r("obs-3", "obs-3", E),
    r("obs-6", "obs-6", E),
    r("obs-7", "obs-7", E),
    r("needs-performer-on-CLINS", "needs-performer-on-CLINS", W),
    r(
        "warn-localCode-observation-laboresult",
        "warn-localCode-observation-laboresult",
        W,
    ),
    r(
        "referenceRangeLowUnits-isSameAs-resultValueUnits",
        "referenceRangeLowUnits-isSameAs-resultValueUnits",
        E,
    ),
    r(
        "referenceRangeHighUnits-isSameAs-resultValueUnits",
        "referenceRangeHighUnits-isSameAs-resultValueUnits",
        E,
    ),
    // JP_MedicationRequest_eCS / JP_MedicationDosage_eCS
    r(
        "R3010",
        "warning-anyOf-YJ-or-KikakubetsuYakuzaiSeibun-medicationCode",
        W,
    ),
    r("R5020", "validUsage-MedicationUsage-codesystem", E),
    r("R5021", "invalidUsage-MedicationUsage-codesystem", E),
    r("TSG-CODELIST", "", I),
    r("TSG-PROFILE", "", I),
];

/// The package keys the built-in layer implements.
pub fn implemented_keys() -> impl Iterator<Item = &'static str> {
    RULES
        .iter()
        .map(|r| r.package_key)
        .filter(|k| !k.is_empty())
}
