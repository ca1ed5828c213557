//! Logging: where log lines go, in which format, and how files are rotated and retained.
//!
//! - **Where**: stderr by default; with `[log] dir`, to files there instead (created 0600 in a
//!   0700 directory), rotated at each UTC day boundary (09:00 JST) and whenever a file would
//!   pass `max_file_mb`, keeping the newest `keep_files` files ([`RollingFile`]).
//! - **Colour**: ANSI colours only when stderr is a terminal and `NO_COLOR` is unset or empty;
//!   log files and pipes (`tsunagi demo > out.txt`) get plain text.
//! - **Format**: human-readable text, or JSON lines (`--log-format json` or `[log] format =
//!   "json"`): one object per line with `ts`, `level`, `target`, `spans` and the event's fields.
//! - **Patient data** is kept out by construction, not by filtering: identifiers, names and birth
//!   dates travel in `tsunagi_adapters::Sensitive`, whose `Debug` and `Display` print `***`,
//!   so neither `?field` nor `%field` capture can print them (tested below, in both formats).
//!
//! `TSUNAGI_LOG` (an `EnvFilter` directive) overrides the level chosen by `-v`.

mod json;
mod rolling;

use std::ffi::OsStr;
use std::io::IsTerminal;
use std::path::PathBuf;

use serde::Deserialize;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

pub use json::JsonLines;
pub use rolling::RollingFile;

/// The log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// `[log]`.
///
/// ```toml
/// [log]
/// format = "json"            # or "text" (default)
/// dir = "/var/log/tsunagi"   # default: stderr
/// max_file_mb = 64
/// keep_files = 14
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// Line format (the command line's `--log-format` wins).
    #[serde(default)]
    pub format: LogFormat,
    /// Write files here instead of stderr.
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// Start a new file before one passes this size.
    #[serde(default = "default_max_file_mb")]
    pub max_file_mb: u64,
    /// Log files kept (older ones are deleted at rotation).
    #[serde(default = "default_keep_files")]
    pub keep_files: usize,
}

fn default_max_file_mb() -> u64 {
    64
}
fn default_keep_files() -> usize {
    14
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Text,
            dir: None,
            max_file_mb: default_max_file_mb(),
            keep_files: default_keep_files(),
        }
    }
}

