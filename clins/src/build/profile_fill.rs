//! What the JP-CLINS profiles require of every resource that the builders can add from what
//! they know, shared by the 5情報 bundles ([`super::assemble`]) and the documents
//! ([`super::documents`]): `identifier:resourceIdentifier` (resourceInstance-identifier,
//! `<institution>-<letter><id>`) from the input's stable id, and `Condition.category`
//! `encounter-diagnosis`, which the IG fixes for CLINS (JP_Condition_eCS `Condition.category`:
//! 電子カルテ情報共有サービスでは、コード'encounter-diagnosis'とすること).

use serde_json::{json, Value};

use super::canonical::common::instance_identifier;
use super::clins::RESOURCE_INSTANCE_ID_SYSTEM;
use super::BuildSettings;

const CONDITION_CATEGORY_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/condition-category";

/// `Condition.category` for CLINS.
pub(crate) fn condition_category() -> Value {
    json!([{"coding": [{"system": CONDITION_CATEGORY_SYSTEM,
        "code": "encounter-diagnosis", "display": "Encounter Diagnosis"}]}])
}

/// Every identifier of a resource.
fn identifiers(resource: &Value) -> impl Iterator<Item = &Value> {
    resource
        .get("identifier")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// True when the resource has an identifier with this system and a value.
pub(crate) fn has_identifier(resource: &Value, system: &str) -> bool {
    identifiers(resource).any(|i| {
        i.get("system").and_then(Value::as_str) == Some(system)
            && i.get("value").and_then(Value::as_str).is_some()
    })
}

/// The value of the resource's first identifier with this system.
pub(crate) fn identifier_value<'v>(resource: &'v Value, system: &str) -> Option<&'v str> {
    identifiers(resource)
        .find(|i| i.get("system").and_then(Value::as_str) == Some(system))?
        .get("value")?
        .as_str()
}

/// Appends an identifier (making `identifier` a list when absent).
pub(crate) fn push_identifier(resource: &mut Value, identifier: Value) {
    match resource.get_mut("identifier") {
        Some(Value::Array(list)) => list.push(identifier),
        _ => resource["identifier"] = json!([identifier]),
    }
}

/// Adds the resourceInstance-identifier made from the stable id unless the resource has one;
/// false when it has none and there is no stable id.
pub(crate) fn resource_identifier(
    settings: &BuildSettings,
    resource: &mut Value,
    letter: char,
    stable_id: Option<&str>,
) -> bool {
    if has_identifier(resource, RESOURCE_INSTANCE_ID_SYSTEM) {
        return true;
    }
    let Some(id) = stable_id else {
        return false;
    };
    let made = instance_identifier(settings, letter, Some(id), id);
    push_identifier(resource, made[0].clone());
    true
}

/// Completes a 5情報 resource of `resource_type` (Condition, AllergyIntolerance, Observation)
/// as far as its own `id` allows: the resourceIdentifier (letter C, A or O) and, on a
/// Condition, the category. A resource without id or identifier stays as it is, and the
/// validator holds its bundle naming `identifier:resourceIdentifier`.
pub(crate) fn five_info(settings: &BuildSettings, resource: &mut Value, resource_type: &str) {
    let letter = resource_type.chars().next().unwrap_or('X');
    let id = resource
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_string);
    resource_identifier(settings, resource, letter, id.as_deref());
    if resource_type == "Condition" && resource.get("category").is_none() {
        resource["category"] = condition_category();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_five_info_resource_gets_an_identifier_from_its_id_and_a_condition_its_category() {
        let s = BuildSettings::new("1318814790", None).unwrap();
        let mut c = json!({"resourceType": "Condition", "id": "c-1"});
        five_info(&s, &mut c, "Condition");
        assert_eq!(
            identifier_value(&c, RESOURCE_INSTANCE_ID_SYSTEM),
            Some("1318814790-Cc-1")
        );
        assert_eq!(c["category"][0]["coding"][0]["code"], "encounter-diagnosis");
        let given = json!({"resourceType": "Observation", "id": "o-1", "identifier": [
            {"system": RESOURCE_INSTANCE_ID_SYSTEM, "value": "own"}]});
        let mut o = given.clone();
        five_info(&s, &mut o, "Observation");
        assert_eq!(
            o, given,
            "an identifier of the input is kept, nothing added"
        );
        let mut anonymous = json!({"resourceType": "AllergyIntolerance"});
        five_info(&s, &mut anonymous, "AllergyIntolerance");
        assert!(anonymous.get("identifier").is_none());
    }
}
