//! Test-only throw-away PKI (used by the uplink and MLLP TLS tests): a CA, a server certificate for 127.0.0.1/localhost and a client
//! certificate, written as PEM files in a temporary directory. Each CA gets a unique name, as two
//! real CAs would (same-named CAs make webpki report `BadSignature` instead of `UnknownIssuer`).

use std::path::PathBuf;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

pub struct Pki {
    pub dir: tempfile::TempDir,
    pub ca_pem: String,
    pub ca_path: PathBuf,
    pub server_cert_pem: String,
    pub server_key_pem: String,
    pub server_cert_path: PathBuf,
    pub server_key_path: PathBuf,
    pub client_cert_pem: String,
    pub client_key_pem: String,
    pub client_cert_path: PathBuf,
    pub client_key_path: PathBuf,
}

impl Pki {
    pub fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.distinguished_name.push(
            DnType::CommonName,
            format!("tsunagi test CA {}", uuid::Uuid::new_v4()),
        );
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate().unwrap();
        let mut sp = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
        sp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_cert = sp.signed_by(&server_key, &issuer).unwrap();

        let client_key = KeyPair::generate().unwrap();
        let mut cp = CertificateParams::new(Vec::<String>::new()).unwrap();
        cp.distinguished_name
            .push(DnType::CommonName, "tsunagi test hospital");
        cp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client_cert = cp.signed_by(&client_key, &issuer).unwrap();

        let write = |name: &str, pem: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, pem).unwrap();
            p
        };
        let ca_pem = ca_cert.pem();
        Pki {
            ca_path: write("ca.pem", &ca_pem),
            server_cert_path: write("server.pem", &server_cert.pem()),
            server_key_path: write("server-key.pem", &server_key.serialize_pem()),
            client_cert_pem: client_cert.pem(),
            client_key_pem: client_key.serialize_pem(),
            client_cert_path: write("client.pem", &client_cert.pem()),
            client_key_path: write("client-key.pem", &client_key.serialize_pem()),
            ca_pem,
            server_cert_pem: server_cert.pem(),
            server_key_pem: server_key.serialize_pem(),
            dir,
        }
    }
}
