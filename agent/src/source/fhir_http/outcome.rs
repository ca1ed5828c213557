//! Answers in FHIR's words: an `OperationOutcome` for every refusal.
//!
//! A [`Refusal`] carries the HTTP status, the issue type (FHIR value set `issue-type`), the
//! element path at fault (FHIRPath-like, e.g. `Bundle.entry[2].request.method`) and a text in
//! English and Japanese. The text is ours: it never quotes the request body, which is patient
//! data. Issue types and statuses used:
//!
//! | situation                                   | status | issue type      |
//! |---------------------------------------------|--------|-----------------|
//! | body is not JSON / not an object            | 400    | `structure`     |
//! | no `resourceType`, type differs from URL, id differs | 400 | `required` / `invalid` |
//! | unknown resource type, Bundle.type or entry method not taken | 422 | `code-invalid` / `not-supported` |
//! | a used `X-Request-Id` with a different body | 409    | `conflict`      |
//! | body over `max_body_bytes`                  | 413    | `too-long`      |
//! | content type not FHIR JSON                  | 415    | `not-supported` |
//! | body not sent in time                       | 408    | `timeout`       |
//! | no token / wrong token                      | 401 / 403 | `login` / `forbidden` |
//! | store failed, disk reserve reached, endpoint closing | 503 + `Retry-After` | `transient` |

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// The FHIR JSON media type of every answer.
pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

/// A request that is not taken, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// HTTP status.
    pub status: StatusCode,
    /// `OperationOutcome.issue.code`.
    pub code: &'static str,
    /// `OperationOutcome.issue.expression`, when one element is at fault.
    pub expression: Option<String>,
    /// What is wrong (English), without any value from the request.
    pub en: String,
    /// The same in Japanese.
    pub ja: String,
    /// Seconds for `Retry-After` (503 only).
    pub retry_after: Option<u32>,
}

impl Refusal {
    /// A refusal with no element path.
    pub fn new(
        status: StatusCode,
        code: &'static str,
        en: impl Into<String>,
        ja: impl Into<String>,
    ) -> Self {
        Refusal {
            status,
            code,
            expression: None,
            en: en.into(),
            ja: ja.into(),
            retry_after: None,
        }
    }

    /// The same, naming the element at fault.
    pub fn at(mut self, expression: impl Into<String>) -> Self {
        self.expression = Some(expression.into());
        self
    }

    /// The same, asking the client to retry after `secs`.
    pub fn retry_after(mut self, secs: u32) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// The `OperationOutcome` resource.
    pub fn outcome(&self) -> Value {
        let mut issue = json!({
            "severity": "error",
            "code": self.code,
            "diagnostics": format!("{} / {}", self.en, self.ja),
        });
        if let Some(e) = &self.expression {
            issue["expression"] = json!([e]);
        }
        json!({"resourceType": "OperationOutcome", "issue": [issue]})
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut r = fhir_json(self.status, &self.outcome());
        if let Some(secs) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        r
    }
}

/// A FHIR JSON response.
pub fn fhir_json(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON))],
        body.to_string(),
    )
        .into_response()
}

/// An informational `OperationOutcome` (what `Prefer: return=OperationOutcome` asks for).
pub fn information(en: &str, ja: &str) -> Value {
    json!({"resourceType": "OperationOutcome", "issue": [{
        "severity": "information",
        "code": "informational",
        "diagnostics": format!("{en} / {ja}"),
    }]})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outcome_names_the_element_and_both_languages() {
        let r = Refusal::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "code-invalid",
            "unknown",
            "不明",
        )
        .at("Bundle.entry[1].resource.resourceType");
        let o = r.outcome();
        assert_eq!(o["resourceType"], "OperationOutcome");
        assert_eq!(o["issue"][0]["code"], "code-invalid");
        assert_eq!(
            o["issue"][0]["expression"][0],
            "Bundle.entry[1].resource.resourceType"
        );
        assert_eq!(o["issue"][0]["diagnostics"], "unknown / 不明");
    }

    #[test]
    fn a_503_says_when_to_retry_and_a_401_how_to_authenticate() {
        let r = Refusal::new(StatusCode::SERVICE_UNAVAILABLE, "transient", "x", "y")
            .retry_after(30)
            .into_response();
        assert_eq!(r.headers()[header::RETRY_AFTER], "30");
        assert_eq!(r.headers()[header::CONTENT_TYPE], FHIR_JSON);
        let r = Refusal::new(StatusCode::UNAUTHORIZED, "login", "x", "y").into_response();
        assert_eq!(r.headers()[header::WWW_AUTHENTICATE], "Bearer");
    }
}
