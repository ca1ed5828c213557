//! Success answers, built only after the commit returned: what FHIR expects for each
//! interaction, derived from the stored input's row id so that a retried request (stored once,
//! `AlreadyStored`) is answered exactly as the first time.
//!
//! | taken as            | status | `Location`                                  | body |
//! |---------------------|--------|---------------------------------------------|------|
//! | create              | 201    | `[base]/[type]/[input id]/_history/1`       | the resource, `id` = input id |
//! | update              | 200    | `[base]/[type]/[id]/_history/1`             | the resource as sent |
//! | transaction / batch | 200    | none                                        | `transaction-response` / `batch-response` Bundle; POST entries get id `[input id]-[entry index]` |
//! | collection/document | 201    | `[base]/Bundle/[input id]/_history/1`       | an informational OperationOutcome |
//!
//! The input id is the inbox row (`tsunagi queue show I-<id>`). `Prefer: return=minimal`
//! leaves the body out; `return=OperationOutcome` answers an informational OperationOutcome.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::outcome::{fhir_json, information};
use super::request::{Entry, Taken};

/// What the client asked for in `Prefer: return=…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefer {
    Representation,
    Minimal,
    Outcome,
}

impl Prefer {
    /// From the request's headers (default: representation).
    pub fn from_headers(h: &HeaderMap) -> Prefer {
        let prefer = h
            .get_all("prefer")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split([',', ';']))
            .map(str::trim)
            .find_map(|p| p.strip_prefix("return="));
        match prefer {
            Some("minimal") => Prefer::Minimal,
            Some("OperationOutcome") => Prefer::Outcome,
            _ => Prefer::Representation,
        }
    }
}

/// The answer to a committed request. `base_url` is `scheme://host[:port][base]`.
pub fn build(taken: Taken, inbox_id: i64, base_url: &str, prefer: Prefer) -> Response {
    let stored_en = format!("stored as input I-{inbox_id}");
    let stored_ja = format!("入力 I-{inbox_id} として保存しました");
    let (status, location, body) = match taken {
        Taken::Create {
            resource_type,
            mut body,
        } => {
            let id = inbox_id.to_string();
            body["id"] = json!(id);
            set_version(&mut body);
            let loc = format!("{base_url}/{resource_type}/{id}/_history/1");
            (StatusCode::CREATED, Some(loc), body)
        }
        Taken::Update {
            resource_type,
            id,
            mut body,
        } => {
            set_version(&mut body);
            let loc = format!("{base_url}/{resource_type}/{id}/_history/1");
            (StatusCode::OK, Some(loc), body)
        }
        Taken::Transaction { batch, entries } => {
            let body = response_bundle(batch, &entries, inbox_id);
            // A transaction-response is the answer itself, whatever Prefer says.
            return fhir_json(StatusCode::OK, &body);
        }
        Taken::Bundle => {
            let loc = format!("{base_url}/Bundle/{inbox_id}/_history/1");
            (
                StatusCode::CREATED,
                Some(loc),
                information(&stored_en, &stored_ja),
            )
        }
    };
    let mut r = match prefer {
        Prefer::Representation => fhir_json(status, &body),
        Prefer::Outcome => fhir_json(status, &information(&stored_en, &stored_ja)),
        Prefer::Minimal => status.into_response(),
    };
    let h = r.headers_mut();
    if let Some(loc) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        h.insert(header::LOCATION, loc.clone());
        h.insert(header::CONTENT_LOCATION, loc);
    }
    h.insert(header::ETAG, HeaderValue::from_static("W/\"1\""));
    r
}

fn set_version(body: &mut Value) {
    if !body.get("meta").is_some_and(Value::is_object) {
        body["meta"] = json!({});
    }
    body["meta"]["versionId"] = json!("1");
}

/// The `transaction-response` / `batch-response` Bundle: one entry per request entry, in order.
pub fn response_bundle(batch: bool, entries: &[Entry], inbox_id: i64) -> Value {
    let entries: Vec<Value> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let (status, location) = match e {
                Entry::Create { resource_type } => (
                    "201 Created",
                    format!("{resource_type}/{inbox_id}-{i}/_history/1"),
                ),
                Entry::Update { resource_type, id } => {
                    ("200 OK", format!("{resource_type}/{id}/_history/1"))
                }
            };
            json!({"response": {"status": status, "location": location, "etag": "W/\"1\""}})
        })
        .collect();
    json!({
        "resourceType": "Bundle",
        "type": if batch { "batch-response" } else { "transaction-response" },
        "entry": entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(r: Response) -> Value {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let bytes = rt
            .block_on(axum::body::to_bytes(r.into_body(), 1 << 20))
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn a_create_is_named_after_its_input() {
        let taken = Taken::Create {
            resource_type: "Condition".into(),
            body: json!({"resourceType":"Condition","id":"client-id"}),
        };
        let r = build(
            taken,
            42,
            "http://127.0.0.1:8088/fhir",
            Prefer::Representation,
        );
        assert_eq!(r.status(), StatusCode::CREATED);
        assert_eq!(
            r.headers()[header::LOCATION],
            "http://127.0.0.1:8088/fhir/Condition/42/_history/1"
        );
        let b = body_of(r);
        assert_eq!(
            (b["id"].as_str(), b["meta"]["versionId"].as_str()),
            (Some("42"), Some("1"))
        );
    }

    #[test]
    fn an_update_keeps_its_id_and_prefer_minimal_has_no_body() {
        let taken = Taken::Update {
            resource_type: "Patient".into(),
            id: "p1".into(),
            body: json!({"resourceType":"Patient","id":"p1"}),
        };
        let r = build(taken, 7, "https://h/fhir", Prefer::Minimal);
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            r.headers()[header::LOCATION],
            "https://h/fhir/Patient/p1/_history/1"
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let bytes = rt
            .block_on(axum::body::to_bytes(r.into_body(), 10))
            .unwrap();
        assert!(bytes.is_empty());
    }

    #[test]
    fn a_transaction_is_answered_entry_by_entry() {
        let entries = vec![
            Entry::Update {
                resource_type: "Patient".into(),
                id: "p1".into(),
            },
            Entry::Create {
                resource_type: "Condition".into(),
            },
        ];
        let b = response_bundle(false, &entries, 9);
        assert_eq!(b["type"], "transaction-response");
        assert_eq!(b["entry"][0]["response"]["status"], "200 OK");
        assert_eq!(
            b["entry"][1]["response"]["location"],
            "Condition/9-1/_history/1"
        );
        assert_eq!(response_bundle(true, &entries, 9)["type"], "batch-response");
    }

    #[test]
    fn prefer_is_read_from_the_header() {
        let mut h = HeaderMap::new();
        assert_eq!(Prefer::from_headers(&h), Prefer::Representation);
        h.insert(
            "prefer",
            HeaderValue::from_static("handling=strict, return=OperationOutcome"),
        );
        assert_eq!(Prefer::from_headers(&h), Prefer::Outcome);
        h.insert("prefer", HeaderValue::from_static("return=minimal"));
        assert_eq!(Prefer::from_headers(&h), Prefer::Minimal);
    }
}
