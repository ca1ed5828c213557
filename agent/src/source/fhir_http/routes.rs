//! The routes of one endpoint and the write path every accepted body takes.
//!
//! Order of checks for a write (each refusal is an OperationOutcome, see [`super::outcome`]):
//! token (401/403) → content type (415) → `X-Request-Id` (400) → declared length (413 at once
//! only when the client waits for `100 Continue` or it is over 256 MiB) → body read within
//! `body_timeout` (408) and under `max_body_bytes` (413, sent after the rest of the body was
//! read and thrown away, so a client that writes before it reads gets it) → body checks
//! ([`super::request`], 400/422) → commit through the intake → answer ([`super::answer`]).
//!
//! Retries: with `X-Request-Id` the store keeps one input per (source, request id); a retry
//! whose body is the same JSON is answered from the stored input (same status, `Location` and
//! response Bundle), one with a different body is refused 409 `conflict` and nothing is stored.
//! Without it, one input per (source, origin, bytes).
//!
//! Invariant (the acknowledgement rule of [`crate::source`]): a 2xx is built only after the
//! intake's future returned `Ok`, i.e. the raw body is committed and fsynced. A store failure
//! or a crossed disk reserve is a 503 with `Retry-After` and nothing stored (one insert, one
//! transaction). The connection is marked in flight from the end of the body read until the
//! answer is built, so the listener never evicts it while its commit runs.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;

use super::answer::{self, Prefer};
use super::capability::{self, Security};
use super::outcome::{fhir_json, Refusal};
use super::request::{self, Taken, Target};
use super::{FhirStats, SeatHandle};
use crate::source::mllp::{IncomingMessage, MessageIntake, OriginCommit};
use crate::source::{Committed, IntakeError};

/// What every request of one endpoint shares.
pub struct Endpoint {
    /// The configured source name.
    pub source: Arc<str>,
    /// The base path (`""` or `/fhir`).
    pub base: String,
    /// `http` or `https`.
    pub scheme: &'static str,
    /// The bound address (for URLs when a request has no usable Host).
    pub local: SocketAddr,
    pub max_body: usize,
    pub body_timeout: Duration,
    pub token: Option<String>,
    pub security: Security,
    pub intake: Arc<dyn MessageIntake>,
    pub stats: Arc<FhirStats>,
}

/// The router of one endpoint.
pub fn router(ep: Arc<Endpoint>) -> Router {
    let base = ep.base.clone();
    let mut r = Router::new()
        .route(&format!("{base}/metadata"), get(metadata))
        .route(&format!("{base}/"), post(system))
        .route(&format!("{base}/{{rtype}}"), post(create))
        .route(&format!("{base}/{{rtype}}/{{id}}"), put(update));
    if !base.is_empty() {
        r = r.route(&base, post(system));
    }
    r.fallback(not_found)
        .method_not_allowed_fallback(not_allowed)
        .with_state(ep)
}

async fn not_found() -> Response {
    Refusal::new(
        StatusCode::NOT_FOUND,
        "not-supported",
        "no such interaction here: POST [base], POST [base]/[type], PUT [base]/[type]/[id], GET [base]/metadata",
        "この URL は扱えません (POST [base], POST [base]/[type], PUT [base]/[type]/[id], GET [base]/metadata)",
    )
    .into_response()
}

async fn not_allowed() -> Response {
    Refusal::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "not-supported",
        "this endpoint stores inputs: it takes POST and PUT, and GET only for metadata",
        "この受付は POST と PUT (metadata は GET) だけを扱います",
    )
    .into_response()
}

/// `scheme://host[base]` from the request's Host when it is a plain host name or address,
/// else from the bound address.
fn base_url(ep: &Endpoint, headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        })
        .map(str::to_string)
        .unwrap_or_else(|| ep.local.to_string());
    format!("{}://{host}{}", ep.scheme, ep.base)
}

async fn metadata(State(ep): State<Arc<Endpoint>>, headers: HeaderMap) -> Response {
    fhir_json(
        StatusCode::OK,
        &capability::statement(&base_url(&ep, &headers), ep.security),
    )
}

async fn system(State(ep): State<Arc<Endpoint>>, req: Request) -> Response {
    write(&ep, Target::System, req).await
}

async fn create(
    State(ep): State<Arc<Endpoint>>,
    Path(rtype): Path<String>,
    req: Request,
) -> Response {
    write(&ep, Target::Type(&rtype), req).await
}

