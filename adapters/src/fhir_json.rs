//! [`FhirJsonAdapter`]: FHIR R4 JSON in, [`Record::Fhir`] out.
//!
//! Accepts one resource or a Bundle of any type, as UTF-8 JSON (a leading UTF-8 BOM is
//! skipped). Bundle entries are flattened into one record each, except for ready-made
//! JP-CLINS bundles (`meta.profile` naming a `…/clins/StructureDefinition/JP_Bundle_*`
//! profile): those travel whole, as one record, so the builder can pass them through.
//!
//! Problems name the field by JSON path (`$.entry[2].resource`) and say why; they never quote
//! the input, because it is patient data. serde_json's line and column are quoted, its message
//! text is not.

use serde_json::Value;

use crate::{Adapter, FhirResource, Parsed, Problem, RawInput, Record, Severity};

/// Prefix of every JP-CLINS bundle profile (5情報, 診療情報提供書, 退院時サマリー, 健診).
pub const CLINS_BUNDLE_PROFILE_PREFIX: &str =
    "http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Bundle_";

const UTF8_BOM: &[u8] = &[0xEF, 0xBB, 0xBF];

/// Reads FHIR R4 JSON. Stateless; see the module docs.
#[derive(Debug, Default, Clone, Copy)]
pub struct FhirJsonAdapter;

impl FhirJsonAdapter {
    /// A new adapter.
    pub fn new() -> Self {
        FhirJsonAdapter
    }
}

impl Adapter for FhirJsonAdapter {
    fn name(&self) -> &'static str {
        "fhir-json"
    }

    fn parse(&self, input: &RawInput<'_>) -> Parsed {
        let mut parsed = Parsed::default();
        let bytes = input.bytes.strip_prefix(UTF8_BOM).unwrap_or(input.bytes);
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                let at = e.valid_up_to() + (input.bytes.len() - bytes.len());
                parsed.problems.push(Problem::fatal(
                    "$",
                    format!("not UTF-8 text (invalid byte at offset {at})"),
                    format!("UTF-8のテキストではありません（オフセット{at}のバイトが不正）"),
                ));
                return parsed;
            }
        };
        let json: Value = match serde_json::from_str(text) {
            Ok(json) => json,
            Err(e) => {
                parsed.problems.push(not_json(&e));
                return parsed;
            }
        };
        if !json.is_object() {
            parsed.problems.push(Problem::fatal(
                "$",
                "the top level is not a JSON object",
                "最上位がJSONオブジェクトではありません",
            ));
            return parsed;
        }
        read_resource(json, "$", None, &mut parsed);
        parsed
    }
}

fn not_json(e: &serde_json::Error) -> Problem {
    use serde_json::error::Category;
    let (en, ja) = match e.classify() {
        Category::Eof => ("unexpected end of input", "入力が途中で終わっています"),
        Category::Syntax => ("syntax error", "構文エラー"),
        Category::Data => ("unreadable value", "読めない値"),
        Category::Io => ("read error", "読み取りエラー"),
    };
    let (line, column) = (e.line(), e.column());
    Problem::fatal(
        "$",
        format!("not valid JSON: {en} at line {line}, column {column}"),
        format!("JSONとして読めません：{line}行{column}列で{ja}"),
    )
}

/// Turns the resource at `path` into records: itself, or its entries when it is a Bundle
/// that is not a ready-made JP-CLINS bundle.
fn read_resource(json: Value, path: &str, full_url: Option<String>, out: &mut Parsed) {
    let Some(resource) = FhirResource::from_json(json, full_url) else {
        out.problems.push(Problem::fatal(
            format!("{path}.resourceType"),
            "resourceType is missing or not a string",
            "resourceTypeがないか文字列ではありません",
        ));
        return;
    };
    if resource.resource_type != "Bundle" || is_clins_bundle(&resource.json) {
        if resource.resource_type == "Bundle" {
            check_entries(&resource.json, path, out);
        }
        out.records.push(Record::Fhir(resource));
        return;
    }
    let mut json = resource.json;
    let entries = match json.get_mut("entry").map(Value::take) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(entries)) => entries,
        Some(_) => {
            out.problems.push(Problem::fatal(
                format!("{path}.entry"),
                "Bundle.entry is not an array",
                "Bundle.entryが配列ではありません",
            ));
            return;
        }
    };
    if entries.is_empty() {
        out.problems.push(Problem {
            severity: Severity::Warning,
            ..Problem::fatal(
                format!("{path}.entry"),
                "the Bundle has no entries",
                "Bundleにentryがありません",
            )
        });
    }
    for (i, mut entry) in entries.into_iter().enumerate() {
        let entry_path = format!("{path}.entry[{i}]");
        let full_url = entry
            .get("fullUrl")
            .and_then(Value::as_str)
            .map(str::to_string);
        match entry.get_mut("resource").map(Value::take) {
            Some(resource @ Value::Object(_)) => {
                read_resource(resource, &format!("{entry_path}.resource"), full_url, out)
            }
            _ => out.problems.push(missing_resource(entry_path)),
        }
    }
}

/// Reports entries without a resource in a Bundle that travels whole.
fn check_entries(bundle: &Value, path: &str, out: &mut Parsed) {
    let Some(entries) = bundle.get("entry").and_then(Value::as_array) else {
        return;
    };
    for (i, entry) in entries.iter().enumerate() {
        match entry.get("resource") {
            Some(r) if r.get("resourceType").and_then(Value::as_str).is_some() => {}
            _ => out
                .problems
                .push(missing_resource(format!("{path}.entry[{i}]"))),
        }
    }
}

fn missing_resource(entry_path: String) -> Problem {
    Problem::fatal(
        entry_path,
        "the entry has no resource (or it has no resourceType)",
        "entryにresourceがありません（またはresourceTypeがありません）",
    )
}

/// True when `meta.profile` names a JP-CLINS bundle profile (with or without `|version`).
pub fn is_clins_bundle(json: &Value) -> bool {
    profiles(json).any(|p| p.starts_with(CLINS_BUNDLE_PROFILE_PREFIX))
}

/// The `meta.profile` canonicals of a resource, version suffix (`|1.10.0`) removed.
pub fn profiles(json: &Value) -> impl Iterator<Item = &str> {
    json.pointer("/meta/profile")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|p| p.split('|').next().unwrap_or(p))
}

#[cfg(test)]
#[path = "fhir_json_tests.rs"]
mod tests;
