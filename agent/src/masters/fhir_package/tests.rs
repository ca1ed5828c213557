//! Loading an official FHIR package as a master: versioned, atomic, a broken one refused.

use std::path::Path;

use serde_json::{json, Value};

use super::*;
use crate::validate::{Severity, Validator};

const ORGANIZATION: &str = "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Organization_eCS";

fn element(id: &str, min: u64) -> Value {
    json!({"id": id, "path": id, "min": min, "max": "1", "base": {"max": "1"}})
}

/// A small package: JP_Bundle_CLINS and a JP_Organization_eCS whose `name` has `name_min`.
pub(crate) fn write_package(dir: &Path, version: &str, name_min: u64) {
    std::fs::create_dir_all(dir).unwrap();
    let write = |file: &str, v: Value| {
        std::fs::write(dir.join(file), serde_json::to_vec(&v).unwrap()).unwrap()
    };
    write(
        "package.json",
        json!({"name": "jp-eCSCLINS.r4", "version": version}),
    );
    write(
        "StructureDefinition-JP-Bundle-CLINS.json",
        json!({"resourceType": "StructureDefinition", "url": BUNDLE_PROFILE,
            "snapshot": {"element": [element("Bundle", 0), element("Bundle.type", 1)]}}),
    );
    write(
        "StructureDefinition-JP-Organization-eCS.json",
        json!({"resourceType": "StructureDefinition", "url": ORGANIZATION,
            "snapshot": {"element": [element("Organization", 0), element("Organization.name", name_min)]}}),
    );
}

fn errors(v: &Validator) -> usize {
    let org = json!({"resourceType": "Organization", "meta": {"profile": [ORGANIZATION]}});
    v.validate_document(&org)
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count()
}

fn active_validator(conn: &Connection) -> Option<(String, Validator)> {
    active(conn)
        .unwrap()
        .map(|(info, p)| (info.label, Validator::with_package(p)))
}

#[test]
fn a_loaded_package_becomes_the_rules_and_a_tightened_one_changes_the_verdict() {
    let data = tempfile::tempdir().unwrap();
    let mut conn = crate::store::terminology::open(data.path()).unwrap();
    assert!(active_validator(&conn).is_none());
    let loose = data.path().join("pkg-1");
    write_package(&loose, "1.11.0", 0);
    let r = load(&mut conn, &loose).unwrap();
    assert_eq!(r.package, "jp-eCSCLINS.r4#1.11.0");
    assert!(!r.stored.unchanged);
    let (label, v) = active_validator(&conn).unwrap();
    assert_eq!((label.as_str(), errors(&v)), ("1.11.0", 0));

    let tight = data.path().join("pkg-2");
    write_package(&tight, "1.11.1", 1);
    let r = load(&mut conn, &tight).unwrap();
    assert_eq!(r.stored.replaced.as_deref(), Some("1.11.0"));
    let (label, v) = active_validator(&conn).unwrap();
    assert_eq!((label.as_str(), errors(&v)), ("1.11.1", 1));

    // The same package again changes nothing.
    assert!(load(&mut conn, &tight).unwrap().stored.unchanged);
}

#[test]
fn a_truncated_package_is_refused_and_the_previous_one_stays() {
    let data = tempfile::tempdir().unwrap();
    let mut conn = crate::store::terminology::open(data.path()).unwrap();
    let good = data.path().join("good");
    write_package(&good, "1.11.0", 1);
    load(&mut conn, &good).unwrap();
    let cut = data.path().join("cut");
    write_package(&cut, "1.12.0", 0);
    let file = cut.join("StructureDefinition-JP-Organization-eCS.json");
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    let e = load(&mut conn, &cut).unwrap_err();
    assert!(e.to_string().contains("not valid JSON"), "{e}");
    let (label, v) = active_validator(&conn).unwrap();
    assert_eq!((label.as_str(), errors(&v)), ("1.11.0", 1));
}

#[test]
fn a_foreign_package_is_refused() {
    let data = tempfile::tempdir().unwrap();
    let mut conn = crate::store::terminology::open(data.path()).unwrap();
    let foreign = data.path().join("foreign");
    write_package(&foreign, "1.0.0", 0);
    std::fs::remove_file(foreign.join("StructureDefinition-JP-Bundle-CLINS.json")).unwrap();
    let e = load(&mut conn, &foreign).unwrap_err();
    assert!(e.to_string().contains("JP_Bundle_CLINS"), "{e}");
    assert!(active(&conn).unwrap().is_none());
}

/// `dir` packed as the registries serve packages: a gzipped tar with `package/` at the top.
fn pack(dir: &Path, tgz: &Path) {
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(tgz).unwrap(),
        flate2::Compression::default(),
    );
    let mut tar = tar::Builder::new(gz);
    tar.append_dir_all("package", dir).unwrap();
    tar.into_inner().unwrap().finish().unwrap();
}

#[test]
fn a_packed_package_loads_and_a_truncated_one_is_refused_keeping_the_previous() {
    let data = tempfile::tempdir().unwrap();
    let mut conn = crate::store::terminology::open(data.path()).unwrap();
    let pkg = data.path().join("pkg");
    write_package(&pkg, "1.11.0", 1);
    let tgz = data.path().join("package.tgz");
    pack(&pkg, &tgz);
    let r = load(&mut conn, &tgz).unwrap();
    assert_eq!(r.package, "jp-eCSCLINS.r4#1.11.0");
    let (info, _) = active(&conn).unwrap().unwrap();
    assert_eq!(info.label, "1.11.0");

    write_package(&pkg, "1.12.0", 0);
    pack(&pkg, &tgz);
    let bytes = std::fs::read(&tgz).unwrap();
    std::fs::write(&tgz, &bytes[..bytes.len() / 2]).unwrap();
    let e = load(&mut conn, &tgz).unwrap_err();
    assert!(e.to_string().contains("package.tgz"), "{e}");
    let (label, v) = active_validator(&conn).unwrap();
    assert_eq!((label.as_str(), errors(&v)), ("1.11.0", 1));
}
