//! `[[source.folder]]` configuration: one watched directory, its mode and timing.
//!
//! TOML keys (snake_case, unknown keys rejected):
//!
//! | key                | default              | meaning                                              |
//! |--------------------|----------------------|------------------------------------------------------|
//! | `name`             | required             | source name recorded with every stored file          |
//! | `path`             | required             | root directory                                       |
//! | `mode`             | required             | `"move"` or `"read-only"`                            |
//! | `processed_dir`    | `<path>/processed`   | move mode: where committed files go (relative = under `path`) |
//! | `rejected_dir`     | `<path>/rejected`    | move mode: where oversize files go                   |
//! | `watch`            | `"events"`           | `"events"` (OS notifications + rescan) or `"poll"`   |
//! | `poll_interval_ms` | 5000                 | poll mode: scan interval; both modes: retry interval for a paused intake and failed files |
//! | `rescan_secs`      | 60                   | events mode: full rescan interval (events can be lost) |
//! | `stable_ms`        | 2000                 | size+mtime must stay unchanged this long             |
//! | `extensions`       | `[]` (all)           | e.g. `["json"]`, case-insensitive, leading dot optional |
//! | `max_file_bytes`   | 67108864 (64 MiB)    | larger files are quarantined, not read               |
//! | `recursive`        | `true`               | descend into subdirectories                          |
//!
//! `mode` has no default on purpose: pointing a move-mode source at an SS-MIX2 storage would
//! rearrange it, so the operator must say which one they mean.

use std::path::PathBuf;

use serde::Deserialize;

/// Default poll / retry interval.
pub const DEFAULT_POLL_INTERVAL_MS: u64 = 5_000;
/// Default full-rescan interval in events mode.
pub const DEFAULT_RESCAN_SECS: u64 = 60;
/// Default stability window.
pub const DEFAULT_STABLE_MS: u64 = 2_000;
/// Default size limit (64 MiB).
pub const DEFAULT_MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// One folder source. Build it from TOML (validated) or directly (validated by `FolderSource::new`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawFolderConfig")]
pub struct FolderConfig {
    pub name: String,
    pub path: PathBuf,
    pub mode: FolderMode,
    pub watch: WatchMode,
    pub poll_interval_ms: u64,
    pub rescan_secs: u64,
    pub stable_ms: u64,
    /// Lower-case, without leading dot. Empty = every file.
    pub extensions: Vec<String>,
    pub max_file_bytes: u64,
    pub recursive: bool,
}

/// What happens to a file once the store has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FolderMode {
    /// Move committed files to `processed` and oversize ones to `rejected` (defaults
    /// `<root>/processed`, `<root>/rejected`; relative paths are taken under the root).
    Move {
        processed: Option<PathBuf>,
        rejected: Option<PathBuf>,
    },
    /// Never modify the folder; ask the store whether a file is known before reading it.
    ReadOnly,
}

