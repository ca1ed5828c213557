//! `[[source.exec]]` configuration: one exec plugin in the source role.
//!
//! TOML keys (snake_case, unknown keys rejected):
//!
//! | key                    | default            | meaning                                                  |
//! |------------------------|--------------------|----------------------------------------------------------|
//! | `name`                 | required           | source name recorded with every stored record            |
//! | `command`              | required           | argv of the plugin, e.g. `["python3", "plugins/export.py"]`; never run through a shell |
//! | `working_dir`          | the config's folder | where the plugin runs (relative paths in `command` resolve from here) |
//! | `message_timeout_secs` | 30                 | the plugin must write a message (a record, a checkpoint or a heartbeat) at least this often, and its hello within this long |
//! | `max_line_bytes`       | 16777216 (16 MiB)  | a longer line is quarantined unread (its size is recorded) |
//! | `max_bad_lines`        | 10                 | this many lines in a row that are not protocol messages: the plugin is stopped and restarted |
//! | `restart_initial_ms`   | 1000               | first restart delay; doubles after each failed run        |
//! | `restart_max_secs`     | 300                | longest restart delay                                    |
//! | `memory_mb`            | none               | memory limit of the plugin process (Unix `RLIMIT_AS`, Windows Job Object) |
//! | `cpu_secs`             | none               | CPU-time limit of one plugin run (Unix `RLIMIT_CPU`, Windows Job Object) |

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Default per-message timeout.
pub const DEFAULT_MESSAGE_TIMEOUT_SECS: u64 = 30;
/// Default line cap (16 MiB, as MLLP's message cap).
pub const DEFAULT_MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// One exec plugin source.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecConfig {
    /// Source name (stored with every record; part of the deduplication key).
    pub name: String,
    /// The plugin's argv: program, then arguments.
    pub command: Vec<String>,
    /// Where the plugin runs; resolved against the config file's folder.
    #[serde(default)]
    pub working_dir: Option<PathBuf>,
    /// Longest silence (seconds) before the plugin counts as hung.
    #[serde(default = "default_timeout")]
    pub message_timeout_secs: u64,
    /// Longest line read from the plugin.
    #[serde(default = "default_max_line")]
    pub max_line_bytes: usize,
    /// Consecutive non-protocol lines tolerated.
    #[serde(default = "default_bad_lines")]
    pub max_bad_lines: u32,
    /// First restart delay (ms).
    #[serde(default = "default_restart_initial")]
    pub restart_initial_ms: u64,
    /// Longest restart delay (s).
    #[serde(default = "default_restart_max")]
    pub restart_max_secs: u64,
    /// Address-space limit (MiB), where the OS offers it.
    #[serde(default)]
    pub memory_mb: Option<u64>,
    /// CPU-time limit (s) of one run, where the OS offers it.
    #[serde(default)]
    pub cpu_secs: Option<u64>,
}

fn default_timeout() -> u64 {
    DEFAULT_MESSAGE_TIMEOUT_SECS
}
fn default_max_line() -> usize {
    DEFAULT_MAX_LINE_BYTES
}
fn default_bad_lines() -> u32 {
    10
}
fn default_restart_initial() -> u64 {
    1000
}
fn default_restart_max() -> u64 {
    300
}

/// Why a `[[source.exec]]` table is refused. Display is English; [`ExecConfigError::ja`] the
/// same in Japanese. Each names the source and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecConfigError {
    /// `name` is empty.
    #[error("source.exec: name must not be empty")]
    EmptyName,
    /// `command` is empty or its program is empty.
    #[error("source.exec {0:?}: command must name the plugin program, e.g. [\"python3\", \"plugins/export.py\"]")]
    EmptyCommand(String),
    /// A number is 0 (or too small to be useful).
    #[error("source.exec {0:?}: {1} must be at least {2}")]
    TooSmall(String, &'static str, u64),
}

impl ExecConfigError {
    /// The same problem in Japanese.
    pub fn ja(&self) -> String {
        match self {
            ExecConfigError::EmptyName => "source.exec: name を指定してください".into(),
            ExecConfigError::EmptyCommand(n) => format!(
                "source.exec {n:?}: command にプラグインのプログラムを指定してください (例 [\"python3\", \"plugins/export.py\"])"
            ),
            ExecConfigError::TooSmall(n, key, min) => {
                format!("source.exec {n:?}: {key} は {min} 以上にしてください")
            }
        }
    }
}

impl ExecConfig {
    /// Everything wrong with this table (empty when it is usable).
    pub fn problems(&self) -> Vec<ExecConfigError> {
        let mut p = Vec::new();
        if self.name.trim().is_empty() {
            p.push(ExecConfigError::EmptyName);
        }
        let n = || self.name.clone();
        if self.command.first().is_none_or(|c| c.trim().is_empty()) {
            p.push(ExecConfigError::EmptyCommand(n()));
        }
        for (v, key, min) in [
            (self.message_timeout_secs, "message_timeout_secs", 1),
            (self.max_line_bytes as u64, "max_line_bytes", 1024),
            (self.max_bad_lines as u64, "max_bad_lines", 1),
            (self.restart_initial_ms, "restart_initial_ms", 1),
            (self.restart_max_secs, "restart_max_secs", 1),
            (self.memory_mb.unwrap_or(64), "memory_mb", 64),
            (self.cpu_secs.unwrap_or(1), "cpu_secs", 1),
        ] {
            if v < min {
                p.push(ExecConfigError::TooSmall(n(), key, min));
            }
        }
        p
    }

    /// Makes `working_dir` absolute (the config file's folder when unset).
    pub fn resolve_paths(&mut self, base: &Path) {
        self.working_dir = Some(match self.working_dir.take() {
            Some(p) if p.is_relative() => base.join(p),
            Some(p) => p,
            None => base.to_path_buf(),
        });
    }

    /// The folder the plugin runs in.
    pub fn dir(&self) -> PathBuf {
        self.working_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ExecConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn defaults_and_resolved_working_dir() {
        let mut c = parse("name = \"vendor\"\ncommand = [\"python3\", \"p.py\"]\n");
        assert!(c.problems().is_empty());
        assert_eq!(c.message_timeout_secs, 30);
        assert_eq!(c.max_line_bytes, DEFAULT_MAX_LINE_BYTES);
        c.resolve_paths(Path::new("/etc/tsunagi"));
        assert_eq!(c.dir(), Path::new("/etc/tsunagi"));
    }

    #[test]
    fn an_empty_command_and_a_zero_timeout_are_named() {
        let c = parse("name = \"v\"\ncommand = []\nmessage_timeout_secs = 0\n");
        let p = c.problems();
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].to_string().contains("command"));
        assert!(p[1].to_string().contains("message_timeout_secs"));
        assert!(p[1].ja().contains("message_timeout_secs"));
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(
            toml::from_str::<ExecConfig>("name = \"v\"\ncommand = [\"x\"]\nshell = true\n")
                .is_err()
        );
    }
}
