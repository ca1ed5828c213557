//! ValueSet expansion from the package's own CodeSystems, for required bindings.
//!
//! A ValueSet is expandable when every `compose.include` either lists its concepts or names a
//! CodeSystem of the package whose content is `complete`, without filters; imports of other
//! ValueSets are followed once. Anything else (filters, external systems) is not expandable and
//! the binding is skipped by the caller.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

/// Codes by system, for one expanded ValueSet.
pub(super) type Expansion = HashSet<(String, String)>;

#[derive(Debug, Default)]
pub(super) struct Terminology {
    /// Complete CodeSystems: url → codes (nested concepts included).
    code_systems: HashMap<String, Vec<String>>,
    /// Raw ValueSets by url, until expanded.
    raw: HashMap<String, Value>,
    /// Expanded ValueSets by url; `None` when not expandable.
    expanded: HashMap<String, Option<Expansion>>,
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
        if let Some(url) = vs.get("url").and_then(Value::as_str) {
            self.raw.insert(url.to_string(), vs.clone());
        }
    }

    pub(super) fn expand_all(&mut self) {
        let urls: Vec<String> = self.raw.keys().cloned().collect();
        for url in urls {
            let e = self.expand(&url, 0);
            self.expanded.insert(url, e);
        }
        self.raw.clear();
    }

    fn expand(&self, url: &str, depth: u8) -> Option<Expansion> {
        let vs = self.raw.get(url)?;
        if depth > 4 {
            return None;
        }
        let compose = vs.get("compose")?;
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
                set.extend(self.expand(imported.split('|').next().unwrap_or(imported), depth + 1)?);
            }
            let Some(system) = inc.get("system").and_then(Value::as_str) else {
                continue;
            };
            match inc.get("concept").and_then(Value::as_array) {
                Some(concepts) => set.extend(
                    concepts
                        .iter()
                        .filter_map(|c| c.get("code").and_then(Value::as_str))
                        .map(|c| (system.to_string(), c.to_string())),
                ),
                None => set.extend(
                    self.code_systems
                        .get(system)?
                        .iter()
                        .map(|c| (system.to_string(), c.clone())),
                ),
            }
        }
        if compose.get("exclude").is_some() {
            return None;
        }
        Some(set)
    }

    /// The expansion of `url` (version suffix ignored); `None` when unknown or not expandable.
    pub(super) fn expansion(&self, url: &str) -> Option<&Expansion> {
        let url = url.split('|').next().unwrap_or(url);
        self.expanded.get(url).and_then(Option::as_ref)
    }
}
