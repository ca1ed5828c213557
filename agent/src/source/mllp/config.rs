//! `[[source.mllp]]` configuration: one listening socket, its limits, who may connect, and
//! optional TLS.
//!
//! TOML keys (snake_case, unknown keys rejected):
//!
//! | key                        | default            | meaning                                                  |
//! |----------------------------|--------------------|----------------------------------------------------------|
//! | `name`                     | required           | source name recorded with every stored message           |
//! | `listen`                   | `127.0.0.1:2575`   | address to bind; outside loopback see the exposure rule below |
//! | `max_message_bytes`        | 16777216 (16 MiB)  | larger frames are discarded and answered AR (CR)         |
//! | `idle_timeout_secs`        | 300                | a connection silent this long (nothing in flight) is closed |
//! | `frame_timeout_secs`       | 60                 | a frame must end (`0x1C`) this long after its first byte; not reset by further bytes; else the connection is closed and nothing stored |
//! | `max_connections`          | 256                | connections at once; at the cap a new one evicts the connection idle (or stalled mid-frame) the longest, never one with a message in flight |
//! | `max_connections_per_peer` | 32                 | connections at once from one IP address; more are closed at accept |
//! | `allow`                    | `[]` (everyone)    | peers allowed to connect: IP addresses or CIDR blocks (`["10.0.0.0/8", "192.168.1.20"]`); others are closed at accept |
//! | `insecure_plaintext`       | `false`            | outside loopback, serve plain TCP anyway (needs a non-empty `allow`) |
//! | `enhanced_ack`             | `false`            | honour MSH-15 (accept-ack type): answer CA/CE/CR, or nothing |
//! | `charset`                  | none               | overrides MSH-18 for the parser; passed through, not used here |
//! | `[source.mllp.tls]`        | none               | `cert`, `key` (PEM paths, relative to the config file), optional `client_ca` (PEM): require client certificates signed by it |
//!
//! Exposure rule (checked by [`MllpConfig::problems`], refused at config load and at bind): a
//! listener bound outside loopback (including `0.0.0.0` / `[::]`) needs `[source.mllp.tls]`, or
//! `insecure_plaintext = true` together with a non-empty `allow` list. HL7 v2 carries patient
//! data; it never crosses a network unencrypted to anyone who can reach the port.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::peers::PeerNet;

/// Default listen address: loopback, the IANA-registered HL7 port.
#[cfg(any(test, feature = "demo"))] // only `tsunagi demo` uses it
pub const DEFAULT_LISTEN: &str = "127.0.0.1:2575";
/// Default size limit (16 MiB).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;
/// Default idle timeout.
pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 300;
/// Default per-frame deadline.
pub const DEFAULT_FRAME_TIMEOUT_SECS: u64 = 60;
/// Default connection cap.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
/// Default connection cap per peer address.
pub const DEFAULT_MAX_CONNECTIONS_PER_PEER: usize = 32;

/// One MLLP listener.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MllpConfig {
    /// Source name (stored with every message; part of the deduplication key).
    pub name: String,
    /// Address to bind; port 0 picks a free port (see `MllpListener::local_addr`).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Largest accepted message (bytes between 0x0B and 0x1C).
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: usize,
    /// Seconds without any byte from the peer before the connection is closed.
    #[serde(default = "default_idle_timeout_secs")]
    pub idle_timeout_secs: u64,
    /// Seconds a frame may take from its first byte to its end (not reset by further bytes).
    #[serde(default = "default_frame_timeout_secs")]
    pub frame_timeout_secs: u64,
    /// Connections served at once (at the cap, the longest-idle one is evicted).
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Connections served at once from one peer IP address.
    #[serde(default = "default_max_connections_per_peer")]
    pub max_connections_per_peer: usize,
    /// Peers allowed to connect (empty: everyone).
    #[serde(default)]
    pub allow: Vec<PeerNet>,
    /// Outside loopback, serve plain TCP anyway (only with a non-empty `allow`).
    #[serde(default)]
    pub insecure_plaintext: bool,
    /// Honour MSH-15 (enhanced acknowledgement mode): commit ACKs CA/CE/CR, sent as MSH-15 asks.
    #[serde(default)]
    pub enhanced_ack: bool,
    /// Character set override for the parser (e.g. `"ISO-2022-JP"`); the listener stores raw bytes.
    #[serde(default)]
    pub charset: Option<String>,
    /// TLS; without it the listener speaks plain TCP.
    #[serde(default)]
    pub tls: Option<MllpTlsConfig>,
}

