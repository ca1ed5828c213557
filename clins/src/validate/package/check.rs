//! One profile's snapshot as a tree, and the walk of an instance against it.
//!
//! The tree is built once at load from the rule tables' element ids (`Condition.code.coding:medisRecordNo
//! .system`): each element knows its plain children and its slices. The walk only descends into
//! what the instance has, so an absent optional parent never reports its required children.

use std::collections::HashMap;

use serde_json::Value;

use super::rules::{parent_id, ProfileRules};
use super::Package;
use crate::validate::{Finding, Severity};

/// One snapshot element. The built-in package holds about 3,400 of them for as long as the
/// agent runs, the largest piece of its idle heap (issue 9, part 3): the fields most elements
/// leave unset are boxed, so an element takes 152 bytes instead of 240.
#[derive(Debug)]
struct Element {
    /// JSON key (without `[x]`).
    name: Box<str>,
    choice: bool,
    min: u64,
    /// `None` for `*` (or a max no instance can exceed).
    max: Option<u64>,
    fixed: Option<Box<Value>>,
    pattern: Option<Box<Value>>,
    /// ValueSet url of a required binding.
    binding: Option<Box<str>>,
    slice_name: Option<Box<str>>,
    children: Vec<usize>,
    slices: Vec<usize>,
    /// For a slice: how to tell its values; `None` when the discriminator cannot be evaluated.
    matcher: Option<Box<SliceMatch>>,
}

/// One StructureDefinition, ready to check instances.
#[derive(Debug)]
pub(crate) struct Profile {
    pub url: String,
    elements: Vec<Element>,
    /// (key, severity) of every constraint in the snapshot.
    #[cfg_attr(not(test), allow(dead_code))]
    pub constraints: Vec<(String, String)>,
}

impl Profile {
    /// The tree of `rules`' elements (by their ids), with each slice's matcher.
    pub(super) fn from_rules(rules: &ProfileRules) -> Profile {
        let mut elements = Vec::with_capacity(rules.elements.len());
        let mut by_id: HashMap<&str, usize> = HashMap::new();
        for r in &rules.elements {
            let id = r.id.as_str();
            let last = id.rsplit_once('.').map_or(id, |(_, l)| l);
            let (name_part, slice_name) = match last.split_once(':') {
                Some((n, s)) => (n, Some(s.to_string())),
                None => (last, None),
            };
            let idx = elements.len();
            elements.push(Element {
                name: name_part.trim_end_matches("[x]").into(),
                choice: name_part.ends_with("[x]"),
                min: r.min,
                max: r.max,
                fixed: r.fixed.clone().map(Box::new),
                pattern: r.pattern.clone().map(Box::new),
                binding: r.binding.as_deref().map(Box::from),
                slice_name: slice_name.as_deref().map(Box::from),
                children: Vec::new(),
                slices: Vec::new(),
                matcher: None,
            });
            by_id.insert(id, idx);
            let parent = parent_id(id).and_then(|p| by_id.get(p).copied());
            match (parent, slice_name.is_some()) {
                (Some(p), true) => elements[p].slices.push(idx),
                (Some(p), false) => elements[p].children.push(idx),
                (None, _) => {}
            }
        }
        let mut profile = Profile {
            url: rules.url.clone(),
            elements,
            constraints: rules.constraints.clone(),
        };
        for (base, r) in rules.elements.iter().enumerate() {
            for s in profile.elements[base].slices.clone() {
                let type_profile = rules.elements[s].type_profile.as_deref();
                profile.elements[s].matcher = profile
                    .slice_matcher(s, &r.discriminators, type_profile)
                    .map(Box::new);
            }
        }
        for e in &mut profile.elements {
            e.children.shrink_to_fit();
            e.slices.shrink_to_fit();
        }
        profile
    }

    /// Appends a finding for every snapshot rule `resource` breaks.
    pub(super) fn check(&self, pkg: &Package, resource: &Value, at: &str, out: &mut Vec<Finding>) {
        if self.elements.is_empty() {
            return;
        }
        let mut path = String::with_capacity(128);
        path.push_str(at);
        self.walk(pkg, 0, resource, &mut path, out);
    }

