//! What a request's body must be, per interaction, before anything is stored.
//!
//! [`check`] reads the body as JSON once and decides: refused (a [`Refusal`] naming the element
//! path, never a value from the body), or taken as one of the [`Taken`] kinds, which say how the
//! answer is built after the commit. The body itself is stored as received (format `fhir-json`),
//! so the same processing as a file runs on it: a Bundle's entries are flattened, a JP-CLINS
//! bundle travels whole.
//!
//! | interaction              | body                                  | taken as |
//! |--------------------------|---------------------------------------|----------|
//! | `POST [base]`            | Bundle `transaction` / `batch`: each entry a resource with `request.method` POST or PUT | [`Taken::Transaction`] |
//! | `POST [base]`            | Bundle `collection` / `document` (as files bring them) | [`Taken::Bundle`] |
//! | `POST [base]/[type]`     | one resource of `[type]`              | [`Taken::Create`] |
//! | `PUT [base]/[type]/[id]` | one resource of `[type]` whose `id` is `[id]` | [`Taken::Update`] |

use axum::http::StatusCode;
use serde_json::Value;

use super::outcome::Refusal;
use super::resource_types;

/// Which interaction the URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// `POST [base]`.
    System,
    /// `POST [base]/[type]`.
    Type(&'a str),
    /// `PUT [base]/[type]/[id]`.
    Instance(&'a str, &'a str),
}

/// One entry of a transaction or batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// `request.method` POST: the server names it.
    Create { resource_type: String },
    /// `request.method` PUT `Type/id`.
    Update { resource_type: String, id: String },
}

/// A body that is taken, and what its answer says.
#[derive(Debug, Clone, PartialEq)]
pub enum Taken {
    /// A resource to create; the answer carries it back with the id given to it.
    Create { resource_type: String, body: Value },
    /// A resource to create or replace under its id.
    Update {
        resource_type: String,
        id: String,
        body: Value,
    },
    /// A transaction (`batch = false`) or batch Bundle; one answer entry per entry.
    Transaction { batch: bool, entries: Vec<Entry> },
    /// A collection or document Bundle, stored whole.
    Bundle,
}

/// The deduplication key part a body brings by itself: `Bundle.identifier` (`system|value`).
pub fn bundle_identifier(body: &Value) -> Option<String> {
    let id = body.get("identifier")?;
    let value = id.get("value")?.as_str()?;
    let system = id.get("system").and_then(Value::as_str).unwrap_or("");
    Some(format!("{system}|{value}"))
}

fn bad(code: &'static str, at: impl Into<String>, en: &str, ja: &str) -> Refusal {
    Refusal::new(StatusCode::BAD_REQUEST, code, en, ja).at(at)
}

fn unprocessable(code: &'static str, at: impl Into<String>, en: &str, ja: &str) -> Refusal {
    Refusal::new(StatusCode::UNPROCESSABLE_ENTITY, code, en, ja).at(at)
}

/// Whether `id` matches FHIR's `id` type (`[A-Za-z0-9\-\.]{1,64}`).
pub fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// Parses `bytes` as JSON with a top-level object.
pub fn parse(bytes: &[u8]) -> Result<Value, Refusal> {
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    let json: Value = serde_json::from_slice(bytes).map_err(|e| {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            "structure",
            format!(
                "the body is not valid JSON (UTF-8): error at line {}, column {}",
                e.line(),
                e.column()
            ),
            format!(
                "本文が JSON (UTF-8) として読めません ({}行{}列)",
                e.line(),
                e.column()
            ),
        )
    })?;
    if !json.is_object() {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "structure",
            "the body is not a JSON object, so not a FHIR resource",
            "本文が JSON オブジェクトではないため FHIR リソースではありません",
        ));
    }
    Ok(json)
}

/// The resource type of the resource at `path` (`""` for the body), checked to be one taken.
fn resource_type<'v>(resource: &'v Value, path: &str) -> Result<&'v str, Refusal> {
    let at = if path.is_empty() {
        "resourceType".to_string()
    } else {
        format!("{path}.resourceType")
    };
    let Some(t) = resource.get("resourceType").and_then(Value::as_str) else {
        return Err(bad(
            "required",
            at,
            "resourceType is missing or not a string: the body is not a FHIR resource",
            "resourceType がないか文字列ではありません (FHIR リソースではありません)",
        ));
    };
    if !resource_types::is_r4(t) {
        return Err(unprocessable(
            "code-invalid",
            at,
            "resourceType is not a FHIR R4 resource type",
            "resourceType が FHIR R4 のリソース型ではありません",
        ));
    }
    if !resource_types::is_taken(t) {
        return Err(unprocessable(
            "not-supported",
            at,
            "this resource type is not clinical input and is not taken here",
            "このリソース型は診療データではないため受け付けません",
        ));
    }
    Ok(t)
}

