//! Test PKI: the certificates the simulator and the agent use for mutual TLS on loopback.
//!
//! Owns generating (with `rcgen`) and locating the PEM files of a small throw-away PKI:
//! - a CA that signs a server certificate (`localhost` + IP `127.0.0.1`) and a client certificate;
//! - a second, unrelated "wrong" CA with its own server certificate, for the test where the agent
//!   must refuse a server it cannot verify.
//!
//! Invariants: private keys are written owner-only (0600); every file is written to a `.tmp` name
//! and renamed, so a directory either holds a complete PKI or `load_or_generate` regenerates it.
//! These keys are for tests and the demo only; nothing here is suitable for production.

use std::fs;
use std::path::{Path, PathBuf};

use crate::durable;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

/// Failure to generate or write the test PKI.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// Certificate or key generation failed.
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    /// A PKI file could not be written.
    #[error("cannot write PKI file {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Paths of the PEM files of a generated test PKI (all inside one directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestPki {
    pub dir: PathBuf,
    pub ca_cert: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    pub wrong_ca_cert: PathBuf,
    pub wrong_server_cert: PathBuf,
    pub wrong_server_key: PathBuf,
}

impl TestPki {
    /// The file paths a PKI in `dir` uses (whether or not they exist yet).
    pub fn paths(dir: &Path) -> TestPki {
        let p = |name: &str| dir.join(name);
        TestPki {
            dir: dir.to_path_buf(),
            ca_cert: p("ca.pem"),
            server_cert: p("server.pem"),
            server_key: p("server.key"),
            client_cert: p("client.pem"),
            client_key: p("client.key"),
            wrong_ca_cert: p("wrong-ca.pem"),
            wrong_server_cert: p("wrong-server.pem"),
            wrong_server_key: p("wrong-server.key"),
        }
    }

    fn all_files(&self) -> [&Path; 8] {
        [
            &self.ca_cert,
            &self.server_cert,
            &self.server_key,
            &self.client_cert,
            &self.client_key,
            &self.wrong_ca_cert,
            &self.wrong_server_cert,
            &self.wrong_server_key,
        ]
    }

    /// Generates a fresh PKI into `dir` (created if missing), overwriting existing files.
    pub fn generate(dir: &Path) -> Result<TestPki, PkiError> {
        fs::create_dir_all(dir).map_err(|source| PkiError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
        let pki = TestPki::paths(dir);

        let ca = new_ca("tsunagi test CA")?;
        let server = new_leaf(&ca, "localhost", true)?;
        let client = new_leaf(&ca, "tsunagi test client", false)?;
        let wrong_ca = new_ca("tsunagi WRONG test CA")?;
        let wrong_server = new_leaf(&wrong_ca, "localhost", true)?;

        write_file(&pki.ca_cert, ca.pem().as_bytes(), false)?;
        write_file(&pki.server_cert, server.0.as_bytes(), false)?;
        write_file(&pki.server_key, server.1.as_bytes(), true)?;
        write_file(&pki.client_cert, client.0.as_bytes(), false)?;
        write_file(&pki.client_key, client.1.as_bytes(), true)?;
        write_file(&pki.wrong_ca_cert, wrong_ca.pem().as_bytes(), false)?;
        write_file(&pki.wrong_server_cert, wrong_server.0.as_bytes(), false)?;
        write_file(&pki.wrong_server_key, wrong_server.1.as_bytes(), true)?;
        Ok(pki)
    }

    /// Reuses the PKI in `dir` when every file is present, otherwise generates a new one.
    pub fn load_or_generate(dir: &Path) -> Result<TestPki, PkiError> {
        let pki = TestPki::paths(dir);
        if pki.all_files().iter().all(|p| p.is_file()) {
            return Ok(pki);
        }
        TestPki::generate(dir)
    }
}

/// What the simulator's TLS listener presents and whom it trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerTls {
    /// Server certificate chain (PEM).
    pub cert: PathBuf,
    /// Server private key (PEM).
    pub key: PathBuf,
    /// CA certificate(s) (PEM) a client certificate must chain to.
    pub client_ca: PathBuf,
    /// Certificate/key presented instead when the `wrong-cert` fault is set at start.
    pub wrong_cert: Option<(PathBuf, PathBuf)>,
}