/// `[source.mllp.tls]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MllpTlsConfig {
    /// Server certificate chain, PEM.
    pub cert: PathBuf,
    /// Server private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// When set, clients must present a certificate signed by a CA in this PEM file.
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
}

fn default_listen() -> SocketAddr {
    // A constant that always parses.
    SocketAddr::from(([127, 0, 0, 1], 2575))
}
fn default_max_message_bytes() -> usize {
    DEFAULT_MAX_MESSAGE_BYTES
}
fn default_idle_timeout_secs() -> u64 {
    DEFAULT_IDLE_TIMEOUT_SECS
}
fn default_frame_timeout_secs() -> u64 {
    DEFAULT_FRAME_TIMEOUT_SECS
}
fn default_max_connections() -> usize {
    DEFAULT_MAX_CONNECTIONS
}
fn default_max_connections_per_peer() -> usize {
    DEFAULT_MAX_CONNECTIONS_PER_PEER
}

/// Largest `max_connections` (the drain waits on a counter of this width).
const MAX_CONNECTIONS_LIMIT: usize = (u32::MAX >> 4) as usize;

/// Why a `[[source.mllp]]` table is refused. Display is English; [`MllpConfigError::ja`] gives
/// the same in Japanese. Each names the listener and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MllpConfigError {
    /// `name` is empty.
    #[error("source.mllp: name must not be empty")]
    EmptyName,
    /// `max_message_bytes` below 64.
    #[error("source.mllp {0:?}: max_message_bytes must be at least 64")]
    MaxMessageBytes(String),
    /// `idle_timeout_secs` is 0.
    #[error("source.mllp {0:?}: idle_timeout_secs must be at least 1")]
    IdleTimeout(String),
    /// `frame_timeout_secs` is 0.
    #[error("source.mllp {0:?}: frame_timeout_secs must be at least 1")]
    FrameTimeout(String),
    /// `max_connections` out of range.
    #[error("source.mllp {0:?}: max_connections must be between 1 and {MAX_CONNECTIONS_LIMIT}")]
    MaxConnections(String),
    /// `max_connections_per_peer` is 0.
    #[error("source.mllp {0:?}: max_connections_per_peer must be at least 1")]
    MaxConnectionsPerPeer(String),
    /// Outside loopback with neither TLS nor the explicit plaintext opt-in.
    #[error("source.mllp {name:?}: listen {listen} is not loopback: set [source.mllp.tls] (cert, key), or insecure_plaintext = true together with an allow list of peers")]
    TlsRequired { name: String, listen: SocketAddr },
    /// Plaintext outside loopback without an allow list.
    #[error("source.mllp {name:?}: listen {listen} is not loopback and insecure_plaintext = true: set allow (the peers' IP addresses or CIDR blocks, e.g. [\"10.0.0.0/8\"])")]
    AllowRequired { name: String, listen: SocketAddr },
}

impl MllpConfigError {
    /// The same problem in Japanese.
    pub fn ja(&self) -> String {
        match self {
            MllpConfigError::EmptyName => "source.mllp: name を指定してください".into(),
            MllpConfigError::MaxMessageBytes(n) => {
                format!("source.mllp {n:?}: max_message_bytes は64以上にしてください")
            }
            MllpConfigError::IdleTimeout(n) => {
                format!("source.mllp {n:?}: idle_timeout_secs は1以上にしてください")
            }
            MllpConfigError::FrameTimeout(n) => {
                format!("source.mllp {n:?}: frame_timeout_secs は1以上にしてください")
            }
            MllpConfigError::MaxConnections(n) => format!(
                "source.mllp {n:?}: max_connections は1以上{MAX_CONNECTIONS_LIMIT}以下にしてください"
            ),
            MllpConfigError::MaxConnectionsPerPeer(n) => {
                format!("source.mllp {n:?}: max_connections_per_peer は1以上にしてください")
            }
            MllpConfigError::TlsRequired { name, listen } => format!(
                "source.mllp {name:?}: listen {listen} はループバック以外です。[source.mllp.tls] (cert, key) を設定するか、insecure_plaintext = true と allow (接続を許可する相手) を設定してください"
            ),
            MllpConfigError::AllowRequired { name, listen } => format!(
                "source.mllp {name:?}: listen {listen} はループバック以外で insecure_plaintext = true です。allow (接続を許可するIPアドレスまたはCIDR) を設定してください"
            ),
        }
    }
}