async fn update(
    State(ep): State<Arc<Endpoint>>,
    Path((rtype, id)): Path<(String, String)>,
    req: Request,
) -> Response {
    if !request::valid_id(&id) {
        return Refusal::new(
            StatusCode::BAD_REQUEST,
            "invalid",
            "the id in the URL is not a FHIR id ([A-Za-z0-9-.], 1 to 64 characters)",
            "URL の id が FHIR の id の形式ではありません",
        )
        .into_response();
    }
    write(&ep, Target::Instance(&rtype, &id), req).await
}

async fn write(ep: &Endpoint, target: Target<'_>, req: Request) -> Response {
    match take(ep, target, req).await {
        Ok(r) => r,
        Err(refusal) => {
            ep.stats.refused(refusal.status);
            tracing::debug!(source = %ep.source, status = refusal.status.as_u16(), code = refusal.code, "FHIR request refused");
            refusal.into_response()
        }
    }
}

/// The accepted content types (parameters such as `charset` or `fhirVersion` allowed).
fn content_type_ok(headers: &HeaderMap) -> bool {
    let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    matches!(
        essence.as_str(),
        "application/fhir+json" | "application/json" | "application/json+fhir"
    )
}

/// `X-Request-Id`, when given: printable ASCII without spaces, 1 to 200 characters.
fn request_id(headers: &HeaderMap) -> Result<Option<String>, Refusal> {
    let Some(v) = headers.get("x-request-id") else {
        return Ok(None);
    };
    match v.to_str() {
        Ok(s) if (1..=200).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(Some(s.to_string()))
        }
        _ => Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "invalid",
            "X-Request-Id must be 1 to 200 printable ASCII characters without spaces",
            "X-Request-Id は空白を含まない1〜200文字の ASCII にしてください",
        )),
    }
}

fn too_large(max: usize) -> Refusal {
    Refusal::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too-long",
        format!(
            "the body is larger than this endpoint's max_body_bytes ({max}); nothing was stored"
        ),
        format!("本文が上限 max_body_bytes ({max} バイト) を超えているため保存しませんでした"),
    )
}

/// How much of a body over `max_body_bytes` is read and thrown away before the 413 is sent, so
/// that a client writing its whole body before reading the answer (most do) reads the 413
/// instead of a connection reset. A larger declared body is answered at once.
const DRAIN_CAP: u64 = 256 * 1024 * 1024;

/// A body being read: kept up to the cap, past it only counted.
struct Collected {
    kept: Vec<u8>,
    seen: u64,
}

/// Why a body could not be read to its end.
struct Incomplete;

impl Collected {
    fn over(&self, max: usize) -> bool {
        self.seen > max as u64
    }

    /// Reads `body` to its end, or (over `max`) until [`DRAIN_CAP`] bytes were seen.
    async fn read(&mut self, mut body: Body, max: usize) -> Result<(), Incomplete> {
        use http_body_util::BodyExt;
        while let Some(frame) = body.frame().await {
            let Ok(data) = frame.map_err(|_| Incomplete)?.into_data() else {
                continue; // trailers
            };
            self.seen = self.seen.saturating_add(data.len() as u64);
            if !self.over(max) {
                self.kept.extend_from_slice(&data);
            } else if !self.kept.is_empty() {
                self.kept = Vec::new();
            }
            if self.seen > DRAIN_CAP {
                break;
            }
        }
        Ok(())
    }
}

