//! Canonical [`Patient`] → JP_Patient_eCS, and the check that a Patient can head a bundle.
//!
//! The resource carries: `id` (the local patient ID when it is a valid FHIR id, else a hash),
//! `meta` (profile, lastUpdated), identifiers (JP_Insurance_memberID when the record has one;
//! the 施設患者ID under `urn:oid:1.2.392.100495.20.3.51.1<institution>`, R1010), names
//! (漢字 `IDE`, カナ `SYL`; family, given, text joined by an ASCII space, no full-width
//! spaces: R1113), gender, birthDate and address.text.
//!
//! A Patient is remembered whatever it lacks (later records find it), but a bundle is headed
//! only by one that [`sendable`] accepts: exactly one well-formed JP_Insurance_memberID
//! (R1012/R1013, else `patient-no-insurance-id`) and the profile's required elements (else
//! `patient-incomplete`).

use crate::build::HoldReason;
use regex::Regex;
use serde_json::{json, Value};
use std::sync::OnceLock;
use tsunagi_adapters::{Gender, Patient, PersonName};

use super::super::clins::{
    resource_profile, INSURANCE_MEMBER_ID_SYSTEM, NAME_REPRESENTATION_EXTENSION,
};
use super::super::{BuildSettings, Held};
use super::common::{clean_text, short_hash};

/// `Patient/<id>` for a local patient ID: the ID itself when it is a FHIR id, else `h` and a
/// hash (so records of one patient always meet under the same key).
pub fn patient_key(local_id: &str) -> String {
    format!("Patient/{}", patient_id(local_id))
}

fn patient_id(local_id: &str) -> String {
    let valid = !local_id.is_empty()
        && local_id.len() <= 64
        && local_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if valid {
        local_id.to_string()
    } else {
        format!("h{}", short_hash(local_id))
    }
}

fn name(n: &PersonName, representation: &str) -> Option<Value> {
    let family = clean_text(n.family.expose());
    let given = clean_text(n.given.expose());
    if family.is_empty() && given.is_empty() {
        return None;
    }
    let text = [family.as_str(), given.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    let mut v = json!({"extension": [{"url": NAME_REPRESENTATION_EXTENSION, "valueCode": representation}],
                       "use": "official", "text": text});
    if !family.is_empty() {
        v["family"] = family.into();
    }
    if !given.is_empty() {
        v["given"] = json!([given]);
    }
    Some(v)
}

/// The JP_Patient_eCS resource of a canonical patient.
pub(crate) fn resource(settings: &BuildSettings, p: &Patient, timestamp: &str) -> Value {
    let local = p.local_id.expose();
    let mut identifier = Vec::new();
    if let Some(ins) = &p.insurance {
        identifier.push(json!({"system": INSURANCE_MEMBER_ID_SYSTEM,
                               "value": ins.member_id().expose()}));
    }
    if !local.is_empty() {
        identifier.push(json!({
            "system": format!("urn:oid:1.2.392.100495.20.3.51.1{}", settings.institution_number),
            "value": local}));
    }
    let names: Vec<Value> = [
        p.name_kanji.as_ref().and_then(|n| name(n, "IDE")),
        p.name_kana.as_ref().and_then(|n| name(n, "SYL")),
    ]
    .into_iter()
    .flatten()
    .collect();
    let gender = match p.gender {
        Gender::Male => "male",
        Gender::Female => "female",
        Gender::Other => "other",
        Gender::Unknown => "unknown",
    };
    let mut v = json!({
        "resourceType": "Patient",
        "id": patient_id(local),
        "meta": {"lastUpdated": timestamp, "profile": [resource_profile("Patient")]},
        "identifier": identifier,
        "name": names,
        "gender": gender,
    });
    if let Some(b) = &p.birth_date {
        v["birthDate"] = b.expose().as_str().into();
    }
    if let Some(a) = p.address.as_ref().map(|a| clean_text(a.expose())) {
        if !a.is_empty() {
            v["address"] = json!([{"text": a}]);
        }
    }
    v
}

fn member_id_format() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    // R1013 as written in the package (the `^` inside the classes are literal there too).
    RE.get_or_init(|| {
        Regex::new(r"^[0-9]{8}:[^:^\s^　]*:[^:^\s^　]*:(.{0}|[0-9][0-9])$").expect("static regex")
    })
}