impl MllpConfig {
    /// A plain-TCP listener named `name` on `listen`, every other key at its default.
    #[cfg(test)]
    pub fn new(name: &str, listen: SocketAddr) -> Self {
        MllpConfig {
            name: name.to_owned(),
            listen,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            idle_timeout_secs: DEFAULT_IDLE_TIMEOUT_SECS,
            frame_timeout_secs: DEFAULT_FRAME_TIMEOUT_SECS,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_peer: DEFAULT_MAX_CONNECTIONS_PER_PEER,
            allow: Vec::new(),
            insecure_plaintext: false,
            enhanced_ack: false,
            charset: None,
            tls: None,
        }
    }

    /// Every problem serde cannot see (empty = usable).
    pub fn problems(&self) -> Vec<MllpConfigError> {
        let mut p = Vec::new();
        if self.name.trim().is_empty() {
            p.push(MllpConfigError::EmptyName);
        }
        let n = || self.name.clone();
        if self.max_message_bytes < 64 {
            p.push(MllpConfigError::MaxMessageBytes(n()));
        }
        if self.idle_timeout_secs == 0 {
            p.push(MllpConfigError::IdleTimeout(n()));
        }
        if self.frame_timeout_secs == 0 {
            p.push(MllpConfigError::FrameTimeout(n()));
        }
        if self.max_connections == 0 || self.max_connections > MAX_CONNECTIONS_LIMIT {
            p.push(MllpConfigError::MaxConnections(n()));
        }
        if self.max_connections_per_peer == 0 {
            p.push(MllpConfigError::MaxConnectionsPerPeer(n()));
        }
        if self.tls.is_none() && !self.listen.ip().is_loopback() {
            let (name, listen) = (n(), self.listen);
            if !self.insecure_plaintext {
                p.push(MllpConfigError::TlsRequired { name, listen });
            } else if self.allow.is_empty() {
                p.push(MllpConfigError::AllowRequired { name, listen });
            }
        }
        p
    }