/// Whether the client waits for `100 Continue` before sending its body.
fn expects_continue(headers: &HeaderMap) -> bool {
    headers
        .get(header::EXPECT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
}

/// The declared `Content-Length`, if any.
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

/// Refuses at once a declared length over the cap when nothing would be gained by reading: the
/// client waits for `100 Continue` (it then sends nothing), or the length is over [`DRAIN_CAP`].
fn refuse_at_once(
    ep: &Endpoint,
    headers: &HeaderMap,
    declared: Option<u64>,
) -> Result<(), Refusal> {
    let over = declared.is_some_and(|n| n > ep.max_body as u64);
    if over && (expects_continue(headers) || declared.is_some_and(|n| n > DRAIN_CAP)) {
        return Err(too_large(ep.max_body));
    }
    Ok(())
}

/// Reads the body within `body_timeout`. Over `max_body_bytes` (read, or declared and not all
/// sent in time) is a 413, whatever else happened.
async fn read_body(ep: &Endpoint, body: Body, declared: Option<u64>) -> Result<Vec<u8>, Refusal> {
    let mut got = Collected {
        kept: Vec::new(),
        seen: 0,
    };
    let read = tokio::time::timeout(ep.body_timeout, got.read(body, ep.max_body)).await;
    let over = got.over(ep.max_body) || declared.is_some_and(|n| n > ep.max_body as u64);
    match read {
        _ if over => Err(too_large(ep.max_body)),
        Ok(Ok(())) => Ok(got.kept),
        Err(_) => Err(Refusal::new(
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            "the body did not arrive within body_timeout_secs; nothing was stored",
            "本文が時間内に届かなかったため保存しませんでした",
        )),
        Ok(Err(Incomplete)) => Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "incomplete",
            "the body could not be read to its end; nothing was stored",
            "本文を最後まで読めなかったため保存しませんでした",
        )),
    }
}

async fn take(ep: &Endpoint, target: Target<'_>, req: Request) -> Result<Response, Refusal> {
    let (parts, body) = req.into_parts();
    let h = &parts.headers;
    super::auth::check(h, ep.token.as_deref())?;
    if !content_type_ok(h) {
        return Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not-supported",
            "send FHIR JSON: Content-Type application/fhir+json (or application/json)",
            "Content-Type は application/fhir+json (または application/json) にしてください",
        ));
    }
    let request_id = request_id(h)?;
    let declared = declared_length(h);
    refuse_at_once(ep, h, declared)?;
    let bytes = read_body(ep, body, declared).await?;
    let taken = request::check(target, &bytes)?;
    let origin = origin(request_id.as_deref(), target, &bytes);
    // From here until the answer is built the connection is not evicted.
    let seat = parts.extensions.get::<SeatHandle>().cloned();
    let _in_flight = match &seat {
        Some(s) => Some(s.0.begin_message().ok_or_else(closing)?),
        None => None,
    };
    let message = |raw| IncomingMessage {
        source: ep.source.clone(),
        origin,
        raw,
    };
    let (inbox_id, taken) = match request_id {
        None => (commit(ep, message(bytes)).await?, taken),
        Some(_) => commit_request(ep, message(bytes.clone()), target, taken, &bytes).await?,
    };
    tracing::debug!(source = %ep.source, inbox_id, "FHIR request stored");
    let mut r = answer::build(taken, inbox_id, &base_url(ep, h), Prefer::from_headers(h));
    if let Some(id) = request_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        r.headers_mut().insert("x-request-id", id);
    }
    Ok(r)
}

/// Commits a request without `X-Request-Id`: stored once per (source, origin, bytes).
async fn commit(ep: &Endpoint, message: IncomingMessage) -> Result<i64, Refusal> {
    let committed = ep
        .intake
        .commit_message(message)
        .await
        .map_err(|e| store_refusal(&ep.source, &e))?;
    Ok(counted(ep, committed))
}

fn counted(ep: &Endpoint, committed: Committed) -> i64 {
    match committed {
        Committed::Stored { inbox_id } => {
            ep.stats.stored();
            inbox_id
        }
        Committed::AlreadyStored { inbox_id } => {
            ep.stats.duplicate();
            inbox_id
        }
    }
}

/// Commits a request with `X-Request-Id`: stored once per (source, request id). A retry whose
/// body is the same JSON as the stored one (however serialised) is answered from the stored
/// input, exactly as the first time; a different body under a used id is a 409.
async fn commit_request(
    ep: &Endpoint,
    message: IncomingMessage,
    target: Target<'_>,
    taken: Taken,
    bytes: &[u8],
) -> Result<(i64, Taken), Refusal> {
    let committed = ep
        .intake
        .commit_once_per_origin(message)
        .await
        .map_err(|e| store_refusal(&ep.source, &e))?;
    match committed {
        OriginCommit::Committed(c) => Ok((counted(ep, c), taken)),
        OriginCommit::OtherBytes { inbox_id, raw } => {
            let earlier = raw.as_deref().and_then(|r| same_request(target, r, bytes));
            let taken = earlier.ok_or_else(request_id_reused)?;
            ep.stats.duplicate();
            Ok((inbox_id, taken))
        }
    }
}

