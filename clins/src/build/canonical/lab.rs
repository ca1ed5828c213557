//! Canonical [`LabResult`] → JP_Observation_LabResult_eCS.
//!
//! The resource carries: meta (profile, lastUpdated, LTS only for designated infection
//! items, R6031), contained Encounter (`#encounter`), Specimen (`#specimen`, the 材料 code
//! and text) and Practitioner (`#performer`: SS-MIX2 results name no performer, so it is the
//! institution's laboratory, `検査部門`), extensions (institution, department), identifier,
//! status, category `laboratory`, code (LocalCode always, sanitised to `[A-Za-z0-9_-]` with
//! `_<material>` when [`Specimens::needs_suffix`]; plus the standard coding from
//! [`Terminology::lab`] or the uncoded JLAC marker; text = item name), subject, encounter,
//! effectiveDateTime (= collection time, required), performer, specimen, the value
//! (valueQuantity when numeric, valueCodeableConcept, valueString), interpretation and
//! referenceRange (low/high in the value's unit when `a-b` parses, else text).

use crate::build::HoldReason;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};
use tsunagi_adapters::{LabResult, LabValue};

use super::super::clins::{
    resource_profile, CORE_PRACTITIONER_PROFILE, CORE_SPECIMEN_PROFILE, LAB_LOCAL_CODE_SYSTEM,
    LAB_UNCODED_SYSTEM, OBSERVATION_CATEGORY_SYSTEM,
};
use super::super::terminology::{SourceRef, Terminology};
use super::super::{BuildSettings, Held};
use super::common::{
    clean_text, coding, coding3, department, encounter, instance_identifier, institution, meta,
    missing, outcome_held,
};
use super::RecordExtras;

const INFECTION_SYSTEM_PART: &str = "InfectionLabo";

/// Which local codes of one input were seen with more than one specimen.
#[derive(Debug, Default)]
pub(crate) struct Specimens(BTreeMap<String, BTreeSet<String>>);

impl Specimens {
    /// Counts the specimens of every local code in `labs`.
    pub(crate) fn of<'a>(labs: impl Iterator<Item = &'a LabResult>) -> Self {
        let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for l in labs {
            let specimen = l
                .specimen
                .as_ref()
                .map(|s| s.code.clone())
                .unwrap_or_default();
            map.entry(l.local_code.code.clone())
                .or_default()
                .insert(specimen);
        }
        Specimens(map)
    }

    /// Whether `local_code` needs the `_<material>` suffix to stay unambiguous.
    pub(crate) fn needs_suffix(&self, local_code: &str) -> bool {
        self.0.get(local_code).is_some_and(|s| s.len() > 1)
    }
}

/// The LocalCode code: only `[A-Za-z0-9_-]`, other characters become `-`.
pub(crate) fn sanitise(code: &str) -> String {
    code.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn status(raw: Option<&str>) -> &'static str {
    match raw {
        Some("C") => "corrected",
        Some("P") | Some("I") | Some("R") | Some("S") => "preliminary",
        Some("X") => "cancelled",
        Some("D") | Some("W") => "entered-in-error",
        _ => "final",
    }
}

fn interpretation(flag: &str) -> Option<Value> {
    let display = match flag {
        "H" => "High",
        "L" => "Low",
        "HH" => "Critical high",
        "LL" => "Critical low",
        "N" => "Normal",
        "A" => "Abnormal",
        "AA" => "Critical abnormal",
        "POS" => "Positive",
        "NEG" => "Negative",
        _ => return None,
    };
    Some(json!([{"coding": [coding3(
        "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", flag, display)]}]))
}

fn quantity(value: &str, unit: Option<&str>) -> Option<Value> {
    let number: serde_json::Number = value.trim().parse().ok()?;
    let mut q = json!({"value": number});
    if let Some(u) = unit.filter(|u| !u.trim().is_empty()) {
        q["unit"] = u.into();
    }
    Some(q)
}

fn reference_range(raw: &str, unit: Option<&str>, numeric: bool) -> Value {
    if numeric {
        if let Some((low, high)) = raw.split_once(['-', '～', '~']) {
            let (low, high) = (quantity(low, unit), quantity(high, unit));
            if low.is_some() || high.is_some() {
                let mut r = json!({});
                if let Some(l) = low {
                    r["low"] = l;
                }
                if let Some(h) = high {
                    r["high"] = h;
                }
                return json!([r]);
            }
        }
    }
    json!([{"text": clean_text(raw)}])
}

