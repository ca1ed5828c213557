//! Completing a document's entries to what their JP_*_eCS profiles require (1.10.0), from
//! what the agent knows; what it cannot know holds the document with a reason naming the
//! element.
//!
//! - **Organization** (`identifier:medicalInstitutionCode`, 1..1, the 10-digit 医療機関番号):
//!   kept when the input has it; else composed from the input's JP-Core extensions
//!   PrefectureNo (2) + InsuranceOrganizationCategory (1) + InsuranceOrganizationNo (7), as the
//!   IG's examples carry them; else, for the authoring organisation (the Composition's
//!   custodian or an author), `[agent] institution_number`; else (the receiving organisation of
//!   a referral, …) held: only the input can say which institution it is.
//! - **Condition**: `identifier:resourceIdentifier` (resourceInstance-identifier,
//!   `<institution>-C<id>`) from the input's stable id (`Condition.id`, else its fullUrl; a
//!   Condition with neither is held); `category` = `encounter-diagnosis` (the IG: 電子カルテ
//!   情報共有サービスでは encounter-diagnosis とすること); the displays of the standard
//!   clinicalStatus / verificationStatus codes (1..1 each); no verificationStatus holds.
//! - **MedicationRequest**: `authoredOn` and `dosageInstruction` come from the order only (held
//!   without them); `identifier:requestIdentifier` from the stable id as for Condition (when
//!   there is one; the slice is optional); `identifier:rpNumber` / `identifier:orderInRp`
//!   kept when given, else derived: an Rp (剤) is the drugs of the document with the same
//!   date, order group (`groupIdentifier`), 用法 (`dosageInstruction[0].timing`), route and
//!   days, numbered 1, 2, … in document order after the Rp numbers the input already uses; a
//!   drug's order in its Rp follows document order.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::incomplete;
use crate::build::clins::INSTITUTION_SYSTEM;
use crate::build::profile_fill::{
    condition_category, has_identifier, identifier_value, push_identifier, resource_identifier,
};
use crate::build::{BuildSettings, Held};

/// JP-Core Organization extensions whose codes compose the 医療機関番号: 都道府県番号 (2),
/// 点数表番号 (1), 医療機関コード (7).
const PREFECTURE_EXTENSION: &str =
    "http://jpfhir.jp/fhir/core/Extension/StructureDefinition/JP_Organization_PrefectureNo";
const CATEGORY_EXTENSION: &str = "http://jpfhir.jp/fhir/core/Extension/StructureDefinition/JP_Organization_InsuranceOrganizationCategory";
const ORGANIZATION_NO_EXTENSION: &str =
    "http://jpfhir.jp/fhir/core/Extension/StructureDefinition/JP_Organization_InsuranceOrganizationNo";
/// `MedicationRequest.identifier:rpNumber`.
pub(crate) const RP_NUMBER_SYSTEM: &str =
    "http://jpfhir.jp/fhir/core/mhlw/IdSystem/Medication-RPGroupNumber";
/// `MedicationRequest.identifier:orderInRp`.
pub(crate) const ORDER_IN_RP_SYSTEM: &str =
    "http://jpfhir.jp/fhir/core/mhlw/IdSystem/MedicationAdministrationIndex";
const CLINICAL_STATUS_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";
const VERIFICATION_STATUS_SYSTEM: &str =
    "http://terminology.hl7.org/CodeSystem/condition-ver-status";

/// One entry of the document being completed.
pub(super) struct Entry<'a> {
    /// Its fullUrl in the output.
    pub url: &'a str,
    /// The resource.
    pub resource: &'a mut Value,
    /// The input's stable id of it (`id`, else the input fullUrl); `None` for what the
    /// builder made itself (canonical prescriptions carry their own identifier).
    pub stable_id: Option<&'a str>,
}

