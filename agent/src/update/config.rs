//! `[update]`: where updates come from and which keys may sign them.
//!
//! ```toml
//! [update]
//! manifest_url = "https://mirror.hospital.example/tsunagi/manifest.json"  # https only (http only to loopback)
//! channel = "stable"
//! # trusted_keys = ["e299…"]   # hex ed25519 public keys; default: the project's release key
//! ready_timeout_secs = 60      # the new process must answer /readyz within this
//! watch_secs = 120             # and keep answering for this long, else it is rolled back
//! ```

use serde::Deserialize;

use super::error::{Result, UpdateError};

/// The project's release key (packaging/release-key.pub.hex), trusted when `trusted_keys` is not
/// set. Its private half is kept offline; `packaging/sign-release.sh` signs with it.
pub const RELEASE_KEY_HEX: &str = include_str!("../../../packaging/release-key.pub.hex");

/// `[update]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateConfig {
    /// The manifest (JSON) on a server the hospital or its vendor controls.
    #[serde(default)]
    pub manifest_url: Option<String>,
    /// Which releases of the manifest to take.
    #[serde(default = "default_channel")]
    pub channel: String,
    /// Hex ed25519 public keys; `None` (the key left out) means the compiled-in release key. An
    /// empty list trusts nothing, so every update is refused.
    #[serde(default)]
    pub trusted_keys: Option<Vec<String>>,
    /// Seconds the new process has to answer `/readyz`.
    #[serde(default = "default_ready_timeout")]
    pub ready_timeout_secs: u64,
    /// Seconds the new process is watched after it became ready.
    #[serde(default = "default_watch")]
    pub watch_secs: u64,
}

impl Default for UpdateConfig {
    fn default() -> Self {
        UpdateConfig {
            manifest_url: None,
            channel: default_channel(),
            trusted_keys: None,
            ready_timeout_secs: default_ready_timeout(),
            watch_secs: default_watch(),
        }
    }
}

fn default_channel() -> String {
    "stable".into()
}

fn default_ready_timeout() -> u64 {
    60
}

fn default_watch() -> u64 {
    120
}

/// A raw ed25519 public key.
pub type Key = [u8; 32];

impl UpdateConfig {
    /// The manifest URL, checked: https, or http to a loopback address.
    pub fn manifest_url(&self) -> Result<&str> {
        let url = self
            .manifest_url
            .as_deref()
            .ok_or(UpdateError::NoManifestUrl)?;
        check_url("manifest_url", url)?;
        Ok(url)
    }

    /// The keys an archive must be signed with (one is enough); refuses an empty list.
    pub fn keys(&self) -> Result<Vec<Key>> {
        let hex_keys: Vec<&str> = match &self.trusted_keys {
            Some(list) => list.iter().map(|s| s.as_str()).collect(),
            None => vec![RELEASE_KEY_HEX],
        };
        if hex_keys.is_empty() {
            return Err(UpdateError::NoTrustedKey);
        }
        hex_keys
            .iter()
            .enumerate()
            .map(|(i, k)| parse_key(k).ok_or(UpdateError::BadKey { index: i + 1 }))
            .collect()
    }

    /// Problems for `check-config` (English, Japanese).
    pub fn problems(&self) -> Vec<UpdateError> {
        let mut p = Vec::new();
        if self.manifest_url.is_some() {
            if let Err(e) = self.manifest_url() {
                p.push(e);
            }
        }
        if let Err(e) = self.keys() {
            p.push(e);
        }
        p
    }
}

fn parse_key(hex_key: &str) -> Option<Key> {
    let bytes = hex::decode(hex_key.trim()).ok()?;
    bytes.try_into().ok()
}

/// Refuses a URL that is not https, except plain http to a loopback host.
pub fn check_url(what: &'static str, url: &str) -> Result<()> {
    let refuse = || UpdateError::InsecureUrl {
        what,
        url: url.to_string(),
    };
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("https://") {
        return Ok(());
    }
    let rest = lower.strip_prefix("http://").ok_or_else(refuse)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.split(':').next().unwrap_or(""),
    };
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(())
    } else {
        Err(refuse())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_refused_outside_loopback() {
        for ok in [
            "https://mirror.example/m.json",
            "http://127.0.0.1:8080/m.json",
            "http://localhost/m.json",
            "http://[::1]:9/m.json",
        ] {
            check_url("manifest_url", ok).unwrap();
        }
        for bad in [
            "http://mirror.example/m.json",
            "http://10.0.0.5/m.json",
            "http://127.0.0.1.evil.example/m.json",
            "ftp://127.0.0.1/m.json",
            "file:///tmp/m.json",
        ] {
            let e = check_url("manifest_url", bad).unwrap_err();
            assert!(matches!(e, UpdateError::InsecureUrl { .. }), "{bad}");
            assert!(e.to_string().contains("https"));
        }
    }

    #[test]
    fn the_release_key_is_the_default_and_an_empty_list_trusts_nothing() {
        let cfg = UpdateConfig::default();
        assert_eq!(cfg.keys().unwrap().len(), 1);
        let none = UpdateConfig {
            trusted_keys: Some(vec![]),
            ..Default::default()
        };
        assert!(matches!(none.keys(), Err(UpdateError::NoTrustedKey)));
        let bad = UpdateConfig {
            trusted_keys: Some(vec!["abcd".into()]),
            ..Default::default()
        };
        assert!(matches!(bad.keys(), Err(UpdateError::BadKey { index: 1 })));
    }
}

#[cfg(test)]
mod check_config_tests {
    /// `check-config` names an insecure manifest URL in both languages, with its table's line.
    #[test]
    fn check_config_names_an_insecure_manifest_url() {
        let text = format!(
            "{}\n[update]\nmanifest_url = \"http://mirror.example/m.json\"\n",
            include_str!("../../../config-examples/tsunagi.toml")
        );
        let problems = crate::config::parse(&text).unwrap_err();
        let p = problems
            .iter()
            .find(|p| p.en.contains("https"))
            .expect("the URL is named");
        assert!(p.ja.contains("ループバック"), "{p}");
        assert!(p.line.is_some());
    }
}
