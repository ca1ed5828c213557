//! The national masters as the mapping code sees them: a name per standard code, and the
//! candidates suggestions choose from. [`super::SetCatalog`] implements [`MasterCatalog`] over
//! the loaded masters; [`MemoryCatalog`] holds a few entries in memory (tests, small files).

use std::collections::HashMap;

use super::category::Category;

/// One entry of a national master offered as a suggestion.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Candidate {
    /// Standard code system URI.
    pub system: String,
    /// The code.
    pub code: String,
    /// Its display name in the master.
    pub name: String,
    /// Result unit (labs), when the master knows it.
    pub unit: Option<String>,
    /// Specimen / 材料 name (labs), when the master knows it.
    pub specimen: Option<String>,
}

/// The national masters as the mapping code needs them.
pub trait MasterCatalog {
    /// The display name of a standard code; `None` when the code is not in the master.
    fn name(&self, category: Category, system: &str, code: &str) -> Option<String>;
    /// Every entry of a category that suggestions may propose.
    fn candidates(&self, category: Category) -> Vec<Candidate>;
    /// Whether the master of `system` is loaded at all. When it is not, a well-formed code cannot
    /// be confirmed or refused, and is passed on unverified.
    fn covers(&self, _category: Category, _system: &str) -> bool {
        true
    }
}

/// A catalog held in memory (tests, small files).
#[derive(Debug, Clone, Default)]
pub struct MemoryCatalog {
    by_category: HashMap<Category, Vec<Candidate>>,
    names: HashMap<(Category, String, String), String>,
}

impl MemoryCatalog {
    /// An empty catalog (every master "loaded" but empty).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one entry.
    pub fn add(&mut self, category: Category, candidate: Candidate) {
        self.names.insert(
            (category, candidate.system.clone(), candidate.code.clone()),
            candidate.name.clone(),
        );
        self.by_category
            .entry(category)
            .or_default()
            .push(candidate);
    }
}

impl MasterCatalog for MemoryCatalog {
    fn name(&self, category: Category, system: &str, code: &str) -> Option<String> {
        self.names
            .get(&(category, system.to_string(), code.to_string()))
            .cloned()
    }
    fn candidates(&self, category: Category) -> Vec<Candidate> {
        self.by_category.get(&category).cloned().unwrap_or_default()
    }
    fn covers(&self, category: Category, system: &str) -> bool {
        self.by_category
            .get(&category)
            .is_some_and(|c| c.iter().any(|c| c.system == system))
    }
}