/// Completes every entry after the Composition (see the module docs). `authoring` holds the
/// fullUrls of the Composition's custodian and authors.
pub(super) fn complete(
    settings: &BuildSettings,
    entries: &mut [Entry<'_>],
    authoring: &BTreeSet<String>,
) -> Result<(), Held> {
    for e in entries.iter_mut() {
        match e.resource.get("resourceType").and_then(Value::as_str) {
            Some("Organization") => organization(settings, e.resource, authoring.contains(e.url))?,
            Some("Condition") => condition(settings, e.resource, e.stable_id)?,
            Some("MedicationRequest") => medication(settings, e.resource, e.stable_id)?,
            _ => {}
        }
    }
    number_rps(entries);
    Ok(())
}

/// The 10-digit 医療機関番号 from the input's PrefectureNo, category and number extensions.
fn composed_institution_number(org: &Value) -> Option<String> {
    let ext = |url: &str, pointer: &str| {
        org.get("extension")
            .and_then(Value::as_array)?
            .iter()
            .find(|e| e.get("url").and_then(Value::as_str) == Some(url))?
            .pointer(pointer)?
            .as_str()
            .map(str::trim)
            .map(str::to_string)
    };
    let number = format!(
        "{}{}{}",
        ext(PREFECTURE_EXTENSION, "/valueCoding/code")?,
        ext(CATEGORY_EXTENSION, "/valueCoding/code")?,
        ext(ORGANIZATION_NO_EXTENSION, "/valueIdentifier/value")?
    );
    BuildSettings::new(number, None)
        .ok()
        .map(|s| s.institution_number)
}

fn organization(settings: &BuildSettings, org: &mut Value, authoring: bool) -> Result<(), Held> {
    if has_identifier(org, INSTITUTION_SYSTEM) {
        return Ok(());
    }
    let number = match composed_institution_number(org) {
        Some(n) => n,
        None if authoring => settings.institution_number.clone(),
        None => {
            return Err(incomplete(
                "an Organization of the document other than its author (e.g. the referral's addressee) lacks identifier:medicalInstitutionCode (its 10-digit 医療機関番号, system insurance-medical-institution-no), which JP_Organization_eCS requires; the input must carry it (as that identifier, or as the PrefectureNo, InsuranceOrganizationCategory and InsuranceOrganizationNo extensions)",
                "文書内の作成元以外のOrganization（紹介先など）にidentifier:medicalInstitutionCode（10桁の医療機関番号、system insurance-medical-institution-no）がありません。JP_Organization_eCSでは必須です。入力に、その識別子か、都道府県番号・点数表番号・医療機関コードの拡張で記載してください",
            ))
        }
    };
    push_identifier(org, json!({"system": INSTITUTION_SYSTEM, "value": number}));
    Ok(())
}

fn fill_display(concept: Option<&mut Value>, system: &str, display: fn(&str) -> Option<&str>) {
    let Some(list) = concept
        .and_then(|c| c.get_mut("coding"))
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for c in list.iter_mut().filter(|c| {
        c.get("system").and_then(Value::as_str) == Some(system) && c.get("display").is_none()
    }) {
        if let Some(d) = c.get("code").and_then(Value::as_str).and_then(display) {
            c["display"] = d.into();
        }
    }
}

fn clinical_display(code: &str) -> Option<&'static str> {
    Some(match code {
        "active" => "Active",
        "recurrence" => "Recurrence",
        "relapse" => "Relapse",
        "inactive" => "Inactive",
        "remission" => "Remission",
        "resolved" => "Resolved",
        _ => return None,
    })
}

fn verification_display(code: &str) -> Option<&'static str> {
    Some(match code {
        "unconfirmed" => "Unconfirmed",
        "provisional" => "Provisional",
        "differential" => "Differential",
        "confirmed" => "Confirmed",
        "refuted" => "Refuted",
        "entered-in-error" => "Entered in Error",
        _ => return None,
    })
}

fn condition(settings: &BuildSettings, c: &mut Value, stable_id: Option<&str>) -> Result<(), Held> {
    if !resource_identifier(settings, c, 'C', stable_id) {
        return Err(incomplete(
            "a Condition of the document has no id, fullUrl or resourceInstance-identifier to derive identifier:resourceIdentifier from, which JP_Condition_eCS requires",
            "文書内のConditionにid・fullUrl・resourceInstance-identifierのいずれもなく、JP_Condition_eCSで必須のidentifier:resourceIdentifierを作れません",
        ));
    }
    if c.get("verificationStatus").is_none() {
        return Err(incomplete(
            "a Condition of the document lacks verificationStatus (confirmed, or unconfirmed for a 疑い病名), which JP_Condition_eCS requires",
            "文書内のConditionにverificationStatus（確定はconfirmed、疑い病名はunconfirmed）がありません。JP_Condition_eCSでは必須です",
        ));
    }
    if c.get("category").is_none() {
        c["category"] = condition_category();
    }
    fill_display(
        c.get_mut("clinicalStatus"),
        CLINICAL_STATUS_SYSTEM,
        clinical_display,
    );
    fill_display(
        c.get_mut("verificationStatus"),
        VERIFICATION_STATUS_SYSTEM,
        verification_display,
    );
    Ok(())
}

