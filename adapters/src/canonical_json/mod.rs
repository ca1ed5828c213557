//! `canonical-json`: the canonical records written as JSON, the simplest format a vendor's
//! plugin (an exec source or a converter) can produce, and the shape of the table kit's golden
//! files and `tsunagi inspect --json`.
//!
//! One input is one record object, an array of them, or `{"records": [...]}`. Each object has a
//! `type` (`Patient`, `Condition`, `Allergy`, `LabResult`, `Prescription`) and that record's
//! fields by their canonical names ([`crate::model`]); unknown fields are refused, so a typo is
//! an error rather than a silently missing value. Dates are FHIR `date`/`dateTime` text.
//!
//! ```
//! use tsunagi_adapters::{Adapter, CanonicalJsonAdapter, RawInput, Record};
//!
//! let input = r#"{"type":"Condition","patient_id":"P1","original_text":"胃炎","disease_key":"90000001"}"#;
//! let parsed = CanonicalJsonAdapter.parse(&RawInput { bytes: input.as_bytes(), origin: "x" });
//! assert!(matches!(&parsed.records[0], Record::Condition(c) if c.disease_key.as_deref() == Some("90000001")));
//! ```

mod shape;

#[cfg(test)]
mod tests;

use serde_json::Value;

use crate::{Adapter, Parsed, Problem, RawInput, Record};

pub use shape::CanonicalRecord;

/// Reads `canonical-json` inputs.
#[derive(Debug, Default, Clone, Copy)]
pub struct CanonicalJsonAdapter;

impl Adapter for CanonicalJsonAdapter {
    fn name(&self) -> &'static str {
        "canonical-json"
    }

    fn parse(&self, input: &RawInput<'_>) -> Parsed {
        let mut parsed = Parsed::default();
        let doc: Value = match serde_json::from_slice(input.bytes) {
            Ok(v) => v,
            Err(e) => {
                parsed.problems.push(Problem::fatal(
                    format!("line {}", e.line()),
                    "not JSON",
                    "JSON ではありません",
                ));
                return parsed;
            }
        };
        let (items, base) = match doc {
            Value::Array(items) => (items, "$".to_string()),
            Value::Object(mut o) if !o.contains_key("type") && o.contains_key("records") => {
                match o.remove("records") {
                    Some(Value::Array(items)) => (items, "$.records".to_string()),
                    _ => {
                        parsed.problems.push(Problem::fatal(
                            "$.records",
                            "must be an array of records",
                            "レコードの配列にしてください",
                        ));
                        return parsed;
                    }
                }
            }
            one => (vec![one], String::new()),
        };
        for (i, item) in items.into_iter().enumerate() {
            let at = if base.is_empty() {
                "$".to_string()
            } else {
                format!("{base}[{i}]")
            };
            match shape::read(item) {
                Ok(r) => parsed.records.push(r),
                Err(reason) => parsed
                    .problems
                    .push(Problem::fatal(at, reason.en, reason.ja)),
            }
        }
        parsed
    }
}

/// A record as canonical JSON (a FHIR resource as its type and id). With `mask`, every patient
/// value (ids, names, dates of birth, addresses, disease and allergen text, free-text results)
/// is `"***"`.
pub fn to_value(record: &Record, mask: bool) -> Value {
    let mut v = match (CanonicalRecord::of(record), record) {
        (Some(c), _) => serde_json::to_value(c).unwrap_or(Value::Null),
        (None, Record::Fhir(f)) => serde_json::json!({
            "type": "FhirResource", "resourceType": f.resource_type, "local_id": f.id,
        }),
        (None, _) => Value::Null,
    };
    if mask {
        shape::mask(&mut v);
    }
    v
}
