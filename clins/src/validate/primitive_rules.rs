//! TSG-PRIMITIVE: every element whose FHIR R4 type is a checked primitive ([`Primitive`]) holds a
//! valid value of it, in every resource of a document (bundle entries and contained resources
//! included).
//!
//! Which element has which type, without the package at run time:
//! - on every resource: `id` (id), `implicitRules` (uri), `language` (code);
//! - per resource type, [`RESOURCE_ELEMENTS`]: the dates, times and codes of the types JP-CLINS
//!   bundles and documents carry (`Patient.birthDate`, `Observation.issued`, `Bundle.timestamp`…);
//! - choice elements by their name (`onsetDateTime`, `effectiveInstant`, `valueCode`…, see
//!   [`choice`]);
//! - inside the data types met everywhere ([`DataType`]): Coding (`system`, `code`), Identifier,
//!   Period, Quantity, Meta (`lastUpdated`, `versionId`, `profile`), Extension (`url`),
//!   ContactPoint, Address, HumanName, Narrative.
//!
//! A finding names the element's path and what a valid value looks like, never the value (a
//! birth date is patient data).

use serde_json::{Map, Value};

use super::primitives::Primitive::{self, Code, Date, DateTime, Decimal, Id, Instant, Uri};
use super::Finding;

/// Primitive elements of resources, by (resource type, path without indices).
const RESOURCE_ELEMENTS: &[(&str, &str, Primitive)] = &[
    ("Patient", "birthDate", Date),
    ("Patient", "gender", Code),
    ("Practitioner", "birthDate", Date),
    ("Practitioner", "gender", Code),
    ("Condition", "recordedDate", DateTime),
    ("Observation", "status", Code),
    ("Observation", "issued", Instant),
    ("AllergyIntolerance", "type", Code),
    ("AllergyIntolerance", "category", Code),
    ("AllergyIntolerance", "criticality", Code),
    ("AllergyIntolerance", "recordedDate", DateTime),
    ("AllergyIntolerance", "lastOccurrence", DateTime),
    ("AllergyIntolerance", "reaction.onset", DateTime),
    ("AllergyIntolerance", "reaction.severity", Code),
    ("MedicationRequest", "status", Code),
    ("MedicationRequest", "intent", Code),
    ("MedicationRequest", "priority", Code),
    ("MedicationRequest", "authoredOn", DateTime),
    (
        "MedicationRequest",
        "dosageInstruction.timing.event",
        DateTime,
    ),
    ("Composition", "status", Code),
    ("Composition", "confidentiality", Code),
    ("Composition", "date", DateTime),
    ("Composition", "attester.mode", Code),
    ("Composition", "attester.time", DateTime),
    ("Composition", "section.mode", Code),
    ("Bundle", "type", Code),
    ("Bundle", "timestamp", Instant),
    ("Bundle", "link.url", Uri),
    ("Bundle", "entry.fullUrl", Uri),
    ("Bundle", "entry.request.method", Code),
    ("Bundle", "entry.request.url", Uri),
    ("Encounter", "status", Code),
    ("DiagnosticReport", "status", Code),
    ("DiagnosticReport", "issued", Instant),
    ("DocumentReference", "status", Code),
    ("DocumentReference", "date", Instant),
    ("Specimen", "receivedTime", DateTime),
    ("Immunization", "status", Code),
    ("Immunization", "recorded", DateTime),
];

/// Prefixes of the choice elements (`[x]`) whose type is named in their suffix.
const CHOICE_PREFIXES: &[&str] = &[
    "value",
    "onset",
    "abatement",
    "effective",
    "deceased",
    "occurrence",
    "performed",
    "multipleBirth",
    "asNeeded",
    "born",
    "collected",
    "serviced",
];

/// The type of a choice element named `key` (`onsetDateTime` → dateTime), if checked.
fn choice(key: &str) -> Option<Primitive> {
    let suffix = CHOICE_PREFIXES.iter().find_map(|p| key.strip_prefix(p))?;
    Some(match suffix {
        "Date" => Date,
        "DateTime" => DateTime,
        "Instant" => Instant,
        "Decimal" => Decimal,
        "Code" => Code,
        "Id" => Id,
        "Uri" | "Url" | "Canonical" | "Oid" | "Uuid" => Uri,
        _ => return None,
    })
}

/// The data types whose primitive children are known wherever they appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DataType {
    Coding,
    Identifier,
    Period,
    Quantity,
    Meta,
    Extension,
    ContactPoint,
    Address,
    HumanName,
    Narrative,
}