fn medication(
    settings: &BuildSettings,
    m: &mut Value,
    stable_id: Option<&str>,
) -> Result<(), Held> {
    if m.get("authoredOn").and_then(Value::as_str).is_none() {
        return Err(incomplete(
            "a MedicationRequest of the document lacks authoredOn (the date of the order), which JP_MedicationRequest_eCS requires",
            "文書内のMedicationRequestにauthoredOn（処方日）がありません。JP_MedicationRequest_eCSでは必須です",
        ));
    }
    let dosage = m
        .get("dosageInstruction")
        .and_then(Value::as_array)
        .is_some_and(|d| !d.is_empty());
    if !dosage {
        return Err(incomplete(
            "a MedicationRequest of the document lacks dosageInstruction (用法), which JP_MedicationRequest_eCS requires",
            "文書内のMedicationRequestにdosageInstruction（用法）がありません。JP_MedicationRequest_eCSでは必須です",
        ));
    }
    resource_identifier(settings, m, 'M', stable_id);
    Ok(())
}

/// What makes two drugs one Rp (see the module docs).
fn rp_key(m: &Value) -> String {
    let part = |p: &str| m.pointer(p).map(Value::to_string).unwrap_or_default();
    [
        "/authoredOn",
        "/groupIdentifier/value",
        "/dosageInstruction/0/timing",
        "/dosageInstruction/0/route",
        "/dispenseRequest/expectedSupplyDuration/value",
    ]
    .iter()
    .map(|p| part(p))
    .collect::<Vec<_>>()
    .join("\u{1f}")
}

