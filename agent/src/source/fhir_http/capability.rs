//! `GET [base]/metadata`: the CapabilityStatement, saying exactly what this endpoint does.
//!
//! It stores inputs; it is not a FHIR server one reads from. So: FHIR 4.0.1, JSON only; for every
//! resource type it takes, `create` and `update` (no read, search, history or delete); at
//! system level `transaction` and `batch` (entries POST or PUT only). Security names how callers
//! authenticate (bearer token, client certificate) when configured.

use serde_json::{json, Value};

use super::resource_types;

/// How the endpoint authenticates callers (for `rest.security`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Security {
    pub token: bool,
    pub client_certificates: bool,
}

/// The CapabilityStatement for an endpoint at `base_url`.
pub fn statement(base_url: &str, security: Security) -> Value {
    let resources: Vec<Value> = resource_types::R4
        .iter()
        .filter(|t| resource_types::is_taken(t))
        .map(|t| {
            json!({
                "type": t,
                "interaction": [{"code": "create"}, {"code": "update"}],
                "versioning": "no-version",
                "readHistory": false,
                "updateCreate": true,
                "conditionalCreate": false,
                "conditionalUpdate": false,
                "conditionalDelete": "not-supported",
            })
        })
        .collect();
    let mut rest = json!({
        "mode": "server",
        "documentation": "Inputs are stored durably (fsynced) before the answer is sent, then processed into JP-CLINS bundles like files. A request retried with the same X-Request-Id (and the same JSON), or the same Bundle.identifier and content, is stored once and answered as the first time; a used X-Request-Id with other content is refused 409. / 保存 (fsync) の後に応答します。同じ X-Request-Id (同じ内容)、または同じ Bundle.identifier と内容の再送は一度だけ保存され、初回と同じ応答を返します。使用済みの X-Request-Id で内容が異なる要求は 409 で拒否します。",
        "resource": resources,
        "interaction": [
            {"code": "transaction", "documentation": "entries with request.method POST or PUT"},
            {"code": "batch", "documentation": "entries with request.method POST or PUT; stored together"},
        ],
    });
    if security.token || security.client_certificates {
        let mut how = Vec::new();
        if security.token {
            how.push("a bearer token (Authorization: Bearer …)");
        }
        if security.client_certificates {
            how.push("a TLS client certificate");
        }
        rest["security"] =
            json!({"cors": false, "description": format!("Writes require {}.", how.join(" or "))});
    }
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": chrono::Utc::now().format("%Y-%m-%d").to_string(),
        "publisher": "tsunagi",
        "kind": "instance",
        "software": {"name": "tsunagi", "version": env!("CARGO_PKG_VERSION")},
        "implementation": {
            "description": "tsunagi: FHIR input endpoint feeding JP-CLINS (電子カルテ情報共有サービス) / tsunagi FHIR 受付",
            "url": base_url,
        },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [rest],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_says_create_update_transaction_and_batch_only() {
        let s = statement("http://127.0.0.1:8088/fhir", Security::default());
        assert_eq!(s["fhirVersion"], "4.0.1");
        let rest = &s["rest"][0];
        let patient = rest["resource"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["type"] == "Patient")
            .unwrap();
        assert_eq!(patient["interaction"].as_array().unwrap().len(), 2);
        assert!(rest["resource"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["type"] != "OperationOutcome"));
        assert_eq!(rest["interaction"][0]["code"], "transaction");
        assert!(rest.get("security").is_none());
        let s = statement(
            "x",
            Security {
                token: true,
                client_certificates: false,
            },
        );
        assert!(s["rest"][0]["security"]["description"]
            .as_str()
            .unwrap()
            .contains("bearer"));
    }
}