    /// The first problem, if any (the listener refuses to bind with it).
    pub fn validate(&self) -> Result<(), MllpConfigError> {
        match self.problems().into_iter().next() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Makes relative TLS paths relative to `base` (the config file's directory).
    pub fn resolve_paths(&mut self, base: &Path) {
        let Some(tls) = &mut self.tls else { return };
        for p in [&mut tls.cert, &mut tls.key]
            .into_iter()
            .chain(tls.client_ca.as_mut())
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_tls_table() {
        let c: MllpConfig = toml::from_str(r#"name = "ehr""#).unwrap();
        assert_eq!(c, MllpConfig::new("ehr", DEFAULT_LISTEN.parse().unwrap()));
        let c: MllpConfig = toml::from_str(
            r#"
            name = "lab"
            listen = "0.0.0.0:2576"
            max_message_bytes = 1024
            idle_timeout_secs = 5
            max_connections = 4
            enhanced_ack = true
            charset = "ISO-2022-JP"
            [tls]
            cert = "c.pem"
            key = "k.pem"
            client_ca = "ca.pem"
            "#,
        )
        .unwrap();
        assert_eq!(c.listen.port(), 2576);
        assert!(c.enhanced_ack);
        assert!(c.validate().is_ok());
        assert_eq!(c.tls.unwrap().client_ca, Some(PathBuf::from("ca.pem")));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        assert!(toml::from_str::<MllpConfig>("name = \"a\"\nport = 1").is_err());
        assert!(toml::from_str::<MllpConfig>(
            "name = \"a\"\n[tls]\ncert=\"c\"\nkey=\"k\"\nca=\"x\""
        )
        .is_err());
        let mut c = MllpConfig::new("a", DEFAULT_LISTEN.parse().unwrap());
        c.max_connections = 0;
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("max_connections"));
        c.max_connections = 1;
        c.idle_timeout_secs = 0;
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("idle_timeout_secs"));
    }

    #[test]
    fn every_problem_is_listed_in_both_languages() {
        let mut c = MllpConfig::new("lab", "0.0.0.0:2575".parse().unwrap());
        c.frame_timeout_secs = 0;
        c.max_connections_per_peer = 0;
        let p = c.problems();
        assert_eq!(
            p,
            vec![
                MllpConfigError::FrameTimeout("lab".into()),
                MllpConfigError::MaxConnectionsPerPeer("lab".into()),
                MllpConfigError::TlsRequired {
                    name: "lab".into(),
                    listen: c.listen
                },
            ]
        );
        for e in &p {
            assert!(e.to_string().contains("\"lab\""), "{e}");
            assert!(e.ja().contains("\"lab\"") && e.ja() != e.to_string(), "{e}");
        }
    }

    #[test]
    fn outside_loopback_needs_tls_or_plaintext_with_an_allow_list() {
        let parse = |t: &str| toml::from_str::<MllpConfig>(t).unwrap().problems();
        let open = parse("name = \"ehr\"\nlisten = \"0.0.0.0:2575\"");
        assert!(
            matches!(&open[..], [MllpConfigError::TlsRequired { .. }]),
            "{open:?}"
        );
        assert!(open[0].to_string().contains("[source.mllp.tls]"));
        assert!(open[0].ja().contains("ループバック以外"));
        let no_allow =
            parse("name = \"ehr\"\nlisten = \"10.0.0.5:2575\"\ninsecure_plaintext = true");
        assert!(
            matches!(&no_allow[..], [MllpConfigError::AllowRequired { .. }]),
            "{no_allow:?}"
        );
        assert!(no_allow[0].to_string().contains("allow"));
        let fenced = parse(
            "name = \"ehr\"\nlisten = \"10.0.0.5:2575\"\ninsecure_plaintext = true\nallow = [\"10.0.0.0/8\", \"192.168.1.20\"]",
        );
        assert!(fenced.is_empty(), "{fenced:?}");
        let tls = parse("name = \"ehr\"\nlisten = \"[::]:2575\"\n[tls]\ncert = \"c\"\nkey = \"k\"");
        assert!(tls.is_empty(), "{tls:?}");
        assert!(parse("name = \"ehr\"\nlisten = \"[::1]:2575\"").is_empty());
        assert!(parse("name = \"ehr\"").is_empty(), "loopback by default");
    }

    #[test]
    fn allow_entries_must_be_addresses_or_cidr_blocks() {
        assert!(toml::from_str::<MllpConfig>("name = \"a\"\nallow = [\"10.0.0.0/8\"]").is_ok());
        let e = toml::from_str::<MllpConfig>("name = \"a\"\nallow = [\"lab-pc\"]").unwrap_err();
        assert!(e.to_string().contains("lab-pc"), "{e}");
    }

    #[test]
    fn relative_tls_paths_resolve_against_the_config_directory() {
        let mut c: MllpConfig = toml::from_str(
            "name = \"a\"\n[tls]\ncert = \"pki/c.pem\"\nkey = \"/etc/k.pem\"\nclient_ca = \"ca.pem\"",
        )
        .unwrap();
        c.resolve_paths(Path::new("/etc/tsunagi"));
        let tls = c.tls.unwrap();
        assert_eq!(tls.cert, PathBuf::from("/etc/tsunagi/pki/c.pem"));
        assert_eq!(tls.key, PathBuf::from("/etc/k.pem"));
        assert_eq!(tls.client_ca, Some(PathBuf::from("/etc/tsunagi/ca.pem")));
    }
}