/// Gives every MedicationRequest its Rp number and order in the Rp (see the module docs).
fn number_rps(entries: &mut [Entry<'_>]) {
    let is_medication =
        |r: &Value| r.get("resourceType").and_then(Value::as_str) == Some("MedicationRequest");
    let used: BTreeSet<u64> = entries
        .iter()
        .filter(|e| is_medication(e.resource))
        .filter_map(|e| identifier_value(e.resource, RP_NUMBER_SYSTEM)?.parse().ok())
        .collect();
    let mut next = used.last().copied().unwrap_or(0);
    let mut by_key: BTreeMap<String, String> = BTreeMap::new();
    let mut in_rp: BTreeMap<String, u64> = BTreeMap::new();
    for e in entries.iter_mut().filter(|e| is_medication(e.resource)) {
        let rp = match identifier_value(e.resource, RP_NUMBER_SYSTEM) {
            Some(rp) => rp.to_string(),
            None => {
                let rp = by_key.entry(rp_key(e.resource)).or_insert_with(|| {
                    next += 1;
                    next.to_string()
                });
                let rp = rp.clone();
                push_identifier(e.resource, json!({"system": RP_NUMBER_SYSTEM, "value": rp}));
                rp
            }
        };
        let count = in_rp.entry(rp).or_insert(0);
        *count += 1;
        if !has_identifier(e.resource, ORDER_IN_RP_SYSTEM) {
            push_identifier(
                e.resource,
                json!({"system": ORDER_IN_RP_SYSTEM, "value": count.to_string()}),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::clins::RESOURCE_INSTANCE_ID_SYSTEM;
    use crate::build::HoldReason;

    fn settings() -> BuildSettings {
        BuildSettings::new("1318814790", None).unwrap()
    }

    fn run(resources: &mut [(&str, Value, Option<&str>)], authoring: &[&str]) -> Result<(), Held> {
        let authoring: BTreeSet<String> = authoring.iter().map(|s| s.to_string()).collect();
        let mut entries: Vec<Entry<'_>> = resources
            .iter_mut()
            .map(|(url, r, id)| Entry {
                url,
                resource: r,
                stable_id: *id,
            })
            .collect();
        complete(&settings(), &mut entries, &authoring)
    }

    fn value_of(r: &Value, system: &str) -> Option<String> {
        identifier_value(r, system).map(str::to_string)
    }

    #[test]
    fn the_author_gets_our_number_the_addressee_its_own_or_is_held() {
        let from = json!({"resourceType": "Organization", "name": "元"});
        let to = json!({"resourceType": "Organization", "name": "先", "extension": [
            {"url": PREFECTURE_EXTENSION, "valueCoding": {"code": "13"}},
            {"url": CATEGORY_EXTENSION, "valueCoding": {"code": "1"}},
            {"url": ORGANIZATION_NO_EXTENSION, "valueIdentifier": {"value": "1234567"}}]});
        let mut list = [("u:from", from, None), ("u:to", to.clone(), None)];
        run(&mut list, &["u:from"]).unwrap();
        assert_eq!(
            value_of(&list[0].1, INSTITUTION_SYSTEM).as_deref(),
            Some("1318814790")
        );
        assert_eq!(
            value_of(&list[1].1, INSTITUTION_SYSTEM).as_deref(),
            Some("1311234567")
        );
        let mut bare = to;
        bare.as_object_mut().unwrap().remove("extension");
        let held = run(&mut [("u:to", bare, None)], &["u:from"]).unwrap_err();
        assert_eq!(held.code, HoldReason::DocumentIncomplete);
        assert!(held.reason_en.contains("identifier:medicalInstitutionCode"));
        assert!(held.reason_ja.contains("医療機関番号"));
    }

    #[test]
    fn a_condition_gets_its_identifier_category_and_displays() {
        let c = json!({"resourceType": "Condition", "id": "cond-1",
            "clinicalStatus": {"coding": [{"system": CLINICAL_STATUS_SYSTEM, "code": "active"}]},
            "verificationStatus": {"coding": [{"system": VERIFICATION_STATUS_SYSTEM, "code": "confirmed"}]}});
        let mut list = [("u:c", c.clone(), Some("cond-1"))];
        run(&mut list, &[]).unwrap();
        let r = &list[0].1;
        assert_eq!(
            value_of(r, RESOURCE_INSTANCE_ID_SYSTEM).as_deref(),
            Some("1318814790-Ccond-1")
        );
        assert_eq!(r["category"][0]["coding"][0]["code"], "encounter-diagnosis");
        assert_eq!(r["clinicalStatus"]["coding"][0]["display"], "Active");
        assert_eq!(r["verificationStatus"]["coding"][0]["display"], "Confirmed");

        let held = run(&mut [("u:c", c.clone(), None)], &[]).unwrap_err();
        assert!(
            held.reason_en.contains("identifier:resourceIdentifier"),
            "{}",
            held.reason_en
        );
        let mut unverified = c;
        unverified
            .as_object_mut()
            .unwrap()
            .remove("verificationStatus");
        let held = run(&mut [("u:c", unverified, Some("x"))], &[]).unwrap_err();
        assert!(held.reason_en.contains("verificationStatus"));
    }

    fn drug(usage: &str) -> Value {
        json!({"resourceType": "MedicationRequest", "authoredOn": "2025-05-20",
            "dosageInstruction": [{"text": usage, "timing": {"code": {"text": usage}}}]})
    }

    #[test]
    fn drugs_with_one_usage_share_an_rp_in_document_order() {
        let mut list = [
            ("u:1", drug("朝食後"), Some("rx-1")),
            ("u:2", drug("毎食後"), Some("rx-2")),
            ("u:3", drug("朝食後"), None),
        ];
        run(&mut list, &[]).unwrap();
        let ids = |r: &Value| {
            (
                value_of(r, RP_NUMBER_SYSTEM).unwrap(),
                value_of(r, ORDER_IN_RP_SYSTEM).unwrap(),
            )
        };
        assert_eq!(ids(&list[0].1), ("1".into(), "1".into()));
        assert_eq!(ids(&list[1].1), ("2".into(), "1".into()));
        assert_eq!(ids(&list[2].1), ("1".into(), "2".into()));
        assert_eq!(
            value_of(&list[0].1, RESOURCE_INSTANCE_ID_SYSTEM).as_deref(),
            Some("1318814790-Mrx-1")
        );
    }

    #[test]
    fn an_order_without_date_or_usage_is_held_by_name() {
        let mut no_date = drug("朝食後");
        no_date.as_object_mut().unwrap().remove("authoredOn");
        let held = run(&mut [("u", no_date, None)], &[]).unwrap_err();
        assert!(held.reason_en.contains("authoredOn") && held.reason_ja.contains("処方日"));
        let mut no_usage = drug("朝食後");
        no_usage["dosageInstruction"] = json!([]);
        let held = run(&mut [("u", no_usage, None)], &[]).unwrap_err();
        assert!(held.reason_en.contains("dosageInstruction"));
    }
}