    /// Checks the children (and their slices) of element `idx` inside the object `value`.
    fn walk(
        &self,
        pkg: &Package,
        idx: usize,
        value: &Value,
        path: &mut String,
        out: &mut Vec<Finding>,
    ) {
        let Some(obj) = value.as_object() else {
            return;
        };
        for &c in &self.elements[idx].children {
            let child = &self.elements[c];
            let found: Vec<(&str, &Value)> = if child.choice {
                obj.iter()
                    .filter(|(k, _)| {
                        k.strip_prefix(&*child.name).is_some_and(|rest| {
                            rest.starts_with(|ch: char| ch.is_ascii_uppercase())
                        })
                    })
                    .map(|(k, v)| (k.as_str(), v))
                    .collect()
            } else {
                obj.get_key_value(&*child.name)
                    .map(|(k, v)| (k.as_str(), v))
                    .into_iter()
                    .collect()
            };
            let mut values: Vec<(&str, Option<usize>, &Value)> = Vec::new();
            for (key, v) in found {
                match v.as_array() {
                    Some(a) => values.extend(a.iter().enumerate().map(|(i, x)| (key, Some(i), x))),
                    None => values.push((key, None, v)),
                }
            }
            let mark = path.len();
            path.push('.');
            path.push_str(&child.name);
            self.element(pkg, c, &values, path, out);
            for &s in &child.slices {
                let matched: Vec<(&str, Option<usize>, &Value)> = match &self.elements[s].matcher {
                    Some(m) => values
                        .iter()
                        .copied()
                        .filter(|(k, _, v)| m.matches(k, v))
                        .collect(),
                    None => {
                        pkg.skip_slice();
                        continue;
                    }
                };
                self.element(pkg, s, &matched, path, out);
            }
            path.truncate(mark);
        }
    }

    /// Cardinality, fixed/pattern and binding of element `e` over `values`, then descends.
    fn element(
        &self,
        pkg: &Package,
        e: usize,
        values: &[(&str, Option<usize>, &Value)],
        path: &mut String,
        out: &mut Vec<Finding>,
    ) {
        let el = &self.elements[e];
        let n = values.len() as u64;
        let shown = |p: &str| match &el.slice_name {
            Some(s) => format!("{p}:{s}"),
            None => p.to_string(),
        };
        if n < el.min {
            out.push(Finding::new(
                "SD-CARD",
                Severity::Error,
                shown(path),
                format!(
                    "required: at least {} (found {n}) in {}",
                    el.min,
                    short(&self.url)
                ),
                format!("必須です：{}で最小{}（{n}件）", short(&self.url), el.min),
            ));
        }
        if el.max.is_some_and(|m| n > m) {
            out.push(Finding::new(
                "SD-CARD",
                Severity::Error,
                shown(path),
                format!(
                    "at most {} allowed (found {n}) in {}",
                    el.max.unwrap_or(0),
                    short(&self.url)
                ),
                format!(
                    "{}で最大{}件です（{n}件）",
                    short(&self.url),
                    el.max.unwrap_or(0)
                ),
            ));
        }
        for &(_, i, v) in values {
            let mark = path.len();
            if let Some(i) = i {
                path.push_str(&format!("[{i}]"));
            }
            if let Some(f) = &el.fixed {
                if *v != **f {
                    out.push(Finding::new(
                        "SD-FIXED",
                        Severity::Error,
                        path.clone(),
                        format!("must be the fixed value {f} of {}", short(&self.url)),
                        format!("{}の固定値{f}でなければなりません", short(&self.url)),
                    ));
                }
            }
            if let Some(p) = &el.pattern {
                if !pattern_matches(p, v) {
                    out.push(Finding::new(
                        "SD-PATTERN",
                        Severity::Error,
                        path.clone(),
                        format!("must match the pattern {p} of {}", short(&self.url)),
                        format!(
                            "{}のパターン{p}に一致しなければなりません",
                            short(&self.url)
                        ),
                    ));
                }
            }
            if let Some(vs) = &el.binding {
                self.binding(pkg, vs, v, path, out);
            }
            self.walk(pkg, e, v, path, out);
            path.truncate(mark);
        }
    }

    fn binding(&self, pkg: &Package, vs: &str, v: &Value, path: &str, out: &mut Vec<Finding>) {
        let Some(expansion) = pkg.value_set(vs) else {
            pkg.skip_binding();
            return;
        };
        let in_set = |system: Option<&str>, code: Option<&str>| match (system, code) {
            (Some(s), Some(c)) => expansion.get(s).is_some_and(|codes| codes.contains(c)),
            (None, Some(c)) => expansion.values().any(|codes| codes.contains(c)),
            _ => true,
        };
        let ok = match v {
            Value::String(c) => in_set(None, Some(c)),
            Value::Object(o) if o.contains_key("coding") => {
                let codings = o.get("coding").and_then(Value::as_array);
                codings.is_none_or(|cs| {
                    cs.is_empty()
                        || cs
                            .iter()
                            .any(|c| in_set(str_of(c, "system"), str_of(c, "code")))
                })
            }
            Value::Object(_) => in_set(str_of(v, "system"), str_of(v, "code")),
            _ => true,
        };
        if !ok {
            out.push(Finding::new(
                "SD-BINDING",
                Severity::Error,
                path.to_string(),
                format!("the code is not in the required ValueSet {}", short(vs)),
                format!(
                    "コードが必須バインディングのValueSet {}にありません",
                    short(vs)
                ),
            ));
        }
    }

