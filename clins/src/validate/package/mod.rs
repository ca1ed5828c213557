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

//! The StructureDefinition-driven checker, from the official FHIR package's rule tables: the
//! tables built into the agent (jp-eCSCLINS.r4 1.10.0, `builtin/`, so every agent checks the
//! profiles with no configuration) or a package directory loaded at run time and converted
//! into the same tables ([`RuleSet::from_dir`]). It checks a resource against the profile it
//! declares in `meta.profile` (or, inside a JP_Bundle_CLINS, the eCS profile of its type).
//!
//! What it checks: cardinality (min/max) of every element present in the instance's tree,
//! including slices discriminated by value/pattern (on `system`, `url`, `code` …) or by type on
//! `[x]`; `fixed[x]` and `pattern[x]`; required bindings whose ValueSet the package's own
//! complete CodeSystems can expand. It skips (and counts) slices discriminated by profile, and
//! bindings it cannot expand (filters, external code systems). Constraints (FHIRPath
//! invariants) are not evaluated here; the built-in rules carry them.
//!
//! Regenerating the built-in tables for a new IG version: ARCHITECTURE.md ("Profile rule
//! tables").
//!
//! Invariant: a loaded `Package` is immutable; checking is `&self` and thread-safe (the skip
//! counters are atomics).

mod check;
mod rules;
mod terminology;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use serde_json::Value;

use super::{Context, Finding, Subject};
use crate::build::clins::resource_profile;
pub(crate) use check::Profile;
pub use rules::{ElementRule, ProfileRules, RuleSet, ValueSetCodes};

/// The built-in rule tables, generated from jp-eCSCLINS.r4 1.10.0 by
/// `cargo run -p tsunagi-clins --example gen-profile-rules -- ../shared/fhir/jp-eCSCLINS.r4-1.10.0`.
pub const BUILTIN_TABLES: &str = include_str!("builtin/jp-clins-1.10.0.json");

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
    /// Rule tables that are not in the tables' JSON form.
    #[error("the profile rule tables are not readable: {0} / プロファイル規則表を読めません")]
    Tables(serde_json::Error),
}

/// What the checker could not judge, counted since load.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Skips {
    /// Required bindings whose ValueSet is not expandable from the package.
    pub bindings: usize,
    /// Slices carrying a rule whose discriminator cannot be evaluated (by profile, exists);
    /// slices without any rule are not in the tables and not counted.
    pub slices: usize,
}

/// Codes of an expanded ValueSet by system.
type ValueSet = HashMap<String, HashSet<String>>;

/// A package's profile rules, ready to check instances.
#[derive(Debug)]
pub struct Package {
    /// package.json `name#version`, when present.
    pub id: String,
    profiles: HashMap<String, Profile>,
    value_sets: HashMap<String, ValueSet>,
    skipped_bindings: AtomicUsize,
    skipped_slices: AtomicUsize,
}

/// The environment variable naming the package directory.
pub const PACKAGE_ENV: &str = "TSUNAGI_FHIR_PACKAGE";

impl Package {
    /// Loads the package directory `dir` (or `dir/package`) through its rule tables.
    pub fn load(dir: &Path) -> Result<Package, PackageError> {
        RuleSet::from_dir(dir).map(|r| Package::from_rules(&r))
    }

    /// The checker for `rules`.
    pub fn from_rules(rules: &RuleSet) -> Package {
        Package {
            id: rules.package.clone(),
            profiles: rules
                .profiles
                .iter()
                .map(|p| (p.url.clone(), Profile::from_rules(p)))
                .collect(),
            value_sets: rules
                .value_sets
                .iter()
                .map(|v| {
                    let codes = v
                        .codes
                        .iter()
                        .map(|(s, c)| (s.clone(), c.iter().cloned().collect()))
                        .collect();
                    (v.url.clone(), codes)
                })
                .collect(),
            skipped_bindings: AtomicUsize::new(0),
            skipped_slices: AtomicUsize::new(0),
        }
    }

    /// The checker for rule tables in their JSON form.
    pub fn from_tables(json: &str) -> Result<Package, PackageError> {
        let rules: RuleSet = serde_json::from_str(json).map_err(PackageError::Tables)?;
        Ok(Package::from_rules(&rules))
    }

    /// The built-in tables (parsed once per process).
    pub fn builtin() -> Arc<Package> {
        static BUILTIN: OnceLock<Arc<Package>> = OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                // The tables are compiled in and parsed by a test (`builtin_tables_load`):
                // failing here is a build defect, not an input.
                #[allow(clippy::expect_used)]
                let p = Package::from_tables(BUILTIN_TABLES).expect("built-in profile rule tables");
                Arc::new(p)
            })
            .clone()
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

    fn value_set(&self, url: &str) -> Option<&ValueSet> {
        self.value_sets.get(url.split('|').next().unwrap_or(url))
    }

    fn skip_binding(&self) {
        self.skipped_bindings.fetch_add(1, Ordering::Relaxed);
    }

    fn skip_slice(&self) {
        self.skipped_slices.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests;