impl ServerTls {
    /// The normal server identity of `pki`, trusting `pki`'s CA for clients.
    pub fn from_pki(pki: &TestPki) -> ServerTls {
        ServerTls {
            cert: pki.server_cert.clone(),
            key: pki.server_key.clone(),
            client_ca: pki.ca_cert.clone(),
            wrong_cert: Some((pki.wrong_server_cert.clone(), pki.wrong_server_key.clone())),
        }
    }

    /// Presents the server certificate of the unrelated "wrong" CA (clients still verified
    /// against `pki`'s CA), so an agent trusting only `pki.ca_cert` must refuse the server.
    pub fn wrong_ca_from_pki(pki: &TestPki) -> ServerTls {
        ServerTls {
            cert: pki.wrong_server_cert.clone(),
            key: pki.wrong_server_key.clone(),
            client_ca: pki.ca_cert.clone(),
            wrong_cert: None,
        }
    }
}

fn new_ca(name: &str) -> Result<CertifiedIssuer<'static, KeyPair>, rcgen::Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "tsunagi tests");
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    CertifiedIssuer::self_signed(params, KeyPair::generate()?)
}

/// Returns (certificate PEM, private key PEM).
fn new_leaf(
    ca: &CertifiedIssuer<'static, KeyPair>,
    name: &str,
    server: bool,
) -> Result<(String, String), rcgen::Error> {
    let sans = if server {
        vec!["localhost".to_string(), "127.0.0.1".to_string()]
    } else {
        Vec::new()
    };
    let mut params = CertificateParams::new(sans)?;
    params.distinguished_name.push(DnType::CommonName, name);
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![if server {
        ExtendedKeyUsagePurpose::ServerAuth
    } else {
        ExtendedKeyUsagePurpose::ClientAuth
    }];
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, ca)?;
    Ok((cert.pem(), key.serialize_pem()))
}

fn write_file(path: &Path, contents: &[u8], secret: bool) -> Result<(), PkiError> {
    let mode = if secret {
        durable::PRIVATE
    } else {
        durable::PUBLIC
    };
    durable::write_atomic(path, contents, mode).map_err(|source| PkiError::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_all_files_with_private_keys_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let pki = TestPki::generate(dir.path()).unwrap();
        for f in pki.all_files() {
            let text = fs::read_to_string(f).unwrap();
            assert!(text.contains("-----BEGIN"), "{f:?} is not PEM");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for key in [&pki.server_key, &pki.client_key, &pki.wrong_server_key] {
                let mode = fs::metadata(key).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{key:?}");
            }
        }
    }

    #[test]
    fn load_or_generate_reuses_existing_files() {
        let dir = tempfile::tempdir().unwrap();
        let first = TestPki::load_or_generate(dir.path()).unwrap();
        let ca_before = fs::read(&first.ca_cert).unwrap();
        let second = TestPki::load_or_generate(dir.path()).unwrap();
        assert_eq!(first, second);
        assert_eq!(ca_before, fs::read(&second.ca_cert).unwrap());
    }

    #[test]
    fn wrong_ca_differs_from_ca() {
        let dir = tempfile::tempdir().unwrap();
        let pki = TestPki::generate(dir.path()).unwrap();
        assert_ne!(
            fs::read(&pki.ca_cert).unwrap(),
            fs::read(&pki.wrong_ca_cert).unwrap()
        );
        let wrong = ServerTls::wrong_ca_from_pki(&pki);
        assert_eq!(wrong.cert, pki.wrong_server_cert);
        assert_eq!(wrong.client_ca, pki.ca_cert);
    }
}
