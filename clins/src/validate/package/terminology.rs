//! ValueSet expansion from the package's own CodeSystems, for required bindings, while a
//! package is converted into rule tables.
//!
//! A ValueSet is expandable when every `compose.include` either lists its concepts or names a
//! CodeSystem of the package whose content is `complete`, without filters; imports of other
//! ValueSets are followed (four deep at most). Anything else (filters, excludes, external
//! systems) is not expandable: the tables carry no code list for it and the checker skips the
//! binding.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

/// Codes by system, for one expanded ValueSet.
type Expansion = BTreeMap<String, BTreeSet<String>>;

#[derive(Debug, Default)]
pub(super) struct Terminology {
    /// Complete CodeSystems: url → codes (nested concepts included).
    code_systems: HashMap<String, Vec<String>>,
    /// Raw ValueSets by url.
    raw: HashMap<String, Value>,
}

fn collect_codes(concepts: &[Value], out: &mut Vec<String>) {
    for c in concepts {
        if let Some(code) = c.get("code").and_then(Value::as_str) {
            out.push(code.to_string());
        }
        if let Some(nested) = c.get("concept").and_then(Value::as_array) {
            collect_codes(nested, out);
        }
    }
}

impl Terminology {
    pub(super) fn add_code_system(&mut self, cs: &Value) {
        let (Some(url), Some("complete")) = (
            cs.get("url").and_then(Value::as_str),
            cs.get("content").and_then(Value::as_str),
        ) else {
            return;
        };
        let mut codes = Vec::new();
        if let Some(concepts) = cs.get("concept").and_then(Value::as_array) {
            collect_codes(concepts, &mut codes);
        }
        self.code_systems.insert(url.to_string(), codes);
    }

    pub(super) fn add_value_set(&mut self, vs: Value) {
        if let Some(url) = vs.get("url").and_then(Value::as_str).map(str::to_string) {
            self.raw.insert(url, vs);
        }
    }

    /// The codes of ValueSet `url` by system, sorted; `None` when unknown or not expandable.
    pub(super) fn expand(&self, url: &str) -> Option<BTreeMap<String, Vec<String>>> {
        let set = self.expand_at(url, 0)?;
        Some(
            set.into_iter()
                .map(|(system, codes)| (system, codes.into_iter().collect()))
                .collect(),
        )
    }

    fn expand_at(&self, url: &str, depth: u8) -> Option<Expansion> {
        let vs = self.raw.get(url)?;
        if depth > 4 {
            return None;
        }
        let compose = vs.get("compose")?;
        if compose.get("exclude").is_some() {
            return None;
        }
        let mut set = Expansion::new();
        for inc in compose.get("include").and_then(Value::as_array)? {
            if inc.get("filter").is_some() {
                return None;
            }
            for imported in inc
                .get("valueSet")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                let url = imported.split('|').next().unwrap_or(imported);
                for (system, codes) in self.expand_at(url, depth + 1)? {
                    set.entry(system).or_default().extend(codes);
                }
            }
            let Some(system) = inc.get("system").and_then(Value::as_str) else {
                continue;
            };
            let codes = set.entry(system.to_string()).or_default();
            match inc.get("concept").and_then(Value::as_array) {
                Some(concepts) => codes.extend(
                    concepts
                        .iter()
                        .filter_map(|c| c.get("code").and_then(Value::as_str))
                        .map(str::to_string),
                ),
                None => codes.extend(self.code_systems.get(system)?.iter().cloned()),
            }
        }
        Some(set)
    }
}