/// Decides whether the body of a request to `target` is taken. See the module docs.
pub fn check(target: Target<'_>, bytes: &[u8]) -> Result<Taken, Refusal> {
    let body = parse(bytes)?;
    let t = resource_type(&body, "")?.to_string();
    match target {
        Target::Type(url_type) => {
            if t != url_type {
                return Err(bad(
                    "invalid",
                    "resourceType",
                    "resourceType differs from the type in the URL",
                    "resourceType が URL のリソース型と一致しません",
                ));
            }
            Ok(Taken::Create {
                resource_type: t,
                body,
            })
        }
        Target::Instance(url_type, id) => {
            if t != url_type {
                return Err(bad(
                    "invalid",
                    "resourceType",
                    "resourceType differs from the type in the URL",
                    "resourceType が URL のリソース型と一致しません",
                ));
            }
            if body.get("id").and_then(Value::as_str) != Some(id) {
                return Err(bad(
                    "invalid",
                    "id",
                    "the resource's id is missing or differs from the id in the URL (PUT [type]/[id])",
                    "リソースの id がないか URL の id と一致しません",
                ));
            }
            Ok(Taken::Update {
                resource_type: t,
                id: id.to_string(),
                body,
            })
        }
        Target::System => system(&t, &body),
    }
}

/// `POST [base]`: a Bundle.
fn system(t: &str, body: &Value) -> Result<Taken, Refusal> {
    if t != "Bundle" {
        return Err(bad(
            "invalid",
            "resourceType",
            "POST [base] takes a Bundle (transaction, batch, collection or document); post single resources to [base]/[type]",
            "POST [base] は Bundle (transaction, batch, collection, document) を受け付けます。単一のリソースは [base]/[type] へ送ってください",
        ));
    }
    let Some(kind) = body.get("type").and_then(Value::as_str) else {
        return Err(bad(
            "required",
            "Bundle.type",
            "Bundle.type is missing",
            "Bundle.type がありません",
        ));
    };
    let entries = match body.get("entry") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(a)) => &a[..],
        Some(_) => {
            return Err(bad(
                "structure",
                "Bundle.entry",
                "Bundle.entry is not an array",
                "Bundle.entry が配列ではありません",
            ))
        }
    };
    match kind {
        "transaction" | "batch" => {
            let entries = entries
                .iter()
                .enumerate()
                .map(|(i, e)| entry(i, e))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Taken::Transaction {
                batch: kind == "batch",
                entries,
            })
        }
        "collection" | "document" => {
            for (i, e) in entries.iter().enumerate() {
                entry_resource(i, e)?;
            }
            Ok(Taken::Bundle)
        }
        _ => Err(unprocessable(
            "not-supported",
            "Bundle.type",
            "this Bundle.type is not taken: send transaction, batch, collection or document",
            "この Bundle.type は受け付けません (transaction, batch, collection, document を送ってください)",
        )),
    }
}

fn entry_resource(i: usize, e: &Value) -> Result<(&Value, &str), Refusal> {
    let path = format!("Bundle.entry[{i}].resource");
    let Some(r) = e.get("resource").filter(|r| r.is_object()) else {
        return Err(bad(
            "required",
            path,
            "the entry has no resource",
            "entry に resource がありません",
        ));
    };
    Ok((r, resource_type(r, &path)?))
}

