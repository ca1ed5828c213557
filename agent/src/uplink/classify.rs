//! What a platform answer or a transport failure means for the outbox: the pure half of the Web
//! API client. Status codes, `Retry-After`, OperationOutcome bodies and error chains go in; an
//! [`Outcome`] comes out. Kept free of I/O so every rule is unit-tested.
//!
//! | answer                                   | outcome                                   |
//! |------------------------------------------|-------------------------------------------|
//! | 2xx (`X-Duplicate: true` → duplicate)    | `Accepted { receipt: X-Receipt-Id }`      |
//! | 408                                      | `Transient { Server }`                    |
//! | 429                                      | `Transient { RateLimited, Retry-After }`  |
//! | other 4xx                                | `Rejected { status, OperationOutcome }`   |
//! | 5xx                                      | `Transient { Server, Retry-After }`       |
//! | 1xx, 3xx (redirects are not followed)    | `Transient { Server }` (misconfiguration) |
//! | a `rustls::Error` anywhere in the chain  | `Transient { Tls }`                       |
//! | connect phase failed (refused, DNS)      | `Transient { Connect }`                   |
//! | connect phase timed out                  | `Transient { Timeout }`                   |
//! | anything after the request went out      | `Ambiguous` (resend with the same key)    |
//!
//! Reasons never quote the request body; a non-OperationOutcome answer body is described only by
//! its length (it could echo what we sent).

use std::error::Error as StdError;
use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::retry::RETRY_AFTER_CAP;
use super::{Outcome, TransientKind};

/// Reasons are stored with the outbox item; keep them readable and bounded.
pub const MAX_REASON_BYTES: usize = 2000;
const MAX_RECEIPT_LEN: usize = 200;

/// The parts of an HTTP answer that decide the outcome.
#[derive(Debug, Clone, Copy)]
pub struct Answer<'a> {
    pub status: u16,
    /// The `X-Duplicate` header, if present.
    pub duplicate: Option<&'a str>,
    /// The `X-Receipt-Id` header, if present.
    pub receipt: Option<&'a str>,
    /// The `Retry-After` header, already parsed.
    pub retry_after: Option<Duration>,
    pub body: &'a [u8],
}

/// The outcome of a complete HTTP answer.
pub fn classify_answer(a: &Answer<'_>) -> Outcome {
    let status = a.status;
    match status {
        200..=299 => Outcome::Accepted {
            receipt: a.receipt.and_then(clean_receipt),
            duplicate: a
                .duplicate
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true")),
        },
        429 => Outcome::Transient {
            kind: TransientKind::RateLimited,
            reason: status_reason(status, a.body),
            retry_after: a.retry_after,
        },
        408 => Outcome::Transient {
            kind: TransientKind::Server,
            reason: status_reason(status, a.body),
            retry_after: a.retry_after,
        },
        400..=499 => Outcome::Rejected {
            status: Some(status),
            reason: status_reason(status, a.body),
        },
        500..=599 => Outcome::Transient {
            kind: TransientKind::Server,
            reason: status_reason(status, a.body),
            retry_after: a.retry_after,
        },
        _ => Outcome::Transient {
            kind: TransientKind::Server,
            reason: format!(
                "{} (unexpected; is uplink.web_api.url right?)",
                status_line(status)
            ),
            retry_after: None,
        },
    }
}

/// `HTTP 422 Unprocessable Entity: <issues>`, or the body's size when it is no OperationOutcome.
fn status_reason(status: u16, body: &[u8]) -> String {
    let head = status_line(status);
    let text = match operation_outcome_text(body) {
        Some(issues) => format!("{head}: {issues}"),
        None if body.is_empty() => head,
        None => format!("{head} (no OperationOutcome; {} bytes)", body.len()),
    };
    bounded(text)
}

fn status_line(status: u16) -> String {
    match reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
    {
        Some(name) => format!("HTTP {status} {name}"),
        None => format!("HTTP {status}"),
    }
}

/// A receipt id is kept only when it is short visible ASCII (it goes into the database and logs).
pub fn clean_receipt(raw: &str) -> Option<String> {
    let r = raw.trim();
    let ok = !r.is_empty() && r.len() <= MAX_RECEIPT_LEN && r.bytes().all(|b| b.is_ascii_graphic());
    ok.then(|| r.to_owned())
}

/// The issues of a FHIR OperationOutcome as one line:
/// `error invalid [rule-key] @Bundle.entry[0]: text (diagnostics) | ...`, bounded in length.
/// `None` when `body` is not an OperationOutcome with at least one issue.
pub fn operation_outcome_text(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    if v.get("resourceType")?.as_str()? != "OperationOutcome" {
        return None;
    }
    let issues = v.get("issue")?.as_array()?;
    if issues.is_empty() {
        return None;
    }
    let parts: Vec<String> = issues.iter().map(issue_text).collect();
    let mut text = parts.join(" | ");
    if text.len() > MAX_REASON_BYTES {
        let suffix = format!(" … ({} issues in total)", issues.len());
        truncate_at_char(&mut text, MAX_REASON_BYTES.saturating_sub(suffix.len()));
        text.push_str(&suffix);
    }
    Some(text)
}

