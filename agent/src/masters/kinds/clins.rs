//! `clins-lab`: the designated lab items (指定検査43項目) and infection items (指定感染症5項目)
//! from the IG's CodeSystem resources.
//!
//! Input is a directory (every `*.json` in it that is a CodeSystem with one of the four URLs in
//! [`SYSTEMS`]; the official package directory works as is, other files are ignored) or a
//! single such CodeSystem file. Each leaf concept (a concept without children) is an entry:
//! display = the concept's display (the FHIR識別名, e.g. `K`, `ALB`), and extras: the CodeSystem
//! URL, the parent concept's code (the item group), the Japanese name (`designation` with
//! `language = ja`), and the `specimen`, `method` and `unit` properties.
//! A code in two CodeSystems, or twice in one, refuses the load.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use crate::masters::format::{self, CodeFormat};
use crate::masters::parse::Rows;
use crate::masters::{ExtraKey, MasterEntry, MasterError};

/// The four CodeSystems of the CLINS designated items (IG 1.x).
pub const SYSTEMS: [&str; 4] = [
    "http://jpfhir.jp/fhir/clins/CodeSystem/JLAC10/JP_CLINS_ObsLabResult_CoreLabo_CS",
    "http://jpfhir.jp/fhir/clins/CodeSystem/JLAC11/JP_CLINS_ObsLabResult_CoreLabo_CS",
    "http://jpfhir.jp/fhir/clins/CodeSystem/JLAC10/JP_CLINS_ObsLabResult_InfectionLabo_CS",
    "http://jpfhir.jp/fhir/clins/CodeSystem/JLAC11/JP_CLINS_ObsLabResult_InfectionLabo_CS",
];

/// Reads a directory or one file; returns the rows and the SHA-256 of what was read.
pub(crate) fn read(path: &Path, source_name: &str) -> Result<(Rows, String), MasterError> {
    let io = |source| MasterError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    if path.is_dir() {
        let mut names: Vec<_> = std::fs::read_dir(path)
            .map_err(io)?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json") && p.is_file())
            .collect();
        names.sort();
        for p in names {
            let bytes = std::fs::read(&p).map_err(|source| MasterError::Io {
                path: p.clone(),
                source,
            })?;
            // Cheap filter first: the package holds hundreds of other resources.
            if contains(&bytes, b"JP_CLINS_ObsLabResult_") && contains(&bytes, b"CodeSystem") {
                let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
                files.push((name.unwrap_or_default(), bytes));
            }
        }
    } else {
        files.push((source_name.to_string(), std::fs::read(path).map_err(io)?));
    }

    let mut hasher = sha2::Sha256::default();
    let mut rows = Rows::default();
    let mut versions: Vec<String> = Vec::new();
    let mut seen: HashMap<Box<str>, String> = HashMap::new();
    let mut ordinal = 0;
    let mut used = 0;
    for (name, bytes) in &files {
        let json_err = |reason: String| MasterError::Json {
            file: name.clone(),
            reason,
        };
        let v: Value = serde_json::from_slice(bytes).map_err(|e| json_err(e.to_string()))?;
        let url = v.get("url").and_then(Value::as_str).unwrap_or("");
        let Some(system) = SYSTEMS.iter().find(|s| **s == url) else {
            if path.is_dir() {
                continue;
            }
            return Err(json_err(
                "not one of the four CLINS lab CodeSystems (JLAC10/JLAC11 CoreLabo/InfectionLabo)"
                    .into(),
            ));
        };
        if v.get("resourceType").and_then(Value::as_str) != Some("CodeSystem") {
            return Err(json_err("resourceType is not CodeSystem".into()));
        }
        used += 1;
        use sha2::Digest;
        hasher.update(name.as_bytes());
        hasher.update(bytes);
        if let Some(ver) = v.get("version").and_then(Value::as_str) {
            if !versions.iter().any(|x| x == ver) {
                versions.push(ver.to_string());
            }
        }
        let mut leaves = Vec::new();
        walk(v.get("concept"), None, &mut leaves);
        for (concept, parent) in leaves {
            ordinal += 1;
            let entry = leaf(concept, parent, system).map_err(json_err)?;
            if let Some(other) = seen.insert(entry.code.clone(), name.clone()) {
                return Err(json_err(format!(
                    "code {} is also in {other} / コード {} が重複しています",
                    entry.code, entry.code
                )));
            }
            rows.entries.push((ordinal, entry));
        }
    }
    if used == 0 {
        return Err(MasterError::Json {
            file: source_name.to_string(),
            reason: "no CLINS lab CodeSystem (JLAC10/JLAC11 CoreLabo/InfectionLabo) found".into(),
        });
    }
    rows.stated_version = (!versions.is_empty()).then(|| versions.join("+"));
    use sha2::Digest;
    Ok((rows, hex::encode(hasher.finalize())))
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Collects leaf concepts with their parent's code.
fn walk<'v>(
    concepts: Option<&'v Value>,
    parent: Option<&'v str>,
    out: &mut Vec<(&'v Value, Option<&'v str>)>,
) {
    let Some(list) = concepts.and_then(Value::as_array) else {
        return;
    };
    for c in list {
        match c.get("concept").and_then(Value::as_array) {
            Some(children) if !children.is_empty() => {
                walk(c.get("concept"), c.get("code").and_then(Value::as_str), out)
            }
            _ => out.push((c, parent)),
        }
    }
}

fn leaf(c: &Value, parent: Option<&str>, system: &str) -> Result<MasterEntry, String> {
    let code = c
        .get("code")
        .and_then(Value::as_str)
        .ok_or("a concept without code / code のない concept があります")?;
    format::check(CodeFormat::Jlac, code).map_err(|e| format!("concept {code}: {e}"))?;
    let display = c
        .get("display")
        .and_then(Value::as_str)
        .or(parent)
        .ok_or_else(|| format!("concept {code} has no display / display がありません"))?;
    let name_ja = c
        .get("designation")
        .and_then(Value::as_array)
        .and_then(|ds| {
            ds.iter()
                .find(|d| d.get("language").and_then(Value::as_str) == Some("ja"))
        })
        .and_then(|d| d.get("value").and_then(Value::as_str));
    let property = |name: &str| {
        c.get("property")
            .and_then(Value::as_array)
            .and_then(|ps| {
                ps.iter()
                    .find(|p| p.get("code").and_then(Value::as_str) == Some(name))
            })
            .and_then(|p| p.get("valueString").and_then(Value::as_str))
    };
    let extra: Vec<(ExtraKey, Box<str>)> = [
        (ExtraKey::System, Some(system)),
        (ExtraKey::Group, parent),
        (ExtraKey::NameJa, name_ja),
        (ExtraKey::Specimen, property("specimen")),
        (ExtraKey::Method, property("method")),
        (ExtraKey::Unit, property("unit")),
    ]
    .into_iter()
    .filter_map(|(k, v)| Some((k, v.filter(|s| !s.is_empty())?.into())))
    .collect();
    Ok(MasterEntry {
        code: code.into(),
        display: display.into(),
        kana: None,
        extra: extra.into_boxed_slice(),
    })
}