/// Why logging could not be set up as configured.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The log directory or file could not be created.
    #[error("cannot write logs to {path}: {source}")]
    Io {
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

fn filter(verbose: u8) -> EnvFilter {
    let default = match verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    EnvFilter::try_from_env("TSUNAGI_LOG").unwrap_or_else(|_| EnvFilter::new(default))
}

/// Installs the global subscriber. `format` (from the command line) wins over `cfg.format`.
/// On a file error, logging falls back to stderr and the error is returned for the caller to
/// print.
pub fn init(
    verbose: u8,
    format: Option<LogFormat>,
    cfg: Option<&LogConfig>,
) -> Result<(), LogError> {
    let default = LogConfig::default();
    let cfg = cfg.unwrap_or(&default);
    let format = format.unwrap_or(cfg.format);
    let file = cfg.dir.as_ref().map(|dir| {
        RollingFile::open(
            dir,
            "tsunagi",
            cfg.max_file_mb.saturating_mul(1_048_576),
            cfg.keep_files,
        )
    });
    let stderr_colour = colour(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    match file {
        Some(Ok(f)) => install(verbose, format, f, false),
        Some(Err(e)) => {
            install(verbose, format, std::io::stderr, stderr_colour);
            return Err(e);
        }
        None => install(verbose, format, std::io::stderr, stderr_colour),
    }
    Ok(())
}

/// Whether text lines carry ANSI colours: only on a terminal, and never when `NO_COLOR` is set
/// to a non-empty value (<https://no-color.org>). Files and pipes get plain text.
fn colour(terminal: bool, no_color: Option<&OsStr>) -> bool {
    terminal && no_color.is_none_or(OsStr::is_empty)
}

fn install<W>(verbose: u8, format: LogFormat, writer: W, ansi: bool)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter(verbose))
        .with_writer(writer)
        .with_ansi(ansi)
        .with_target(false);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.event_format(JsonLines).try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tsunagi_adapters::Sensitive;

    /// A writer that collects everything into a shared buffer.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    #[derive(Debug)]
    #[allow(dead_code)]
    struct PatientLike {
        id: Sensitive<String>,
        name: Sensitive<String>,
        birth: Sensitive<String>,
        sex: &'static str,
    }

    const SECRETS: [&str; 3] = ["pt-000042", "試験 花子", "1987-06-05"];

    fn patient() -> PatientLike {
        PatientLike {
            id: Sensitive::new(SECRETS[0].into()),
            name: Sensitive::new(SECRETS[1].into()),
            birth: Sensitive::new(SECRETS[2].into()),
            sex: "female",
        }
    }

    #[test]
    fn sensitive_values_never_show_in_format() {
        let p = patient();
        for shown in [
            format!("{p:?}"),
            format!("{p:#?}"),
            format!("{}", p.name),
            format!("{:?}", p.id),
            format!("{:>20}", p.birth),
        ] {
            for s in SECRETS {
                assert!(!shown.contains(s), "{s} in {shown}");
            }
            assert!(shown.contains("***"), "{shown}");
        }
        assert_eq!(p.name.expose(), SECRETS[1], "the value itself is kept");
    }

    fn log_everything(p: &PatientLike) {
        tracing::info!(patient = ?p, id = %p.id, name = ?p.name, "patient seen {:?}", p.birth);
        let span = tracing::info_span!("input", who = %p.name);
        let _g = span.enter();
        tracing::warn!(birth = %p.birth, "inside a span");
    }

    #[test]
    fn sensitive_values_never_show_in_captured_log_fields() {
        for json in [false, true] {
            let out = Captured::default();
            let builder = tracing_subscriber::fmt()
                .with_writer(out.clone())
                .with_max_level(tracing::Level::TRACE);
            let p = patient();
            if json {
                let sub = builder.event_format(JsonLines).finish();
                tracing::subscriber::with_default(sub, || log_everything(&p));
            } else {
                let sub = builder.finish();
                tracing::subscriber::with_default(sub, || log_everything(&p));
            }
            let text = out.text();
            assert!(
                text.contains("patient seen") && text.contains("inside a span"),
                "{text}"
            );
            for s in SECRETS {
                assert!(!text.contains(s), "{s} in {text}");
            }
            if json {
                for line in text.lines() {
                    let v: serde_json::Value = serde_json::from_str(line).unwrap();
                    assert!(v["ts"].is_string() && v["level"].is_string(), "{line}");
                }
            }
        }
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(
            colour(true, Some(OsStr::new(""))),
            "an empty NO_COLOR is unset"
        );
        assert!(!colour(true, Some(OsStr::new("1"))));
        assert!(!colour(false, None), "a file or a pipe");
    }

    #[test]
    fn plain_text_lines_carry_no_escape_codes() {
        let out = Captured::default();
        let sub = tracing_subscriber::fmt()
            .with_writer(out.clone())
            .with_ansi(colour(false, None))
            .finish();
        tracing::subscriber::with_default(sub, || tracing::warn!(n = 1, "plain"));
        let text = out.text();
        assert!(text.contains("plain") && !text.contains('\x1b'), "{text:?}");
    }

    #[test]
    fn log_config_defaults_and_unknown_keys() {
        let c: LogConfig = toml::from_str("format = \"json\"").unwrap();
        assert_eq!(c.format, LogFormat::Json);
        assert_eq!((c.max_file_mb, c.keep_files), (64, 14));
        assert!(toml::from_str::<LogConfig>("formt = \"json\"").is_err());
    }
}