    /// How to tell whether a value belongs to slice `s` of a base sliced by `discriminators`;
    /// `None` when it cannot be evaluated (by profile, exists, or a target without a value).
    fn slice_matcher(
        &self,
        s: usize,
        discriminators: &[(String, String)],
        type_profile: Option<&str>,
    ) -> Option<SliceMatch> {
        let slice = &self.elements[s];
        let mut tests = Vec::new();
        for (kind, dpath) in discriminators {
            match (kind.as_str(), dpath.as_str()) {
                ("type", "$this") => tests.push(Test::Key(slice.slice_name.as_deref()?.to_owned())),
                ("value" | "pattern", "$this") => tests.push(Test::Value(
                    vec![],
                    Value::clone(slice.fixed.as_ref().or(slice.pattern.as_ref())?),
                )),
                ("value" | "pattern", p) => {
                    let target = self.descend(s, p)?;
                    let expected = target.fixed.as_ref().or(target.pattern.as_ref());
                    match (expected, p) {
                        (Some(x), _) => tests.push(Test::Value(
                            p.split('.').map(str::to_string).collect(),
                            Value::clone(x),
                        )),
                        (None, "url") => tests.push(Test::Url(type_profile?.to_string())),
                        _ => return None,
                    }
                }
                _ => return None,
            }
        }
        (!tests.is_empty()).then_some(SliceMatch(tests))
    }

    /// The element at `dotted` below element `from` (plain children only).
    fn descend(&self, from: usize, dotted: &str) -> Option<&Element> {
        let mut at = from;
        for part in dotted.split('.') {
            at = *self.elements[at]
                .children
                .iter()
                .find(|&&c| &*self.elements[c].name == part)?;
        }
        Some(&self.elements[at])
    }
}

#[derive(Debug)]
enum Test {
    /// `[x]` sliced by type: the JSON key equals the slice name.
    Key(String),
    /// The value at the path equals / contains the expected value.
    Value(Vec<String>, Value),
    /// An extension slice: `url` equals the slice's type profile.
    Url(String),
}

#[derive(Debug)]
struct SliceMatch(Vec<Test>);

impl SliceMatch {
    fn matches(&self, key: &str, v: &Value) -> bool {
        self.0.iter().all(|t| match t {
            Test::Key(k) => key == k,
            Test::Url(u) => v.get("url").and_then(Value::as_str) == Some(u.as_str()),
            Test::Value(path, expected) => {
                let mut cur = vec![v];
                for p in path {
                    cur = cur
                        .into_iter()
                        .filter_map(|c| c.get(p.as_str()))
                        .flat_map(|x| match x.as_array() {
                            Some(a) => a.iter().collect::<Vec<_>>(),
                            None => vec![x],
                        })
                        .collect();
                }
                cur.iter().any(|x| pattern_matches(expected, x))
            }
        })
    }
}

/// FHIR pattern semantics: every field of `pattern` is present in `value` with a matching
/// value; arrays match when each pattern item matches some value item.
pub(super) fn pattern_matches(pattern: &Value, value: &Value) -> bool {
    match (pattern, value) {
        (Value::Object(p), Value::Object(v)) => p
            .iter()
            .all(|(k, pv)| v.get(k).is_some_and(|vv| pattern_matches(pv, vv))),
        (Value::Array(p), Value::Array(v)) => p
            .iter()
            .all(|pi| v.iter().any(|vi| pattern_matches(pi, vi))),
        (p, v) => p == v,
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// The last segment of a canonical url.
fn short(url: &str) -> &str {
    let url = url.split('|').next().unwrap_or(url);
    url.rsplit('/').next().unwrap_or(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_element_stays_small() {
        // The built-in package keeps about 3,400 elements for the agent's life; unboxed, the
        // rarely set fields made each 240 bytes.
        let size = std::mem::size_of::<Element>();
        assert!(size <= 152, "Element is {size} bytes");
    }
}