impl DataType {
    /// The data type of the object (or objects) under `key`, when it is one of ours.
    fn of(key: &str, value: &Value, parent: Option<DataType>, resource_type: &str) -> Option<Self> {
        let objects = match value {
            Value::Array(a) => a.iter().all(Value::is_object),
            v => v.is_object(),
        };
        if !objects {
            return None;
        }
        Some(match key {
            "coding" | "valueCoding" => DataType::Coding,
            "tag" | "security" if parent == Some(DataType::Meta) => DataType::Coding,
            "class" if resource_type == "Encounter" && parent.is_none() => DataType::Coding,
            "identifier" => DataType::Identifier,
            "meta" => DataType::Meta,
            "extension" | "modifierExtension" => DataType::Extension,
            "telecom" => DataType::ContactPoint,
            "address" => DataType::Address,
            "name" => DataType::HumanName,
            "text" => DataType::Narrative,
            "period" => DataType::Period,
            "quantity" | "doseQuantity" | "low" | "high" | "numerator" | "denominator"
            | "valueQuantity" | "valueAge" | "onsetAge" | "abatementAge" => DataType::Quantity,
            k if k.ends_with("Period") => DataType::Period,
            k if k.ends_with("Quantity") => DataType::Quantity,
            _ => return None,
        })
    }

    fn primitive(self, key: &str) -> Option<Primitive> {
        use DataType as D;
        Some(match (self, key) {
            (D::Coding, "system") | (D::Identifier, "system") | (D::Quantity, "system") => Uri,
            (D::Coding, "code") | (D::Quantity, "code") | (D::Quantity, "comparator") => Code,
            (D::Identifier, "use") | (D::HumanName, "use") | (D::Address, "use") => Code,
            (D::Address, "type") | (D::ContactPoint, "system") | (D::ContactPoint, "use") => Code,
            (D::Narrative, "status") => Code,
            (D::Period, "start") | (D::Period, "end") => DateTime,
            (D::Quantity, "value") => Decimal,
            (D::Meta, "lastUpdated") => Instant,
            (D::Meta, "versionId") => Id,
            (D::Meta, "profile") | (D::Meta, "source") | (D::Extension, "url") => Uri,
            _ => return None,
        })
    }
}

/// Where the walk is: the resource, the path inside it without indices, and the data type of
/// the object being looked at (`None` for the resource and its backbone elements).
#[derive(Clone, Copy)]
struct Place<'a> {
    resource_type: &'a str,
    rel: &'a str,
    data_type: Option<DataType>,
}

/// Checks `doc` (a resource, usually a Bundle) found at `at` (`Bundle`, `Patient`).
pub(super) fn check(doc: &Value, at: &str, out: &mut Vec<Finding>) {
    if let Some(obj) = doc.as_object() {
        resource(obj, at, out);
    }
}

fn resource(obj: &Map<String, Value>, at: &str, out: &mut Vec<Finding>) {
    let resource_type = obj
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let place = Place {
        resource_type,
        rel: "",
        data_type: None,
    };
    object(obj, place, at, out);
}

fn primitive_of(place: Place<'_>, key: &str, rel: &str) -> Option<Primitive> {
    if let Some(dt) = place.data_type {
        return dt.primitive(key).or_else(|| choice(key));
    }
    if place.rel.is_empty() {
        match key {
            "id" => return Some(Id),
            "implicitRules" => return Some(Uri),
            "language" => return Some(Code),
            _ => {}
        }
    }
    RESOURCE_ELEMENTS
        .iter()
        .find(|(t, p, _)| *t == place.resource_type && *p == rel)
        .map(|(_, _, kind)| *kind)
        .or_else(|| choice(key))
}

fn object(obj: &Map<String, Value>, place: Place<'_>, at: &str, out: &mut Vec<Finding>) {
    for (key, value) in obj {
        if key == "resourceType" {
            continue;
        }
        let rel = if place.rel.is_empty() {
            key.clone()
        } else {
            format!("{}.{key}", place.rel)
        };
        let path = format!("{at}.{key}");
        if let Some(kind) = primitive_of(place, key, &rel) {
            each(value, &path, |v, p| {
                if !kind.accepts(v) {
                    out.push(finding(kind, p));
                }
            });
            continue;
        }
        let data_type = DataType::of(key, value, place.data_type, place.resource_type);
        let child = Place {
            resource_type: place.resource_type,
            rel: &rel,
            data_type,
        };
        each(value, &path, |v, p| {
            let Some(o) = v.as_object() else { return };
            if o.contains_key("resourceType") {
                resource(o, p, out);
            } else {
                object(o, child, p, out);
            }
        });
    }
}

