//! `[[source.ssmix2]]` configuration: one SS-MIX2 standard storage, read-only.
//!
//! TOML keys (snake_case, unknown keys rejected):
//!
//! | key                | default                   | meaning                                          |
//! |--------------------|---------------------------|--------------------------------------------------|
//! | `name`             | required                  | source name recorded with every stored file      |
//! | `path`             | required                  | the storage root (the folder holding `012/` ...) |
//! | `stable_ms`        | 2000                      | a file is taken once unchanged this long         |
//! | `rescan_secs`      | 300                       | events mode: full rescan interval                |
//! | `watch`            | `"events"`                | `"events"` (OS notifications + rescan) or `"poll"` |
//! | `poll_interval_ms` | 60000                     | poll mode: scan interval; both: retry interval   |
//! | `data_types`       | the six below             | data types sent on; others are stored as not used |
//! | `charset`          | none (adapter default)    | input format option for the HL7 v2 adapter       |
//! | `max_file_bytes`   | 16777216 (16 MiB)         | larger files are quarantined, not read           |
//!
//! Default `data_types`: ADT-00, ADT-61, PPR-01, OML-11, OMP-01, OMP-02.
//! There is no `mode`: this source never writes to the storage.

use std::path::PathBuf;

use serde::Deserialize;

pub use crate::source::folder::WatchMode;

/// Default stability window.
pub const DEFAULT_STABLE_MS: u64 = 2_000;
/// Default rescan interval (events mode).
pub const DEFAULT_RESCAN_SECS: u64 = 300;
/// Default poll / retry interval.
pub const DEFAULT_POLL_INTERVAL_MS: u64 = 60_000;
/// Default size limit (16 MiB; SS-MIX2 messages are kilobytes).
pub const DEFAULT_MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// The data types the pipeline maps to JP-CLINS.
pub const USED_DATA_TYPES: [&str; 6] = ["ADT-00", "ADT-61", "PPR-01", "OML-11", "OMP-01", "OMP-02"];

/// The default `data_types`.
pub fn default_data_types() -> Vec<String> {
    USED_DATA_TYPES.iter().map(|s| s.to_string()).collect()
}

/// One SS-MIX2 storage source.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ssmix2Config {
    pub name: String,
    pub path: PathBuf,
    #[serde(default = "d_stable")]
    pub stable_ms: u64,
    #[serde(default = "d_rescan")]
    pub rescan_secs: u64,
    #[serde(default)]
    pub watch: WatchMode,
    #[serde(default = "d_poll")]
    pub poll_interval_ms: u64,
    #[serde(default = "default_data_types")]
    pub data_types: Vec<String>,
    /// Passed through to the HL7 v2 adapter as its input-format option (the integrator wires it).
    #[serde(default)]
    pub charset: Option<String>,
    #[serde(default = "d_max")]
    pub max_file_bytes: u64,
}

fn d_stable() -> u64 {
    DEFAULT_STABLE_MS
}
fn d_rescan() -> u64 {
    DEFAULT_RESCAN_SECS
}
fn d_poll() -> u64 {
    DEFAULT_POLL_INTERVAL_MS
}
fn d_max() -> u64 {
    DEFAULT_MAX_FILE_BYTES
}

impl Ssmix2Config {
    #[cfg(test)]
    /// A config with every default.
    pub fn new(name: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        Ssmix2Config {
            name: name.into(),
            path: path.into(),
            stable_ms: DEFAULT_STABLE_MS,
            rescan_secs: DEFAULT_RESCAN_SECS,
            watch: WatchMode::default(),
            poll_interval_ms: DEFAULT_POLL_INTERVAL_MS,
            data_types: default_data_types(),
            charset: None,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
        }
    }

    /// Checks values that need no file system; the message names the source and the key.
    pub fn check(&self) -> Result<(), String> {
        let bad = |key: &str, ja: &str, en: &str| {
            Err(format!(
                "[[source.ssmix2]] {}: {key}: {ja} / {en}",
                self.name
            ))
        };
        if self.name.trim().is_empty() {
            return bad("name", "空にできません", "must not be empty");
        }
        if self.path.as_os_str().is_empty() {
            return bad("path", "空にできません", "must not be empty");
        }
        for (key, v) in [
            ("poll_interval_ms", self.poll_interval_ms),
            ("rescan_secs", self.rescan_secs),
            ("max_file_bytes", self.max_file_bytes),
        ] {
            if v == 0 {
                return bad(key, "0 より大きくしてください", "must be > 0");
            }
        }
        if let Some(t) = self
            .data_types
            .iter()
            .find(|t| !super::name::is_data_type(t))
        {
            return Err(format!(
                "[[source.ssmix2]] {}: data_types: \"{t}\" はデータ種別ではありません / is not a data type (e.g. \"OML-11\")",
                self.name
            ));
        }
        if self.charset.as_deref().is_some_and(|c| c.trim().is_empty()) {
            return bad("charset", "空にできません", "must not be empty when given");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Doc {
        source: Source,
    }
    #[derive(Debug, Deserialize)]
    struct Source {
        ssmix2: Vec<Ssmix2Config>,
    }

    fn parse(s: &str) -> Result<Vec<Ssmix2Config>, toml::de::Error> {
        toml::from_str::<Doc>(s).map(|d| d.source.ssmix2)
    }

    #[test]
    fn defaults_and_all_keys() {
        let c = parse("[[source.ssmix2]]\nname = \"ss\"\npath = \"/ss\"\n").unwrap();
        assert_eq!(c[0], Ssmix2Config::new("ss", "/ss"));
        assert_eq!(c[0].data_types.len(), 6);
        let c = parse(
            r#"[[source.ssmix2]]
name = "ss"
path = "/ss"
stable_ms = 5
rescan_secs = 7
watch = "poll"
poll_interval_ms = 9
data_types = ["OML-11", "OMD"]
charset = "iso-2022-jp"
max_file_bytes = 11
"#,
        )
        .unwrap();
        let c = &c[0];
        assert_eq!(
            (
                c.stable_ms,
                c.rescan_secs,
                c.poll_interval_ms,
                c.max_file_bytes
            ),
            (5, 7, 9, 11)
        );
        assert_eq!(c.watch, WatchMode::Poll);
        assert_eq!(c.data_types, vec!["OML-11", "OMD"]);
        assert_eq!(c.charset.as_deref(), Some("iso-2022-jp"));
        assert!(c.check().is_ok());
    }

    #[test]
    fn rejects_unknown_keys_and_bad_values() {
        let base = "[[source.ssmix2]]\nname = \"a\"\npath = \"/in\"\n";
        assert!(parse(&format!("{base}mode = \"move\"\n")).is_err());
        assert!(parse(&format!("{base}watch = \"inotify\"\n")).is_err());
        let c = |extra: &str| parse(&format!("{base}{extra}")).unwrap()[0].check();
        assert!(c("rescan_secs = 0\n").unwrap_err().contains("rescan_secs"));
        assert!(c("data_types = [\"OUL\"]\n").is_ok());
        assert!(c("data_types = [\"oml-11\"]\n")
            .unwrap_err()
            .contains("data_types"));
        assert!(c("charset = \" \"\n").unwrap_err().contains("charset"));
    }
}
