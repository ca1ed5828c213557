//! `[[source.mllp]]` configuration: one listening socket, its limits and optional TLS.
//!
//! TOML keys (snake_case, unknown keys rejected):
//!
//! | key                  | default            | meaning                                                  |
//! |----------------------|--------------------|----------------------------------------------------------|
//! | `name`               | required           | source name recorded with every stored message           |
//! | `listen`             | `127.0.0.1:2575`   | address to bind; a non-loopback address without TLS logs a warning |
//! | `max_message_bytes`  | 16777216 (16 MiB)  | larger frames are discarded and answered AR (CR)         |
//! | `idle_timeout_secs`  | 300                | a connection silent this long (nothing in flight) is closed |
//! | `max_connections`    | 256                | further connections wait in the kernel backlog           |
//! | `enhanced_ack`       | `false`            | honour MSH-15 (accept-ack type): answer CA/CE/CR, or nothing |
//! | `charset`            | none               | overrides MSH-18 for the parser; passed through, not used here |
//! | `[source.mllp.tls]`  | none               | `cert`, `key` (PEM paths), optional `client_ca` (PEM): require client certificates signed by it |

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

/// Default listen address: loopback, the IANA-registered HL7 port.
#[cfg(any(test, feature = "demo"))] // only `tsunagi demo` uses it
pub const DEFAULT_LISTEN: &str = "127.0.0.1:2575";
/// Default size limit (16 MiB).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;
/// Default idle timeout.
pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 300;
/// Default connection cap.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;

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
    /// Connections served at once.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
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
fn default_max_connections() -> usize {
    DEFAULT_MAX_CONNECTIONS
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
            max_connections: DEFAULT_MAX_CONNECTIONS,
            enhanced_ack: false,
            charset: None,
            tls: None,
        }
    }

    /// Checks values serde cannot: returns the first problem in English.
    pub fn validate(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("source.mllp: name must not be empty".into());
        }
        let n = &self.name;
        if self.max_message_bytes < 64 {
            return Err(format!(
                "source.mllp {n}: max_message_bytes must be at least 64"
            ));
        }
        if self.idle_timeout_secs == 0 {
            return Err(format!(
                "source.mllp {n}: idle_timeout_secs must be at least 1"
            ));
        }
        if self.max_connections == 0 || self.max_connections > (u32::MAX >> 4) as usize {
            return Err(format!(
                "source.mllp {n}: max_connections must be between 1 and 268435455"
            ));
        }
        Ok(())
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
        assert!(c.validate().unwrap_err().contains("max_connections"));
        c.max_connections = 1;
        c.idle_timeout_secs = 0;
        assert!(c.validate().unwrap_err().contains("idle_timeout_secs"));
    }
}