/// How new files are noticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WatchMode {
    /// OS file-system events, plus a full rescan every `rescan_secs`.
    #[default]
    Events,
    /// A full scan every `poll_interval_ms` (network shares, where events do not arrive).
    Poll,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum ModeKey {
    Move,
    ReadOnly,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFolderConfig {
    name: String,
    path: PathBuf,
    mode: ModeKey,
    processed_dir: Option<PathBuf>,
    rejected_dir: Option<PathBuf>,
    #[serde(default)]
    watch: WatchMode,
    #[serde(default = "default_poll_interval_ms")]
    poll_interval_ms: u64,
    #[serde(default = "default_rescan_secs")]
    rescan_secs: u64,
    #[serde(default = "default_stable_ms")]
    stable_ms: u64,
    #[serde(default)]
    extensions: Vec<String>,
    #[serde(default = "default_max_file_bytes")]
    max_file_bytes: u64,
    #[serde(default = "default_recursive")]
    recursive: bool,
}

fn default_poll_interval_ms() -> u64 {
    DEFAULT_POLL_INTERVAL_MS
}
fn default_rescan_secs() -> u64 {
    DEFAULT_RESCAN_SECS
}
fn default_stable_ms() -> u64 {
    DEFAULT_STABLE_MS
}
fn default_max_file_bytes() -> u64 {
    DEFAULT_MAX_FILE_BYTES
}
fn default_recursive() -> bool {
    true
}

impl TryFrom<RawFolderConfig> for FolderConfig {
    type Error = String;

    fn try_from(raw: RawFolderConfig) -> Result<Self, String> {
        let mode = match raw.mode {
            ModeKey::Move => FolderMode::Move {
                processed: raw.processed_dir,
                rejected: raw.rejected_dir,
            },
            ModeKey::ReadOnly => {
                if raw.processed_dir.is_some() || raw.rejected_dir.is_some() {
                    return Err(format!(
                        "[[source.folder]] {}: processed_dir / rejected_dir は mode = \"move\" でのみ使えます / \
                         processed_dir and rejected_dir only apply to mode = \"move\"",
                        raw.name
                    ));
                }
                FolderMode::ReadOnly
            }
        };
        let cfg = FolderConfig {
            name: raw.name,
            path: raw.path,
            mode,
            watch: raw.watch,
            poll_interval_ms: raw.poll_interval_ms,
            rescan_secs: raw.rescan_secs,
            stable_ms: raw.stable_ms,
            extensions: raw.extensions,
            max_file_bytes: raw.max_file_bytes,
            recursive: raw.recursive,
        }
        .normalized();
        cfg.check()?;
        Ok(cfg)
    }
}

impl FolderConfig {
    #[cfg(test)]
    /// A config with every default, for `mode` at `path`.
    pub fn new(name: impl Into<String>, path: impl Into<PathBuf>, mode: FolderMode) -> Self {
        FolderConfig {
            name: name.into(),
            path: path.into(),
            mode,
            watch: WatchMode::default(),
            poll_interval_ms: DEFAULT_POLL_INTERVAL_MS,
            rescan_secs: DEFAULT_RESCAN_SECS,
            stable_ms: DEFAULT_STABLE_MS,
            extensions: Vec::new(),
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            recursive: true,
        }
    }

    /// Lower-cases extensions and strips a leading dot, dropping empty ones.
    pub(super) fn normalized(mut self) -> Self {
        self.extensions = self
            .extensions
            .iter()
            .map(|e| e.trim().trim_start_matches('.').to_lowercase())
            .filter(|e| !e.is_empty())
            .collect();
        self
    }

    /// Checks the values that need no file system; the message names the source and the key.
    pub(super) fn check(&self) -> Result<(), String> {
        let bad = |key: &str, ja: &str, en: &str| {
            Err(format!(
                "[[source.folder]] {}: {key}: {ja} / {en}",
                self.name
            ))
        };
        if self.name.trim().is_empty() {
            return bad("name", "空にできません", "must not be empty");
        }
        if self.path.as_os_str().is_empty() {
            return bad("path", "空にできません", "must not be empty");
        }
        if self.poll_interval_ms == 0 {
            return bad(
                "poll_interval_ms",
                "0 より大きくしてください",
                "must be > 0",
            );
        }
        if self.rescan_secs == 0 {
            return bad("rescan_secs", "0 より大きくしてください", "must be > 0");
        }
        if self.max_file_bytes == 0 {
            return bad("max_file_bytes", "0 より大きくしてください", "must be > 0");
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
        folder: Vec<FolderConfig>,
    }

    fn parse(s: &str) -> Result<Vec<FolderConfig>, toml::de::Error> {
        toml::from_str::<Doc>(s).map(|d| d.source.folder)
    }

    #[test]
    fn minimal_move_source_gets_defaults() {
        let f = parse("[[source.folder]]\nname = \"fhir-drop\"\npath = \"/in\"\nmode = \"move\"\n")
            .unwrap();
        assert_eq!(
            f[0],
            FolderConfig::new(
                "fhir-drop",
                "/in",
                FolderMode::Move {
                    processed: None,
                    rejected: None
                }
            )
        );
    }

    #[test]
    fn all_keys_parse() {
        let f = parse(
            r#"[[source.folder]]
name = "ssmix"
path = "/ss"
mode = "read-only"
watch = "poll"
poll_interval_ms = 700
rescan_secs = 5
stable_ms = 10
extensions = [".JSON", "Xml", ""]
max_file_bytes = 99
recursive = false
[[source.folder]]
name = "drop"
path = "/d"
mode = "move"
processed_dir = "done"
rejected_dir = "/bad"
"#,
        )
        .unwrap();
        assert_eq!(f[0].mode, FolderMode::ReadOnly);
        assert_eq!(f[0].watch, WatchMode::Poll);
        assert_eq!(f[0].poll_interval_ms, 700);
        assert_eq!(f[0].rescan_secs, 5);
        assert_eq!(f[0].stable_ms, 10);
        assert_eq!(f[0].extensions, vec!["json".to_string(), "xml".to_string()]);
        assert_eq!(f[0].max_file_bytes, 99);
        assert!(!f[0].recursive);
        assert_eq!(
            f[1].mode,
            FolderMode::Move {
                processed: Some("done".into()),
                rejected: Some("/bad".into())
            }
        );
    }

    #[test]
    fn rejects_unknown_keys_missing_mode_and_bad_values() {
        let base = "[[source.folder]]\nname = \"a\"\npath = \"/in\"\n";
        assert!(parse(&format!("{base}mode = \"move\"\nstabel_ms = 3\n")).is_err());
        assert!(parse(base).is_err());
        assert!(parse(&format!("{base}mode = \"copy\"\n")).is_err());
        assert!(parse(&format!("{base}mode = \"move\"\nwatch = \"inotify\"\n")).is_err());
        let e = parse(&format!("{base}mode = \"move\"\npoll_interval_ms = 0\n")).unwrap_err();
        assert!(e.to_string().contains("poll_interval_ms"), "{e}");
        let e = parse(&format!(
            "{base}mode = \"read-only\"\nprocessed_dir = \"x\"\n"
        ))
        .unwrap_err();
        assert!(e.to_string().contains("processed_dir"), "{e}");
        assert!(
            parse("[[source.folder]]\nname = \" \"\npath = \"/in\"\nmode = \"move\"\n").is_err()
        );
    }
}
