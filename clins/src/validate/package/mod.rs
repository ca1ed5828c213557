//! The StructureDefinition-driven checker: loads an official FHIR package directory
//! (jp-eCSCLINS.r4 1.10.0: StructureDefinitions with snapshots, CodeSystems, ValueSets) and
//! checks a resource against the profile it declares in `meta.profile` (or, inside a
//! JP_Bundle_CLINS, the eCS profile of its type).
//!
//! What it checks, from the snapshot: cardinality (min/max) of every element present in the
//! instance's tree, including slices discriminated by value/pattern (on `system`, `url`, `code`
//! …) or by type on `[x]`; `fixed[x]` and `pattern[x]`; required bindings whose ValueSet the
//! package's own complete CodeSystems can expand. It skips (and counts) slices discriminated by
//! profile, and bindings it cannot expand (filters, external code systems). Constraints
//! (FHIRPath invariants) are not evaluated here; the built-in rules carry them.
//!
//! Invariant: a loaded `Package` is immutable; checking is `&self` and thread-safe (the skip
//! counters are atomics).

mod check;
mod terminology;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use super::{Context, Finding, Subject};
use crate::build::clins::resource_profile;
pub(crate) use check::Profile;
use terminology::Terminology;

/// Why a package directory could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// The directory (or a file in it) could not be read.
    #[error("cannot read the FHIR package at {path}: {source} / FHIRパッケージを読めません")]
    Read {
        /// The directory or file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A JSON file is not valid JSON.
    #[error("{path} is not valid JSON: {source} / JSONとして読めません")]
    Json {
        /// The file.
        path: PathBuf,
        /// The parse error.
        source: serde_json::Error,
    },
    /// No StructureDefinition with a snapshot was found.
    #[error("{path} holds no StructureDefinition with a snapshot / スナップショット付きのStructureDefinitionがありません")]
    Empty {
        /// The directory.
        path: PathBuf,
    },
}

/// What the checker could not judge, counted since load.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Skips {
    /// Required bindings whose ValueSet is not expandable from the package.
    pub bindings: usize,
    /// Slices whose discriminator cannot be evaluated (by profile, exists).
    pub slices: usize,
}

/// A loaded FHIR package.
#[derive(Debug)]
pub struct Package {
    /// package.json `name#version`, when present.
    pub id: String,
    profiles: HashMap<String, Profile>,
    terminology: Terminology,
    skipped_bindings: AtomicUsize,
    skipped_slices: AtomicUsize,
}

/// The environment variable naming the package directory.
pub const PACKAGE_ENV: &str = "TSUNAGI_FHIR_PACKAGE";

impl Package {
    /// Loads every StructureDefinition (with snapshot), CodeSystem and ValueSet in `dir`
    /// (or `dir/package`).
    pub fn load(dir: &Path) -> Result<Package, PackageError> {
        let dir = if dir.join("package").is_dir() {
            dir.join("package")
        } else {
            dir.to_path_buf()
        };
        let read_dir = std::fs::read_dir(&dir).map_err(|source| PackageError::Read {
            path: dir.clone(),
            source,
        })?;
        let mut profiles = HashMap::new();
        let mut terminology = Terminology::default();
        let mut id = String::new();
        for entry in read_dir {
            let entry = entry.map_err(|source| PackageError::Read {
                path: dir.clone(),
                source,
            })?;
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let bytes = std::fs::read(&path).map_err(|source| PackageError::Read {
                path: path.clone(),
                source,
            })?;
            let json: Value =
                serde_json::from_slice(&bytes).map_err(|source| PackageError::Json {
                    path: path.clone(),
                    source,
                })?;
            if path.file_name().is_some_and(|n| n == "package.json") {
                let field = |k| json.get(k).and_then(Value::as_str).unwrap_or_default();
                id = format!("{}#{}", field("name"), field("version"));
                continue;
            }
            match json.get("resourceType").and_then(Value::as_str) {
                Some("StructureDefinition") => {
                    if let Some(p) = Profile::from_json(&json) {
                        profiles.insert(p.url.clone(), p);
                    }
                }
                Some("CodeSystem") => terminology.add_code_system(&json),
                Some("ValueSet") => terminology.add_value_set(json),
                _ => {}
            }
        }
        if profiles.is_empty() {
            return Err(PackageError::Empty { path: dir });
        }
        terminology.expand_all();
        Ok(Package {
            id,
            profiles,
            terminology,
            skipped_bindings: AtomicUsize::new(0),
            skipped_slices: AtomicUsize::new(0),
        })
    }

    /// The package named by `TSUNAGI_FHIR_PACKAGE`, if set.
    pub fn from_env() -> Option<Result<Package, PackageError>> {
        std::env::var_os(PACKAGE_ENV).map(|d| Package::load(Path::new(&d)))
    }

    /// The constraint keys (with severity) of a profile's snapshot, for the coverage listing.
    #[cfg(test)]
    pub fn constraint_keys(&self, url: &str) -> Vec<(String, String)> {
        self.profiles
            .get(url)
            .map(|p| p.constraints.clone())
            .unwrap_or_default()
    }

    /// What was skipped so far.
    pub fn skips(&self) -> Skips {
        Skips {
            bindings: self.skipped_bindings.load(Ordering::Relaxed),
            slices: self.skipped_slices.load(Ordering::Relaxed),
        }
    }

    /// Checks `resource` against every profile it declares that the package has.
    pub(super) fn check(&self, resource: &Value, at: &str, out: &mut Vec<Finding>) {
        self.check_declared(resource, at, None, out);
    }

    /// Checks a bundle entry: its declared profiles, or in a JP_Bundle_CLINS the eCS profile
    /// of its type when it declares none the package has.
    pub(super) fn check_entry(&self, s: &Subject, out: &mut Vec<Finding>) {
        let implied = match s.context {
            Context::ClinsEntry => s
                .resource
                .get("resourceType")
                .and_then(Value::as_str)
                .and_then(resource_profile),
            _ => None,
        };
        self.check_declared(s.resource, s.at, implied, out);
    }

    fn check_declared(
        &self,
        resource: &Value,
        at: &str,
        implied: Option<&str>,
        out: &mut Vec<Finding>,
    ) {
        let mut checked = false;
        let mut unknown = false;
        for url in tsunagi_adapters::profiles(resource) {
            match self.profiles.get(url) {
                Some(p) => {
                    checked = true;
                    p.check(self, resource, at, out);
                }
                None => unknown = true,
            }
        }
        if !checked {
            if let Some(p) = implied.and_then(|u| self.profiles.get(u)) {
                p.check(self, resource, at, out);
                return;
            }
        }
        if unknown {
            out.push(Finding::info(
                "SD-PROFILE",
                format!("{at}.meta.profile"),
                "a declared profile is not in the package (JP-Core?); the resource is checked by built-in rules for its type only",
                "宣言されたプロファイルがパッケージにありません（JP-Core等）。リソース型の組込みルールのみで検査しました",
            ));
        }
    }

    fn skip_binding(&self) {
        self.skipped_bindings.fetch_add(1, Ordering::Relaxed);
    }

    fn skip_slice(&self) {
        self.skipped_slices.fetch_add(1, Ordering::Relaxed);
    }
}
