//! `cert:NAME`: each configured certificate can be read, its key belongs to it, it is within
//! its validity (warn 30 days before the end), and the uplink's client certificate chains to
//! the configured CA. Certificates are parsed with `x509-parser`; only file names, dates and
//! counts are reported (never key material or certificate subjects).

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use super::{fix, Check, Fix, Setting};
use crate::config::Config;
use crate::uplink::{load_certs, load_key, resolve, Route};

/// Warn this many days before a certificate ends.
const WARN_DAYS: i64 = 30;

pub fn checks(s: &Setting) -> Vec<Check> {
    let Some(cfg) = &s.config else {
        return Vec::new();
    };
    let mut out = uplink(cfg, &s.base);
    for (_, source) in cfg.source.described() {
        if let Some(t) = source.tls {
            out.push(pair(&format!("cert:{}", source.name), t.cert, t.key, None));
        }
    }
    if let Some((c, k)) = cfg.ops.tls() {
        out.push(pair("cert:ops", c, k, None));
    }
    out
}

/// The Web API route's CA file and client identity.
fn uplink(cfg: &Config, base: &Path) -> Vec<Check> {
    let Some(web) = cfg
        .uplink
        .web_api
        .as_ref()
        .filter(|_| cfg.uplink.route == Route::WebApi)
    else {
        return Vec::new();
    };
    let ca = web.ca_cert.as_deref().map(|p| resolve(base, p));
    let mut out = Vec::new();
    if let Some(ca) = &ca {
        out.push(ca_file(ca));
    }
    if let (Some(c), Some(k)) = (&web.client_cert, &web.client_key) {
        out.push(pair(
            "cert:client",
            &resolve(base, c),
            &resolve(base, k),
            ca.as_deref(),
        ));
    }
    out
}

fn unreadable(name: &str, detail: String, path: &Path) -> Check {
    Check::fail(
        name,
        detail,
        fix(
            format!("{} を置き直すか、設定のパスを直してください。エージェントのアカウントが読める必要があります", path.display()),
            format!("put {} back or fix its path in the config; the agent's account must be able to read it", path.display()),
        ),
    )
}

/// The CA file: readable, each certificate parses and is within its validity.
fn ca_file(path: &Path) -> Check {
    let name = "cert:ca";
    let certs = match load_certs(path) {
        Ok(c) => c,
        Err(e) => return unreadable(name, e.to_string(), path),
    };
    let mut worst = Check::ok(
        name,
        format!("{}: {} certificate(s)", path.display(), certs.len()),
    );
    for der in &certs {
        let c = validity(name, path, der);
        if c.status > worst.status {
            worst = c;
        }
    }
    worst
}

