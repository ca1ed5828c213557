//! FHIR OperationOutcome bodies the simulator answers with.
//!
//! Owns the shape of an `Issue` (one broken rule) and its JSON rendering. Messages name the
//! rule and the element, never a patient value: `details.text` is `"<RULE-KEY>: <message>"`
//! and `expression` is a FHIRPath-ish path.

use serde_json::{json, Value};

/// One broken rule found in a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Rule key from the IG (`R2152`) or a simulator key (`SIM-...`).
    pub rule: &'static str,
    /// English message; must not contain patient values.
    pub message: String,
    /// FHIRPath-ish location of the offending element.
    pub expression: String,
}

impl Issue {
    pub fn new(
        rule: &'static str,
        message: impl Into<String>,
        expression: impl Into<String>,
    ) -> Issue {
        Issue {
            rule,
            message: message.into(),
            expression: expression.into(),
        }
    }

    /// `"<RULE-KEY>: <message>"`, the `details.text` of the issue.
    pub fn details_text(&self) -> String {
        format!("{}: {}", self.rule, self.message)
    }
}

/// An OperationOutcome with one `error`/`invalid` issue per broken rule.
pub fn errors(issues: &[Issue]) -> Value {
    let issues: Vec<Value> = issues
        .iter()
        .map(|i| {
            json!({
                "severity": "error",
                "code": "invalid",
                "details": { "text": i.details_text() },
                "expression": [i.expression],
            })
        })
        .collect();
    json!({ "resourceType": "OperationOutcome", "issue": issues })
}

/// An OperationOutcome with a single issue of the given severity and code.
pub fn single(severity: &str, code: &str, text: &str) -> Value {
    json!({
        "resourceType": "OperationOutcome",
        "issue": [{ "severity": severity, "code": code, "details": { "text": text } }],
    })
}

/// The body of a successful submission.
pub fn accepted(receipt: &str, duplicate: bool) -> Value {
    let text = if duplicate {
        format!("duplicate submission; already accepted as receipt {receipt}")
    } else {
        format!("accepted as receipt {receipt}")
    };
    single("information", "informational", &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_have_one_issue_per_rule_with_key_and_path() {
        let v = errors(&[
            Issue::new("R2152", "bad format", "Bundle.identifier.value"),
            Issue::new("R0211", "not a Patient", "Bundle.entry[0].resource"),
        ]);
        assert_eq!(v["resourceType"], "OperationOutcome");
        let issues = v["issue"].as_array().unwrap();
        assert_eq!(issues.len(), 2);
        assert_eq!(issues[0]["severity"], "error");
        assert_eq!(issues[0]["code"], "invalid");
        assert_eq!(issues[0]["details"]["text"], "R2152: bad format");
        assert_eq!(issues[1]["expression"][0], "Bundle.entry[0].resource");
    }

    #[test]
    fn accepted_is_information() {
        let v = accepted("abc", false);
        assert_eq!(v["issue"][0]["severity"], "information");
    }
}
