//! Who may write: the bearer token of `token_file` (client certificates are checked by TLS
//! itself, before any request). `GET [base]/metadata` stays open: it says what the endpoint
//! does, nothing about patients.
//!
//! A write without `Authorization: Bearer …` gets 401 (with `WWW-Authenticate: Bearer`), one with
//! another token 403; both before the body is read. Tokens compare in constant time (the ops
//! surface's comparison).

use std::path::Path;

use axum::http::{header, HeaderMap, StatusCode};

use super::config::MIN_TOKEN_LEN;
use super::outcome::Refusal;

/// Reads the token: the file's first line, trimmed; at least [`MIN_TOKEN_LEN`] characters.
/// The error names the file and the reason, never the token.
pub fn load_token(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let token = text.lines().next().unwrap_or("").trim().to_string();
    if token.len() < MIN_TOKEN_LEN {
        return Err(format!(
            "the token (first line) is shorter than {MIN_TOKEN_LEN} characters"
        ));
    }
    Ok(token)
}

/// Whether the request carries `token`; `Err` is the answer when not.
pub fn check(headers: &HeaderMap, token: Option<&str>) -> Result<(), Refusal> {
    let Some(token) = token else { return Ok(()) };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        None => Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            "login",
            "a bearer token is required (Authorization: Bearer …)",
            "ベアラートークンが必要です",
        )),
        Some(g) if tsunagi_web::same(g.trim().as_bytes(), token.as_bytes()) => Ok(()),
        Some(_) => Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the bearer token is not the one configured",
            "ベアラートークンが一致しません",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn missing_is_401_wrong_is_403_right_passes() {
        let token = Some("0123456789abcdef");
        let mut h = HeaderMap::new();
        assert_eq!(
            check(&h, token).unwrap_err().status,
            StatusCode::UNAUTHORIZED
        );
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer nope"),
        );
        assert_eq!(check(&h, token).unwrap_err().status, StatusCode::FORBIDDEN);
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer 0123456789abcdef"),
        );
        assert!(check(&h, token).is_ok());
        assert!(check(&HeaderMap::new(), None).is_ok());
    }

    #[test]
    fn a_short_or_missing_token_file_is_refused_without_quoting_it() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("t");
        std::fs::write(&f, "short\n").unwrap();
        let e = load_token(&f).unwrap_err();
        assert!(!e.contains("short") || e.contains("shorter"), "{e}");
        std::fs::write(&f, "  0123456789abcdef  \nrest").unwrap();
        assert_eq!(load_token(&f).unwrap(), "0123456789abcdef");
        assert!(load_token(&dir.path().join("missing")).is_err());
    }
}