/// A certificate file and its key: readable, matching, valid; chained to `ca` when given.
fn pair(name: &str, cert: &Path, key: &Path, ca: Option<&Path>) -> Check {
    let chain = match load_certs(cert) {
        Ok(c) => c,
        Err(e) => return unreadable(name, e.to_string(), cert),
    };
    let key_der = match load_key(key) {
        Ok(k) => k,
        Err(e) => return unreadable(name, e.to_string(), key),
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    if let Err(e) = rustls::sign::CertifiedKey::from_der(chain.clone(), key_der, &provider) {
        return Check::fail(
            name,
            format!("{} does not belong to {}: {e}", key.display(), cert.display()),
            fix(
                "証明書と同時に発行された秘密鍵を指定してください (証明書を更新したら鍵も)",
                "name the private key issued with this certificate (a renewed certificate needs its new key)",
            ),
        );
    }
    let valid = validity(name, cert, &chain[0]);
    if valid.status != super::Status::Ok {
        return valid;
    }
    match ca.map(|ca| chained(&chain, ca)) {
        Some(Err(reason)) => Check::warn(
            name,
            format!("{}: {reason}", cert.display()),
            fix(
                "プラットフォームが別のCAで発行した証明書なら問題ありません。そうでなければ ca_cert と証明書の発行元を確認してください",
                "fine if the platform issued it under another CA; otherwise check ca_cert and who issued the certificate",
            ),
        ),
        _ => Check::ok(name, format!("{}, key matches", valid.detail)),
    }
}

/// Within its validity, with a warning [`WARN_DAYS`] before the end.
fn validity(name: &str, path: &Path, der: &CertificateDer<'_>) -> Check {
    let cert = match X509Certificate::from_der(der) {
        Ok((_, c)) => c,
        Err(e) => {
            return unreadable(
                name,
                format!("{}: not an X.509 certificate: {e}", path.display()),
                path,
            )
        }
    };
    let v = cert.validity();
    let now = chrono::Utc::now().timestamp();
    let ends = chrono::DateTime::from_timestamp(v.not_after.timestamp(), 0)
        .map_or_else(|| "?".into(), |t| t.format("%Y-%m-%d").to_string());
    let days_left = (v.not_after.timestamp() - now) / 86_400;
    let renew = || -> Fix {
        fix(
            format!(
                "{} を更新してください (発行元に新しい証明書を依頼)",
                path.display()
            ),
            format!(
                "renew {} (ask its issuer for a new certificate)",
                path.display()
            ),
        )
    };
    if now < v.not_before.timestamp() {
        Check::fail(
            name,
            format!("{} is not valid yet (check the clock)", path.display()),
            renew(),
        )
    } else if days_left < 0 {
        Check::fail(
            name,
            format!("{} expired on {ends}", path.display()),
            renew(),
        )
    } else if days_left < WARN_DAYS {
        Check::warn(
            name,
            format!(
                "{} expires on {ends} ({days_left} days left)",
                path.display()
            ),
            renew(),
        )
    } else {
        Check::ok(name, format!("{} valid until {ends}", path.display()))
    }
}

/// Whether the leaf chains, through the file's own intermediates, to a certificate of `ca`
/// (each signature checked).
fn chained(chain: &[CertificateDer<'_>], ca: &Path) -> Result<(), String> {
    let roots = load_certs(ca).map_err(|e| e.to_string())?;
    let roots: Vec<X509Certificate<'_>> = roots.iter().filter_map(parsed).collect();
    let chain: Vec<X509Certificate<'_>> = chain.iter().filter_map(parsed).collect();
    let mut current = chain.first().ok_or("no certificate")?;
    for _ in 0..=chain.len() {
        if roots.iter().any(|r| signed_by(current, r)) {
            return Ok(());
        }
        match chain[1..].iter().find(|i| signed_by(current, i)) {
            Some(next) => current = next,
            None => break,
        }
    }
    Err(format!(
        "does not chain to a certificate in {}",
        ca.display()
    ))
}

fn parsed<'a>(der: &'a CertificateDer<'_>) -> Option<X509Certificate<'a>> {
    X509Certificate::from_der(der).map(|(_, c)| c).ok()
}

fn signed_by(cert: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> bool {
    cert.issuer() == issuer.subject() && cert.verify_signature(Some(issuer.public_key())).is_ok()
}

#[cfg(test)]
mod tests {
    use chrono::Datelike;

    use super::*;
    use crate::cli::doctor::Status;
    use crate::uplink::test_pki::Pki;

    /// A self-signed certificate and its key ending `days` from today, written into `dir`.
    fn ending_in(dir: &Path, days: i64) -> (std::path::PathBuf, std::path::PathBuf) {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
        let ymd = |d: chrono::DateTime<chrono::Utc>| {
            rcgen::date_time_ymd(d.year(), d.month() as u8, d.day() as u8)
        };
        let now = chrono::Utc::now();
        params.not_before = ymd(now - chrono::Duration::days(400));
        params.not_after = ymd(now + chrono::Duration::days(days));
        let cert = params.self_signed(&key).unwrap();
        let (c, k) = (
            dir.join(format!("c{days}.pem")),
            dir.join(format!("k{days}.pem")),
        );
        std::fs::write(&c, cert.pem()).unwrap();
        std::fs::write(&k, key.serialize_pem()).unwrap();
        (c, k)
    }

    #[test]
    fn expiry_warns_at_30_days_and_fails_after_the_end() {
        let dir = tempfile::tempdir().unwrap();
        for (days, want) in [(90, Status::Ok), (10, Status::Warn), (-2, Status::Fail)] {
            let (c, k) = ending_in(dir.path(), days);
            let got = pair("cert:x", &c, &k, None);
            assert_eq!(got.status, want, "{days} days: {got:?}");
        }
    }

    #[test]
    fn a_foreign_key_fails_and_a_chain_to_another_ca_warns() {
        let pki = Pki::new();
        let ok = pair(
            "cert:client",
            &pki.client_cert_path,
            &pki.client_key_path,
            Some(&pki.ca_path),
        );
        assert_eq!(ok.status, Status::Ok, "{ok:?}");
        let foreign = pair(
            "cert:client",
            &pki.client_cert_path,
            &pki.server_key_path,
            None,
        );
        assert_eq!(foreign.status, Status::Fail, "{foreign:?}");
        assert!(foreign.detail.contains("server-key.pem"), "{foreign:?}");
        let other = Pki::new();
        let unchained = pair(
            "cert:client",
            &pki.client_cert_path,
            &pki.client_key_path,
            Some(&other.ca_path),
        );
        assert_eq!(unchained.status, Status::Warn, "{unchained:?}");
    }
}
