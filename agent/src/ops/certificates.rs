//! `tsunagi_certificate_expiry_timestamp_seconds{certificate=…}`: when each certificate the config
//! names ends (the uplink's client certificate and CA, the listeners' and the ops surface's
//! server certificates), so an operator's alert fires weeks before the platform refuses the
//! agent. Only the first certificate of each file and its end date are read.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use x509_parser::prelude::FromDer;

use super::OpsConfig;
use crate::source::kinds::Sources;
use crate::uplink::UplinkConfig;

/// The certificate files of a config (paths resolved), by the name the metric carries: the
/// uplink's, each listening source's (`KIND-NAME`) and the ops surface's.
pub fn files(
    uplink: &UplinkConfig,
    sources: &Sources,
    ops: &OpsConfig,
    base: &Path,
) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    if let Some(web) = &uplink.web_api {
        let resolve = |p: &Path| crate::uplink::resolve(base, p);
        if let Some(c) = &web.client_cert {
            out.push(("uplink-client".to_string(), resolve(c)));
        }
        if let Some(c) = &web.ca_cert {
            out.push(("uplink-ca".to_string(), resolve(c)));
        }
    }
    for (kind, source) in sources.described() {
        if let Some(t) = source.tls {
            out.push((format!("{kind}-{}", source.name), t.cert.to_path_buf()));
        }
    }
    if let Some((c, _)) = ops.tls() {
        out.push(("ops".to_string(), c.to_path_buf()));
    }
    out
}

/// The end of validity (seconds since the epoch) of the first certificate in a PEM file.
pub fn not_after(path: &Path) -> Option<i64> {
    let der: CertificateDer<'static> = CertificateDer::pem_file_iter(path).ok()?.next()?.ok()?;
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(&der).ok()?;
    Some(cert.validity().not_after.timestamp())
}

/// The metric family (empty when no certificate is configured; an unreadable file is left out,
/// `tsunagi doctor` names it).
pub fn family(certs: &[(String, PathBuf)]) -> String {
    let points: Vec<(String, i64)> = certs
        .iter()
        .filter_map(|(name, path)| Some((name.clone(), not_after(path)?)))
        .collect();
    if points.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "# HELP tsunagi_certificate_expiry_timestamp_seconds When each configured certificate ends (Unix seconds).\n# TYPE tsunagi_certificate_expiry_timestamp_seconds gauge\n",
    );
    for (name, t) in points {
        let _ = writeln!(
            out,
            "tsunagi_certificate_expiry_timestamp_seconds{{certificate=\"{name}\"}} {t}"
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_end_of_each_readable_certificate_is_a_point() {
        let pki = crate::uplink::test_pki::Pki::new();
        let missing = pki.dir.path().join("none.pem");
        let text = family(&[
            ("uplink-client".into(), pki.client_cert_path.clone()),
            ("gone".into(), missing),
        ]);
        assert!(text.contains("# TYPE tsunagi_certificate_expiry_timestamp_seconds gauge"));
        let line = text
            .lines()
            .find(|l| {
                l.starts_with(
                    "tsunagi_certificate_expiry_timestamp_seconds{certificate=\"uplink-client\"}",
                )
            })
            .expect("the client certificate's point");
        let t: i64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(t > chrono::Utc::now().timestamp(), "{line}");
        assert!(!text.contains("gone"));
        assert_eq!(family(&[]), "");
    }
}