/// Whether `patient` (a Patient resource, canonical or received as FHIR) can head a bundle.
pub fn sendable(patient: &Value, resource_type: &str) -> Result<(), Held> {
    let held = |code: HoldReason, en: &str, ja: &str| Held {
        reason_en: en.into(),
        reason_ja: ja.into(),
        resource_type: resource_type.into(),
        code,
        patient_ref: None,
    };
    let ids: Vec<&str> = patient
        .get("identifier")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|i| i.get("system").and_then(Value::as_str) == Some(INSURANCE_MEMBER_ID_SYSTEM))
        .map(|i| i.get("value").and_then(Value::as_str).unwrap_or_default())
        .collect();
    if ids.len() != 1 || !member_id_format().is_match(ids[0]) {
        return Err(held(
            HoldReason::PatientNoInsuranceId,
            "the patient has no single well-formed 被保険者識別子 (JP_Insurance_memberID, R1012/R1013); register the insurance in the EHR",
            "患者に被保険者識別子（保険者番号:記号:番号:枝番）が1つだけ正しい形式で登録されていません。電子カルテで保険情報を登録してください",
        ));
    }
    let has = |p: &str| patient.pointer(p).is_some_and(|v| !v.is_null());
    let complete = has("/name/0/text")
        && has("/name/0/family")
        && has("/name/0/given")
        && has("/gender")
        && has("/birthDate")
        && has("/address/0/text");
    if !complete {
        return Err(held(
            HoldReason::PatientIncomplete,
            "the patient lacks a name (family, given), gender, birth date or address, which JP_Patient_eCS requires",
            "患者の氏名（姓・名）・性別・生年月日・住所のいずれかがありません（JP_Patient_eCSの必須項目）",
        ));
    }
    let full_width_space = patient
        .get("name")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|n| n.get("text").and_then(Value::as_str))
        .any(|t| t.contains('\u{3000}'));
    if full_width_space {
        return Err(held(
            HoldReason::PatientIncomplete,
            "the patient's name contains a full-width space (R1113)",
            "患者氏名に全角空白が含まれています（R1113）",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tsunagi_adapters::InsuranceId;

    pub(crate) fn full_patient() -> Patient {
        Patient {
            local_id: "P0001".to_string().into(),
            insurance: Some(InsuranceId {
                insurer_number: "00012345".to_string().into(),
                symbol: "あいう".to_string().into(),
                number: "１８７".to_string().into(),
                branch: "05".to_string().into(),
            }),
            name_kanji: Some(PersonName {
                family: "試験\u{3000}".to_string().into(),
                given: "花子".to_string().into(),
            }),
            name_kana: Some(PersonName {
                family: "シケン".to_string().into(),
                given: "ハナコ".to_string().into(),
            }),
            gender: Gender::Female,
            birth_date: Some("1960-01-02".to_string().into()),
            address: Some("東京都千代田区".to_string().into()),
        }
    }

    #[test]
    fn a_full_patient_has_every_required_element() {
        let s = BuildSettings::new("1318814790", None).unwrap();
        let v = resource(&s, &full_patient(), "2025-06-02T10:15:00.250+09:00");
        assert_eq!(v["id"], "P0001");
        assert_eq!(v["identifier"][0]["value"], "00012345:あいう:１８７:05");
        assert_eq!(
            v["identifier"][1]["system"],
            "urn:oid:1.2.392.100495.20.3.51.11318814790"
        );
        assert_eq!(v["name"][0]["text"], "試験 花子");
        assert_eq!(v["name"][0]["extension"][0]["valueCode"], "IDE");
        assert_eq!(v["name"][1]["extension"][0]["valueCode"], "SYL");
        assert_eq!(v["gender"], "female");
        assert_eq!(v["birthDate"], "1960-01-02");
        assert_eq!(v["address"][0]["text"], "東京都千代田区");
        assert!(sendable(&v, "Condition").is_ok());
    }

    #[test]
    fn no_insurance_or_no_birth_date_is_not_sendable() {
        let s = BuildSettings::new("1318814790", None).unwrap();
        let mut p = full_patient();
        p.insurance = None;
        let v = resource(&s, &p, "t");
        assert_eq!(
            sendable(&v, "Patient").unwrap_err().code,
            HoldReason::PatientNoInsuranceId
        );
        let mut p = full_patient();
        p.birth_date = None;
        let v = resource(&s, &p, "t");
        assert_eq!(
            sendable(&v, "Patient").unwrap_err().code,
            HoldReason::PatientIncomplete
        );
    }

    #[test]
    fn odd_local_ids_become_hashed_fhir_ids() {
        assert_eq!(patient_key("P-1.2"), "Patient/P-1.2");
        let k = patient_key("患者 1");
        assert!(k.starts_with("Patient/h") && k.len() == "Patient/h".len() + 24);
    }
}