/// One transaction/batch entry: a resource and a POST or PUT request for it.
fn entry(i: usize, e: &Value) -> Result<Entry, Refusal> {
    let (resource, t) = entry_resource(i, e)?;
    let at = |f: &str| format!("Bundle.entry[{i}].request.{f}");
    let Some(method) = e.pointer("/request/method").and_then(Value::as_str) else {
        return Err(bad(
            "required",
            at("method"),
            "the entry has no request.method",
            "entry に request.method がありません",
        ));
    };
    let url = e
        .pointer("/request/url")
        .and_then(Value::as_str)
        .unwrap_or("");
    match method {
        "POST" => {
            if !url.is_empty() && url.split(['?', '/']).next() != Some(t) {
                return Err(bad(
                    "invalid",
                    at("url"),
                    "request.url names another resource type than the entry's resource",
                    "request.url のリソース型が entry の resource と一致しません",
                ));
            }
            Ok(Entry::Create {
                resource_type: t.to_string(),
            })
        }
        "PUT" => {
            let id = resource.get("id").and_then(Value::as_str).unwrap_or("");
            let mut parts = url.split('/');
            let fits = parts.next() == Some(t)
                && parts.next() == Some(id)
                && parts.next().is_none()
                && valid_id(id);
            if !fits {
                return Err(bad(
                    "invalid",
                    at("url"),
                    "a PUT entry's request.url must be [type]/[id] of its resource (type and id as in the resource)",
                    "PUT の request.url は resource の [型]/[id] にしてください",
                ));
            }
            Ok(Entry::Update {
                resource_type: t.to_string(),
                id: id.to_string(),
            })
        }
        _ => Err(unprocessable(
            "not-supported",
            at("method"),
            "only POST and PUT entries are taken (this endpoint stores inputs; it does not read or delete)",
            "受け付ける entry は POST と PUT だけです (読み取り・削除はできません)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refusal(target: Target<'_>, body: &str) -> Refusal {
        check(target, body.as_bytes()).unwrap_err()
    }

    #[test]
    fn not_json_not_an_object_no_or_unknown_resource_type() {
        let r = refusal(
            Target::System,
            "{\"resourceType\": \"Patient\", \"name\": \"山田",
        );
        assert_eq!((r.status, r.code), (StatusCode::BAD_REQUEST, "structure"));
        assert!(!r.en.contains("山田") && !r.ja.contains("山田"), "{r:?}");
        assert_eq!(refusal(Target::System, "[1]").code, "structure");
        let r = refusal(Target::Type("Patient"), r#"{"name":"x"}"#);
        assert_eq!(
            (r.code, r.expression.as_deref()),
            ("required", Some("resourceType"))
        );
        let r = refusal(Target::Type("Patient"), r#"{"resourceType":"Patiant"}"#);
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.code, "code-invalid");
        let r = refusal(
            Target::Type("OperationOutcome"),
            r#"{"resourceType":"OperationOutcome"}"#,
        );
        assert_eq!(r.code, "not-supported");
    }

    #[test]
    fn create_and_update_must_match_the_url() {
        let ok = check(
            Target::Type("Condition"),
            br#"{"resourceType":"Condition"}"#,
        )
        .unwrap();
        assert!(
            matches!(ok, Taken::Create { ref resource_type, .. } if resource_type == "Condition")
        );
        let r = refusal(Target::Type("Patient"), r#"{"resourceType":"Condition"}"#);
        assert_eq!(r.expression.as_deref(), Some("resourceType"));
        let ok = check(
            Target::Instance("Patient", "p1"),
            br#"{"resourceType":"Patient","id":"p1"}"#,
        )
        .unwrap();
        assert!(matches!(ok, Taken::Update { ref id, .. } if id == "p1"));
        let r = refusal(
            Target::Instance("Patient", "p1"),
            r#"{"resourceType":"Patient","id":"p2"}"#,
        );
        assert_eq!((r.code, r.expression.as_deref()), ("invalid", Some("id")));
    }

    #[test]
    fn transactions_take_post_and_put_entries_only() {
        let t = json!({"resourceType":"Bundle","type":"transaction","entry":[
            {"resource":{"resourceType":"Patient","id":"p1"},"request":{"method":"PUT","url":"Patient/p1"}},
            {"resource":{"resourceType":"Condition"},"request":{"method":"POST","url":"Condition"}}
        ]});
        let taken = check(Target::System, t.to_string().as_bytes()).unwrap();
        assert_eq!(
            taken,
            Taken::Transaction {
                batch: false,
                entries: vec![
                    Entry::Update {
                        resource_type: "Patient".into(),
                        id: "p1".into()
                    },
                    Entry::Create {
                        resource_type: "Condition".into()
                    },
                ]
            }
        );
        let mut bad = t.clone();
        bad["entry"][1]["request"]["method"] = json!("DELETE");
        let r = refusal(Target::System, &bad.to_string());
        assert_eq!(
            r.expression.as_deref(),
            Some("Bundle.entry[1].request.method")
        );
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let mut bad = t.clone();
        bad["entry"][0]["request"]["url"] = json!("Patient/p9");
        assert_eq!(
            refusal(Target::System, &bad.to_string())
                .expression
                .as_deref(),
            Some("Bundle.entry[0].request.url")
        );
        let mut bad = t;
        bad["entry"][1]["resource"]["resourceType"] = json!("Condtion");
        assert_eq!(
            refusal(Target::System, &bad.to_string())
                .expression
                .as_deref(),
            Some("Bundle.entry[1].resource.resourceType")
        );
    }

    #[test]
    fn the_system_endpoint_takes_bundles_of_the_kinds_files_bring() {
        let doc = br#"{"resourceType":"Bundle","type":"document","entry":[{"resource":{"resourceType":"Composition"}}]}"#;
        assert_eq!(check(Target::System, doc).unwrap(), Taken::Bundle);
        let r = refusal(
            Target::System,
            r#"{"resourceType":"Bundle","type":"searchset"}"#,
        );
        assert_eq!(r.expression.as_deref(), Some("Bundle.type"));
        let r = refusal(Target::System, r#"{"resourceType":"Patient"}"#);
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        let r = refusal(
            Target::System,
            r#"{"resourceType":"Bundle","type":"collection","entry":[{}]}"#,
        );
        assert_eq!(r.expression.as_deref(), Some("Bundle.entry[0].resource"));
    }

    #[test]
    fn ids_and_bundle_identifiers() {
        assert!(
            valid_id("a-1.B") && !valid_id("") && !valid_id("a/b") && !valid_id(&"x".repeat(65))
        );
        let b = json!({"identifier":{"system":"urn:s","value":"v1"}});
        assert_eq!(bundle_identifier(&b).as_deref(), Some("urn:s|v1"));
        assert_eq!(bundle_identifier(&json!({})), None);
    }
}