/// Calls `f` on the value, or on each item of an array with its index in the path.
fn each(value: &Value, path: &str, mut f: impl FnMut(&Value, &str)) {
    match value {
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                f(v, &format!("{path}[{i}]"));
            }
        }
        v => f(v, path),
    }
}

fn finding(kind: Primitive, path: &str) -> Finding {
    let (en, ja) = kind.expectation();
    Finding::error("TSG-PRIMITIVE", path, en, ja)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(doc: &Value) -> Vec<String> {
        let mut out = Vec::new();
        check(doc, "Bundle", &mut out);
        assert!(out.iter().all(|f| f.rule == "TSG-PRIMITIVE"));
        let mut paths: Vec<String> = out.into_iter().map(|f| f.path).collect();
        paths.sort();
        paths
    }

    #[test]
    fn finds_bad_primitives_in_entries_data_types_and_choices() {
        let doc = json!({
            "resourceType": "Bundle",
            "id": "b 1",
            "timestamp": "2025-06-02T10:15:00.000+09:00",
            "meta": {"lastUpdated": "2025-02-30T10:00:00Z", "tag": [{"system": "urn x", "code": "ok"}]},
            "entry": [
                {"fullUrl": "urn:uuid:1", "resource": {
                    "resourceType": "Patient", "id": "p1", "birthDate": "1985-13-45",
                    "gender": "female ",
                    "identifier": [{"system": "urn:oid:1.2", "value": "any text"}],
                    "address": [{"text": "東京", "use": ""}]}},
                {"resource": {
                    "resourceType": "Condition", "id": "c1",
                    "onsetDateTime": "2023-02-29",
                    "recordedDate": "2024-02-29",
                    "abatementPeriod": {"start": "2025-06-02T24:00:00+09:00"},
                    "code": {"coding": [{"system": "http://x", "code": "a  b"}], "text": "胃炎"},
                    "extension": [{"url": "http://e", "valueDate": "2025-04-31"}],
                    "contained": [{"resourceType": "Encounter", "id": "_e",
                                   "class": {"code": "AMB"}}]}},
                {"resource": {
                    "resourceType": "Observation", "id": "o1", "status": "final",
                    "issued": "2025-06-02",
                    "effectiveDateTime": "2025-06-02T10:00:00+09:00",
                    "valueQuantity": {"value": "5.1", "unit": "mg/dL"},
                    "referenceRange": [{"low": {"value": 1}}]}}
            ]
        });
        assert_eq!(
            paths(&doc),
            [
                "Bundle.entry[0].resource.address[0].use",
                "Bundle.entry[0].resource.birthDate",
                "Bundle.entry[0].resource.gender",
                "Bundle.entry[1].resource.abatementPeriod.start",
                "Bundle.entry[1].resource.code.coding[0].code",
                "Bundle.entry[1].resource.contained[0].id",
                "Bundle.entry[1].resource.extension[0].valueDate",
                "Bundle.entry[1].resource.onsetDateTime",
                "Bundle.entry[2].resource.issued",
                "Bundle.entry[2].resource.valueQuantity.value",
                "Bundle.id",
                "Bundle.meta.lastUpdated",
                "Bundle.meta.tag[0].system",
            ]
        );
    }

    #[test]
    fn findings_never_quote_the_value() {
        let doc = json!({"resourceType": "Patient", "birthDate": "1985-13-45"});
        let mut out = Vec::new();
        check(&doc, "Patient", &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].path, "Patient.birthDate");
        let shown = out[0].to_string();
        assert!(
            !shown.contains("1985") && shown.contains("not a valid date"),
            "{shown}"
        );
    }

    #[test]
    fn strings_that_are_not_primitives_of_ours_pass() {
        // Organization.name is a string; an element id is a string; Condition.category is a
        // CodeableConcept; Coding.display may hold any text.
        let doc = json!({"resourceType": "Bundle", "entry": [
            {"resource": {"resourceType": "Organization", "id": "o", "name": "  病院  "}},
            {"resource": {"resourceType": "Condition", "id": "c",
                          "category": [{"coding": [{"display": " x  y "}]}],
                          "code": {"id": "not an id!", "text": "  "}}}]});
        assert!(paths(&doc).is_empty(), "{:?}", paths(&doc));
    }
}