/// The stored request `earlier`, taken as `target` takes it, if it is the same JSON as `now`
/// (member order and whitespace aside).
fn same_request(target: Target<'_>, earlier: &[u8], now: &[u8]) -> Option<Taken> {
    let same = request::parse(earlier).ok()? == request::parse(now).ok()?;
    same.then(|| request::check(target, earlier).ok()).flatten()
}

/// A used `X-Request-Id` with a different body. Not the first answer: that would acknowledge
/// content that was never stored. 409: the request conflicts with what the server holds, and
/// sending it again unchanged cannot succeed (clients do not retry it).
fn request_id_reused() -> Refusal {
    Refusal::new(
        StatusCode::CONFLICT,
        "conflict",
        "this X-Request-Id was used for a request with a different body, which is stored; nothing was stored now: send new content with a new X-Request-Id",
        "この X-Request-Id は内容の異なる別の要求で使用済みです (そちらを保存済み)。今回は保存していません。新しい内容は新しい X-Request-Id で送ってください",
    )
}

/// The deduplication origin: `request:<X-Request-Id>`, else `bundle:<system>|<value>` of a
/// Bundle's identifier, else the URL's `[type]/[id]` or `[type]` (`Bundle` at the base). The
/// store keeps one input per (source, origin, content).
fn origin(request_id: Option<&str>, target: Target<'_>, bytes: &[u8]) -> String {
    if let Some(id) = request_id {
        return format!("request:{id}");
    }
    let identifier = request::parse(bytes)
        .ok()
        .filter(|b| b.get("resourceType").and_then(|t| t.as_str()) == Some("Bundle"))
        .and_then(|b| request::bundle_identifier(&b));
    if let Some(i) = identifier {
        return format!("bundle:{i}");
    }
    match target {
        Target::System => "Bundle".into(),
        Target::Type(t) => t.into(),
        Target::Instance(t, id) => format!("{t}/{id}"),
    }
}

fn closing() -> Refusal {
    Refusal::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "transient",
        "the endpoint is closing this connection; send the request again",
        "接続を閉じているところです。もう一度送信してください",
    )
    .retry_after(1)
}

fn store_refusal(source: &str, e: &IntakeError) -> Refusal {
    match e {
        IntakeError::Paused => {
            tracing::warn!(source, "FHIR request refused: disk reserve reached / 空き容量が下限に達したため受付を停止中");
            Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "transient",
                "the receiver is low on disk space and paused intake; nothing was stored, send it again later",
                "空き容量が不足しているため受付を停止中です。保存していません。後で再送してください",
            )
            .retry_after(60)
        }
        IntakeError::Store(reason) => {
            tracing::warn!(source, error = %reason, "FHIR request refused: the store failed");
            Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "transient",
                "the receiver could not store the request; nothing was stored, send it again later",
                "保存できませんでした。後で再送してください",
            )
            .retry_after(5)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        let mut h = HeaderMap::new();
        assert!(!content_type_ok(&h));
        for ok in [
            "application/fhir+json",
            "application/json; charset=utf-8",
            "Application/FHIR+JSON;fhirVersion=4.0",
        ] {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_str(ok).unwrap());
            assert!(content_type_ok(&h), "{ok}");
        }
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/fhir+xml"),
        );
        assert!(!content_type_ok(&h));
    }

    #[test]
    fn origins_prefer_the_request_id_then_the_bundle_identifier() {
        let b = br#"{"resourceType":"Bundle","identifier":{"system":"urn:s","value":"1"}}"#;
        assert_eq!(origin(Some("abc"), Target::System, b), "request:abc");
        assert_eq!(origin(None, Target::System, b), "bundle:urn:s|1");
        assert_eq!(
            origin(None, Target::Instance("Patient", "p1"), b"{}"),
            "Patient/p1"
        );
        assert_eq!(origin(None, Target::Type("Condition"), b"{}"), "Condition");
    }

    #[test]
    fn request_ids_are_checked() {
        let mut h = HeaderMap::new();
        assert_eq!(request_id(&h).unwrap(), None);
        h.insert("x-request-id", HeaderValue::from_static("a-1"));
        assert_eq!(request_id(&h).unwrap().as_deref(), Some("a-1"));
        h.insert("x-request-id", HeaderValue::from_static("a b"));
        assert!(request_id(&h).is_err());
    }
}
