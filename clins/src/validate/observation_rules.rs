//! Built-in rules on an Observation (base R4 `obs-*`, JP_Observation_LabResult_eCS) and the
//! JP_Bundle_CLINS rules that single out Condition and Observation entries (R9013–R9019, R6021,
//! R6081).
//!
//! The context decides severity: on its own, a lab result without performer or local code is a
//! warning (`needs-performer-on-CLINS`, `warn-localCode-observation-laboresult`); inside a
//! JP_Bundle_CLINS the bundle's own invariants make both errors (R9017O, R6021).

use serde_json::Value;

use super::{items, str_at, Context, Finding, Severity, Subject};
use crate::build::clins::DEPARTMENT_EXTENSION;

const LOCAL_CODE_SYSTEM: &str =
    "http://jpfhir.jp/fhir/clins/CodeSystem/JP_CLINS_ObsLabResult_LocalCode_CS";
const JP_ENCOUNTER: [&str; 2] = [
    "http://jpfhir.jp/fhir/core/StructureDefinition/JP_Encounter",
    "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Encounter_eCS",
];
const JP_PRACTITIONER: [&str; 2] = [
    "http://jpfhir.jp/fhir/core/StructureDefinition/JP_Practitioner",
    "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Practitioner_eCS",
];

/// Runs the Observation rules; `profiled` when JP_Observation_LabResult_eCS applies.
pub(super) fn check(s: &Subject, profiled: bool, out: &mut Vec<Finding>) {
    let r = s.resource;
    let value = observation_value(r);
    if value.is_some() && r.get("dataAbsentReason").is_some() {
        out.push(Finding::error(
            "obs-6",
            s.path("dataAbsentReason"),
            "dataAbsentReason must be absent when a value is present",
            "値がある場合、dataAbsentReasonを記述してはなりません",
        ));
    }
    if value.is_some() {
        let own = r
            .pointer("/code")
            .map(|c| items(c, "coding"))
            .unwrap_or_default();
        let repeated = items(r, "component").iter().any(|c| {
            c.pointer("/code")
                .map(|cc| items(cc, "coding"))
                .unwrap_or_default()
                .iter()
                .any(|cd| own.contains(cd))
        });
        if repeated {
            out.push(Finding::error(
                "obs-7",
                s.path("component.code"),
                "a component must not repeat the Observation's own code when a value is present",
                "値がある場合、componentにObservation自身のcodeを繰り返してはなりません",
            ));
        }
    }
    for (i, range) in items(r, "referenceRange").iter().enumerate() {
        if ["low", "high", "text"]
            .iter()
            .all(|k| range.get(*k).is_none())
        {
            out.push(Finding::error(
                "obs-3",
                s.path(&format!("referenceRange[{i}]")),
                "a reference range needs low, high or text",
                "基準値にはlow・high・textのいずれかが必要です",
            ));
        }
    }
    if !profiled {
        return;
    }
    let quantity = r.get("valueQuantity");
    for (i, range) in items(r, "referenceRange").iter().enumerate() {
        for (end, rule) in [
            ("low", "referenceRangeLowUnits-isSameAs-resultValueUnits"),
            ("high", "referenceRangeHighUnits-isSameAs-resultValueUnits"),
        ] {
            let Some(bound) = range.get(end) else {
                continue;
            };
            let differs = ["unit", "code"].iter().any(|k| {
                bound
                    .get(*k)
                    .is_some_and(|u| quantity.and_then(|q| q.get(*k)) != Some(u))
            });
            if differs {
                out.push(Finding::error(
                    rule,
                    s.path(&format!("referenceRange[{i}].{end}")),
                    "the reference range's unit must be the same as the result value's unit",
                    "基準値の単位は検査結果値の単位と同一でなければなりません",
                ));
            }
        }
    }
    let clins = s.context == Context::ClinsEntry;
    if r.get("performer").is_none() {
        let (rule, sev) = if clins {
            ("R9017O", Severity::Error)
        } else {
            ("needs-performer-on-CLINS", Severity::Warning)
        };
        out.push(Finding::new(
            rule,
            sev,
            s.path("performer"),
            "a lab result sent to CLINS needs performer",
            "CLINSに送る検査結果にはperformerが必要です",
        ));
    }
    let local = r
        .pointer("/code")
        .map(|c| items(c, "coding"))
        .unwrap_or_default()
        .iter()
        .any(|c| str_at(c, "/system") == Some(LOCAL_CODE_SYSTEM));
    if !local {
        let (rule, sev) = if clins {
            ("R6021", Severity::Error)
        } else {
            ("warn-localCode-observation-laboresult", Severity::Warning)
        };
        out.push(Finding::new(
            rule,
            sev,
            s.path("code.coding"),
            "a lab result sent to CLINS needs a local code (JP_CLINS_ObsLabResult_LocalCode_CS)",
            "CLINSに送る検査結果にはローカルコード（JP_CLINS_ObsLabResult_LocalCode_CS）が必要です",
        ));
    }
    if clins {
        clins_department_and_encounter(s, false, out);
        clins_observation(s, out);
    }
}

