//! The official JP-CLINS FHIR package as a master (issue 11, part 2): `tsunagi masters load
//! fhir-package DIR` converts a newer package into the profile rule tables
//! (`tsunagi_clins::validate::package::RuleSet`) and stores them in `terminology.db` as a
//! version, like any master. Validation uses, in this order: `[validation] fhir_package` of the
//! config, the loaded package, the tables built into the agent (jp-eCSCLINS.r4 1.10.0).
//!
//! # Invariants
//! - A package is converted whole and checked before anything is written: an unreadable
//!   directory, a file that is not JSON (a truncated download), no snapshot
//!   StructureDefinition, or no JP_Bundle_CLINS profile refuses it, and the version that was
//!   active stays active.
//! - The stored form is the rule tables, not the package: the processor parses them again
//!   when `terminology.db` changes (`pipeline/reload.rs`), without a restart.
//! - A packed package (`package.tgz`, as the FHIR registries serve it) is unpacked into a
//!   private temporary directory first, with the limits of [`archive`]; what is stored names
//!   the archive, not the temporary directory.

use std::path::Path;
use std::sync::Arc;

use rusqlite::Connection;
use tsunagi_clins::validate::package::{Package, RuleSet};

use super::MasterError;
use crate::build::clins::BUNDLE_PROFILE;
use crate::store::terminology::masters::{self as store, PackageStored, VersionInfo};

/// What loading a package did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageLoaded {
    /// package.json `name#version`.
    pub package: String,
    /// Profiles and elements in the tables.
    pub profiles: usize,
    pub elements: usize,
    /// What the store did (replaced version, or nothing changed).
    pub stored: PackageStored,
}

fn refused(path: &Path, en: &str, ja: &str) -> MasterError {
    MasterError::FhirPackage(format!("{}: {en} / {ja}", path.display()))
}

/// Converts the package at `path` (a directory holding package.json, or a packed
/// `package.tgz`) into rule tables and makes them the active validation rules; on any problem
/// nothing changes.
pub fn load(conn: &mut Connection, path: &Path) -> Result<PackageLoaded, MasterError> {
    let source = path.file_name().map_or_else(
        || path.to_string_lossy().to_string(),
        |n| n.to_string_lossy().to_string(),
    );
    if !archive::is_packed(path) {
        return load_dir(conn, path, path, &source);
    }
    let dir = archive::unpack(path)
        .map_err(|e| MasterError::FhirPackage(format!("{}: {e}", path.display())))?;
    load_dir(conn, dir.path(), path, &source)
}

/// Loads the unpacked package in `dir`; refusals name `path` (what the user gave).
fn load_dir(
    conn: &mut Connection,
    dir: &Path,
    path: &Path,
    source: &str,
) -> Result<PackageLoaded, MasterError> {
    let rules = RuleSet::from_dir(dir).map_err(|e| MasterError::FhirPackage(e.to_string()))?;
    if !rules.profiles.iter().any(|p| p.url == BUNDLE_PROFILE) {
        return Err(refused(
            path,
            "no JP_Bundle_CLINS profile: not a JP-CLINS package",
            "JP_Bundle_CLINS プロファイルがありません（JP-CLINSのパッケージではありません）",
        ));
    }
    let Some((_, version)) = rules.package.split_once('#').filter(|(_, v)| !v.is_empty()) else {
        return Err(refused(
            path,
            "package.json names no version",
            "package.json に version がありません",
        ));
    };
    let tables = rules
        .to_json_lines()
        .map_err(|e| MasterError::FhirPackage(e.to_string()))?;
    let elements = rules.profiles.iter().map(|p| p.elements.len()).sum();
    let stored = store::store_fhir_package(conn, version, source, elements, &tables)?;
    Ok(PackageLoaded {
        package: rules.package.clone(),
        profiles: rules.profiles.len(),
        elements,
        stored,
    })
}

/// The loaded package's rules, if one is loaded.
pub fn active(conn: &Connection) -> Result<Option<(VersionInfo, Arc<Package>)>, MasterError> {
    let Some((info, tables)) = store::active_fhir_package(conn)? else {
        return Ok(None);
    };
    let package = Package::from_tables(&tables).map_err(|e| {
        MasterError::FhirPackage(format!(
            "the stored FHIR package {}: {e} / 登録済みFHIRパッケージ",
            info.label
        ))
    })?;
    Ok(Some((info, Arc::new(package))))
}

mod archive;
#[cfg(test)]
pub(crate) mod tests;
