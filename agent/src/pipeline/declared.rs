//! `[[format]]`: the formats a config declares (issue 14), each read by a declarative table
//! adapter (a spec file, TOML, `tsunagi_adapters::table::TableSpec`) or by a vendor's converter
//! plugin ([`super::converter`]); a `[[source.folder]]` then takes its files with
//! `format = "<name>"`. A spec that cannot be read or has mistakes stops the start (and is listed
//! by `tsunagi check-config`), since every file of its folder would otherwise be quarantined. A
//! converter is started at its first input, not here.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use tsunagi_adapters::table::{SpecError, TableAdapter, TableSpec};

/// One `[[format]]`: a name sources use as their `format`, and what reads it: a declarative
/// table spec (`table`) or a vendor's converter plugin (`converter`), exactly one.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormatConfig {
    /// The format's name, e.g. `byomei-csv` (lower case letters, digits and `-`).
    pub name: String,
    /// The table spec (TOML); relative to the config file's directory.
    #[serde(default)]
    pub table: Option<PathBuf>,
    /// The converter plugin's argv (never run through a shell).
    #[serde(default)]
    pub converter: Option<Vec<String>>,
    /// Converter: where it runs (default: the config file's folder).
    #[serde(default)]
    pub working_dir: Option<PathBuf>,
    /// Converter: longest silence while converting one input (default 30 s).
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    /// Converter: address-space limit (MiB), where the OS offers it.
    #[serde(default)]
    pub memory_mb: Option<u64>,
    /// Converter: CPU-time limit (s) of one run, where the OS offers it.
    #[serde(default)]
    pub cpu_secs: Option<u64>,
}

impl FormatConfig {
    /// The converter as an exec plugin config (`None` for a table format).
    pub fn converter_config(&self) -> Option<crate::source::exec::ExecConfig> {
        use crate::source::exec::config::{DEFAULT_MAX_LINE_BYTES, DEFAULT_MESSAGE_TIMEOUT_SECS};
        Some(crate::source::exec::ExecConfig {
            name: self.name.clone(),
            command: self.converter.clone()?,
            working_dir: self.working_dir.clone(),
            message_timeout_secs: self.timeout_secs.unwrap_or(DEFAULT_MESSAGE_TIMEOUT_SECS),
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            max_bad_lines: 1,
            restart_initial_ms: 1000,
            restart_max_secs: 300,
            memory_mb: self.memory_mb,
            cpu_secs: self.cpu_secs,
        })
    }
}

/// A declared format: its name and its adapter.
pub use crate::formats::Declared;

/// Why a spec file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The spec file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not TOML, an unknown key, or a value of the wrong type.
    #[error("{path}: {message}")]
    Syntax {
        /// The spec file.
        path: PathBuf,
        /// The TOML parser's message (names the key and line; a spec holds no patient data).
        message: String,
    },
    /// A mistake in what the spec says.
    #[error("{path}: {error}")]
    Spec {
        /// The spec file.
        path: PathBuf,
        /// The mistake.
        error: SpecError,
    },
}

impl TableError {
    /// The message in Japanese.
    pub fn ja(&self) -> String {
        match self {
            TableError::Read { path, .. } => format!("{}: 読めません", path.display()),
            TableError::Syntax { path, .. } => {
                format!(
                    "{}: TOML として読めないか、未知の項目があります",
                    path.display()
                )
            }
            TableError::Spec { path, error } => {
                format!("{}: fields.{}: {}", path.display(), error.field, error.ja)
            }
        }
    }
}

/// Reads one spec file and checks it; every mistake when it has any.
pub fn load_spec(path: &Path) -> Result<TableAdapter, Vec<TableError>> {
    let text = std::fs::read_to_string(path).map_err(|source| {
        vec![TableError::Read {
            path: path.to_path_buf(),
            source,
        }]
    })?;
    let spec: TableSpec = toml::from_str(&text).map_err(|e| {
        vec![TableError::Syntax {
            path: path.to_path_buf(),
            message: e.to_string().trim().replace('\n', " "),
        }]
    })?;
    TableAdapter::new(spec).map_err(|errors| {
        errors
            .into_iter()
            .map(|error| TableError::Spec {
                path: path.to_path_buf(),
                error,
            })
            .collect()
    })
}

/// Every declared format's adapter, or every problem of every table spec.
pub fn load(formats: &[FormatConfig]) -> Result<Vec<Declared>, Vec<TableError>> {
    let mut tables: Vec<Declared> = Vec::new();
    let mut errors = Vec::new();
    for f in formats {
        if let Some(cfg) = f.converter_config() {
            let adapter = super::converter::ConverterAdapter::new(cfg);
            tables.push((f.name.clone(), Arc::new(adapter)));
            continue;
        }
        let Some(path) = &f.table else {
            continue;
        };
        match load_spec(path) {
            Ok(a) => tables.push((f.name.clone(), Arc::new(a))),
            Err(e) => errors.extend(e),
        }
    }
    if errors.is_empty() {
        Ok(tables)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_with_mistakes_lists_each_with_its_file_in_both_languages() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(
            &path,
            "record = \"condition\"\nlayout = \"csv\"\n[fields]\npatient_id = { column = 0 }\n",
        )
        .unwrap();
        let errors = load_spec(&path).unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        let shown = errors[0].to_string();
        assert!(
            shown.contains("bad.toml") && shown.contains("original_text"),
            "{shown}"
        );
        assert!(errors[1].ja().contains("1から"), "{}", errors[1].ja());
    }

    #[test]
    fn unknown_keys_and_missing_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("typo.toml");
        std::fs::write(
            &path,
            "record = \"patient\"\nlayout = \"csv\"\nheadr = true\n[fields]\n",
        )
        .unwrap();
        assert!(
            matches!(&load_spec(&path).unwrap_err()[0], TableError::Syntax { message, .. } if message.contains("headr"))
        );
        let missing = FormatConfig {
            name: "x".into(),
            table: Some(dir.path().join("none.toml")),
            ..FormatConfig::default()
        };
        let Err(errors) = load(&[missing]) else {
            panic!("a missing spec file was accepted");
        };
        assert!(matches!(&errors[0], TableError::Read { .. }));
    }
}