/// `value[x]`, whichever type it has.
fn observation_value(r: &Value) -> Option<&Value> {
    r.as_object()?
        .iter()
        .find(|(k, _)| k.len() > 5 && k.starts_with("value"))
        .map(|(_, v)| v)
}

/// True when some contained resource declares one of `profiles` (exact, as the package's
/// `profile='…'` compares).
fn contains_profiled(r: &Value, profiles: &[&str]) -> bool {
    items(r, "contained").iter().any(|c| {
        c.pointer("/meta/profile")
            .and_then(Value::as_array)
            .is_some_and(|ps| {
                ps.iter()
                    .any(|p| p.as_str().is_some_and(|p| profiles.contains(&p)))
            })
    })
}

/// R9013C/R9014C (Condition) and R9013O/R9014O (Observation) in a JP_Bundle_CLINS: a contained
/// JP_Encounter and the department extension.
pub(super) fn clins_department_and_encounter(s: &Subject, condition: bool, out: &mut Vec<Finding>) {
    let r = s.resource;
    if !contains_profiled(r, &JP_ENCOUNTER) {
        let rule = if condition {
            "condition-needs-contained-of-Encounter"
        } else {
            "R9013O"
        };
        out.push(Finding::error(
            rule,
            s.path("contained"),
            "needs a contained Encounter declaring JP_Encounter or JP_Encounter_eCS",
            "JP_EncounterまたはJP_Encounter_eCSを宣言したcontained Encounterが必要です",
        ));
    }
    let department = items(r, "extension")
        .iter()
        .any(|e| str_at(e, "/url") == Some(DEPARTMENT_EXTENSION));
    if !department {
        out.push(Finding::error(
            if condition { "R9014C" } else { "R9014O" },
            s.path("extension"),
            "needs the JP_eCS_Department extension (診療科)",
            "診療科拡張（JP_eCS_Department）が必要です",
        ));
    }
}

/// R9016O, R9019O, R6081: encounter, contained Practitioner, no hasMember.
fn clins_observation(s: &Subject, out: &mut Vec<Finding>) {
    let r = s.resource;
    if r.get("encounter").is_none() {
        out.push(Finding::error(
            "R9016O",
            s.path("encounter"),
            "an Observation in a CLINS bundle needs encounter",
            "CLINSのObservationにはencounterが必要です",
        ));
    }
    if !contains_profiled(r, &JP_PRACTITIONER) {
        out.push(Finding::error(
            "R9019O",
            s.path("contained"),
            "needs a contained Practitioner declaring JP_Practitioner or JP_Practitioner_eCS",
            "JP_PractitionerまたはJP_Practitioner_eCSを宣言したcontained Practitionerが必要です",
        ));
    }
    if r.get("hasMember").is_some() {
        out.push(Finding::error(
            "R6081",
            s.path("hasMember"),
            "hasMember cannot be used in a CLINS bundle",
            "CLINSではhasMemberを使用できません",
        ));
    }
}