/// The JP_Observation_LabResult_eCS resource, or why it is held.
#[allow(clippy::too_many_arguments)]
pub(crate) fn resource(
    settings: &BuildSettings,
    term: &dyn Terminology,
    source: &SourceRef<'_>,
    l: &LabResult,
    specimens: &Specimens,
    extras: &RecordExtras,
    subject: &str,
    timestamp: &str,
) -> Result<Value, Held> {
    let Some(collected) = l.collected_at.as_deref() else {
        return Err(missing(
            "Observation",
            HoldReason::ObservationIncomplete,
            "the result has no specimen collection time (effectiveDateTime is required)",
            "検体採取日時がありません（effectiveDateTimeは必須）",
        ));
    };
    let answer = term.lab(source, l);
    if let Some(held) = outcome_held(&answer.outcome, "Observation") {
        return Err(held);
    }
    let name = answer
        .local_display
        .clone()
        .or_else(|| l.local_code.display.clone())
        .map(|d| clean_text(&d))
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| l.local_code.code.clone());
    let mut local = sanitise(&l.local_code.code);
    let specimen_code = l.specimen.as_ref().map(|s| sanitise(&s.code));
    if let Some(material) = specimen_code
        .as_ref()
        .filter(|_| specimens.needs_suffix(&l.local_code.code))
    {
        local = format!("{local}_{material}");
    }
    let standard = match &answer.standard {
        Some(c) => coding(c),
        None => coding3(
            LAB_UNCODED_SYSTEM,
            "99999999999999999",
            "未標準化コード項目(JLAC)",
        ),
    };
    let infection = answer
        .standard
        .as_ref()
        .is_some_and(|c| c.system.contains(INFECTION_SYSTEM_PART));
    let extras = RecordExtras {
        lts: extras.lts && infection,
        ..extras.clone()
    };
    let Some(dept) = department(None, settings) else {
        return Err(missing(
            "Observation",
            HoldReason::DepartmentUnknown,
            "no default department configured; JP_Bundle_CLINS requires one on every Observation (R9014O)",
            "既定の診療科が設定されていません（JP_Bundle_CLINSでは全Observationに診療科が必須、R9014O）",
        ));
    };
    let specimen_text = l
        .specimen
        .as_ref()
        .and_then(|s| s.display.clone())
        .map(|d| clean_text(&d))
        .unwrap_or_else(|| "検体".to_string());
    let mut specimen = json!({"resourceType": "Specimen", "id": "specimen",
        "meta": {"profile": [CORE_SPECIMEN_PROFILE]}, "type": {"text": specimen_text}});
    if let Some(s) = &l.specimen {
        specimen["type"]["coding"] = json!([coding3(
            "http://jpfhir.jp/fhir/core/CodeSystem/JP_ObservationSampleMaterialCode_CS",
            &s.code,
            &specimen_text
        )]);
    }
    let performer = json!({"resourceType": "Practitioner", "id": "performer",
        "meta": {"profile": [CORE_PRACTITIONER_PROFILE]}, "name": [{"text": "検査部門"}]});
    let identity = format!(
        "{subject}\u{1f}{}\u{1f}{}\u{1f}{collected}\u{1f}{local}",
        l.report_id.as_deref().unwrap_or_default(),
        l.local_code.code
    );
    let mut v = json!({
        "resourceType": "Observation",
        "meta": meta(resource_profile("Observation").unwrap_or_default(), timestamp, &extras, false),
        "contained": [encounter(&extras), specimen, performer],
        "extension": [institution(settings), dept],
        "identifier": instance_identifier(settings, 'O', None, &identity),
        "status": status(l.status.as_deref()),
        "category": [{"coding": [coding3(OBSERVATION_CATEGORY_SYSTEM, "laboratory", "検査")]}],
        "code": {"coding": [coding3(LAB_LOCAL_CODE_SYSTEM, &local, &name), standard], "text": name},
        "subject": {"reference": subject},
        "encounter": {"reference": "#encounter"},
        "effectiveDateTime": collected,
        "performer": [{"reference": "#performer"}],
        "specimen": {"reference": "#specimen"},
    });
    let unit = l.unit.as_deref();
    let mut numeric = false;
    match &l.value {
        Some(LabValue::Numeric(n)) => match quantity(n, unit) {
            Some(q) => {
                numeric = true;
                v["valueQuantity"] = q;
            }
            None => v["valueString"] = clean_text(n).into(),
        },
        Some(LabValue::Coded(c)) => {
            let display = c.display.clone().unwrap_or_else(|| c.code.clone());
            v["valueCodeableConcept"] = json!({"coding": [coding3(&c.system, &c.code, &display)],
                                               "text": display});
        }
        Some(LabValue::Text(t)) => v["valueString"] = clean_text(t.expose()).into(),
        None => {}
    }
    if let Some(i) = l.flag.as_deref().and_then(interpretation) {
        v["interpretation"] = i;
    }
    if let Some(r) = l
        .reference_range
        .as_deref()
        .filter(|r| !r.trim().is_empty())
    {
        v["referenceRange"] = reference_range(r, unit, numeric);
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_codes_are_sanitised() {
        assert_eq!(sanitise("0198 394/a_b-c"), "0198-394-a_b-c");
    }

    #[test]
    fn ranges_share_the_value_unit_or_stay_text() {
        let r = reference_range("3.5-5.0", Some("g/dL"), true);
        assert_eq!(r[0]["low"], json!({"value": 3.5, "unit": "g/dL"}));
        assert_eq!(r[0]["high"]["value"], json!(5.0));
        assert_eq!(reference_range("陰性", None, true)[0]["text"], "陰性");
        assert_eq!(reference_range("1-2", None, false)[0]["text"], "1-2");
    }
}