fn issue_text(issue: &Value) -> String {
    let s = |v: Option<&Value>| v.and_then(Value::as_str).map(one_line);
    let mut out = String::new();
    let head: Vec<String> = [s(issue.get("severity")), s(issue.get("code"))]
        .into_iter()
        .flatten()
        .collect();
    out.push_str(&head.join(" "));
    let details = issue.get("details");
    let rules: Vec<String> = details
        .and_then(|d| d.get("coding"))
        .and_then(Value::as_array)
        .map(|cs| cs.iter().filter_map(|c| s(c.get("code"))).collect())
        .unwrap_or_default();
    if !rules.is_empty() {
        out.push_str(&format!(" [{}]", rules.join(",")));
    }
    let exprs: Vec<String> = issue
        .get("expression")
        .and_then(Value::as_array)
        .map(|es| es.iter().filter_map(|e| s(Some(e))).collect())
        .unwrap_or_default();
    if !exprs.is_empty() {
        out.push_str(&format!(" @{}", exprs.join(",")));
    }
    let text = s(details.and_then(|d| d.get("text")));
    let diagnostics = s(issue.get("diagnostics"));
    match (text, diagnostics) {
        (Some(t), Some(d)) => out.push_str(&format!(": {t} ({d})")),
        (Some(t), None) | (None, Some(t)) => out.push_str(&format!(": {t}")),
        (None, None) => {}
    }
    let trimmed = out.trim_start().to_owned();
    if trimmed.is_empty() {
        "(empty issue)".into()
    } else {
        trimmed
    }
}

/// Control characters (newlines included) become spaces so a reason stays one log-safe line.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn truncate_at_char(s: &mut String, max: usize) {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
}

/// Cap a reason at [`MAX_REASON_BYTES`].
pub fn bounded(mut s: String) -> String {
    if s.len() > MAX_REASON_BYTES {
        truncate_at_char(&mut s, MAX_REASON_BYTES - "…".len());
        s.push('…');
    }
    s
}

/// `Retry-After` as delta-seconds or an HTTP-date (IMF-fixdate, RFC 850, asctime), relative to
/// `now`. A date in the past gives zero; an absurdly large number gives the one-hour cap.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        return Some(
            v.parse::<u64>()
                .map(Duration::from_secs)
                .unwrap_or(RETRY_AFTER_CAP),
        );
    }
    let when = parse_http_date(v)?;
    let when = SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(when.max(0) as u64))?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Seconds since the Unix epoch of an HTTP-date (always GMT).
fn parse_http_date(v: &str) -> Option<i64> {
    if let Ok(dt) = chrono::DateTime::parse_from_rfc2822(v) {
        return Some(dt.timestamp());
    }
    let body = v.strip_suffix(" GMT");
    let naive = body
        .and_then(|b| chrono::NaiveDateTime::parse_from_str(b, "%A, %d-%b-%y %H:%M:%S").ok())
        .or_else(|| chrono::NaiveDateTime::parse_from_str(v, "%a %b %e %H:%M:%S %Y").ok())?;
    Some(naive.and_utc().timestamp())
}

/// The outcome of a request that got no complete HTTP answer.
pub fn classify_transport(err: &reqwest::Error) -> Outcome {
    if let Some(tls) = find_rustls_error(err) {
        return Outcome::Transient {
            kind: TransientKind::Tls,
            reason: bounded(describe_tls(tls)),
            retry_after: None,
        };
    }
    let chain = error_chain(err);
    if err.is_connect() {
        let timed_out = err.is_timeout() || has_io_kind(err, std::io::ErrorKind::TimedOut);
        return Outcome::Transient {
            kind: if timed_out {
                TransientKind::Timeout
            } else {
                TransientKind::Connect
            },
            reason: chain,
            retry_after: None,
        };
    }
    if err.is_timeout() {
        return Outcome::Ambiguous {
            reason: bounded(format!("no answer in time after sending: {chain}")),
        };
    }
    Outcome::Ambiguous {
        reason: bounded(format!("sent, but the answer was lost: {chain}")),
    }
}

/// The first `rustls::Error` in the chain. `io::Error::source()` skips the error it wraps (it
/// returns the inner error's source), so wrapped errors are opened with `get_ref()`.
pub fn find_rustls_error<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    let mut depth = 0;
    while let Some(e) = current {
        depth += 1;
        if depth > 32 {
            return None;
        }
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            current = Some(inner);
            continue;
        }
        current = e.source();
    }
    None
}

fn has_io_kind(err: &(dyn StdError + 'static), kind: std::io::ErrorKind) -> bool {
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    let mut depth = 0;
    while let Some(e) = current {
        depth += 1;
        if depth > 32 {
            return false;
        }
        if e.downcast_ref::<std::io::Error>().map(|io| io.kind()) == Some(kind) {
            return true;
        }
        current = e.source();
    }
    false
}

/// What the operator must know about a TLS failure, in words that point at the fix.
pub fn describe_tls(e: &rustls::Error) -> String {
    use rustls::AlertDescription as A;
    match e {
        rustls::Error::InvalidCertificate(c) => format!(
            "server certificate not trusted: {c} (check uplink.web_api.ca_cert and the URL's host \
             name) / サーバ証明書を信頼できません"
        ),
        rustls::Error::NoCertificatesPresented => "the server sent no certificate".into(),
        rustls::Error::AlertReceived(
            a @ (A::BadCertificate
            | A::UnsupportedCertificate
            | A::CertificateRevoked
            | A::CertificateExpired
            | A::CertificateUnknown
            | A::UnknownCA
            | A::AccessDenied
            | A::CertificateRequired),
        ) => format!(
            "the server refused our client certificate (TLS alert {a:?}; check \
             uplink.web_api.client_cert) / クライアント証明書が拒否されました"
        ),
        other => format!("TLS failure: {other}"),
    }
}

/// `a: b: c` over the error and its sources, skipping a message already contained in the
/// previous one (several layers repeat their inner error).
fn error_chain(err: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        if parts.len() >= 8 {
            break;
        }
        let msg = one_line(&e.to_string());
        if !parts.last().is_some_and(|p| p.contains(&msg)) {
            parts.push(msg);
        }
        current = e.source();
    }
    bounded(parts.join(": "))
}

#[cfg(test)]
#[path = "classify_tests.rs"]
mod tests;
