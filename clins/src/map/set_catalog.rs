//! The loaded national masters ([`MasterSet`]) as the mapping code sees them
//! ([`MasterCatalog`]): which master answers for which code system URI, and the candidates a
//! suggestion may propose.

use super::category as cs;
use super::{Candidate, Category, ExtraKey, MasterCatalog, MasterEntry, MasterKind, MasterSet};

/// The master that holds the codes of a standard code system, if any is loaded by kind.
pub fn kind_of_system(system: &str) -> Option<MasterKind> {
    Some(match system {
        cs::DISEASE_KEY_NUMBER => MasterKind::MedisDisease,
        cs::DISEASE_RECEIPT => MasterKind::ReceiptDisease,
        cs::JLAC10 => MasterKind::Jlac10,
        cs::JLAC10_CORE | cs::JLAC10_INFECTION | cs::JLAC11_CORE | cs::JLAC11_INFECTION => {
            MasterKind::ClinsLab
        }
        cs::JFAGY_FOOD
        | cs::JFAGY_NON_FOOD
        | cs::JFAGY_DRUG_YJ
        | cs::JFAGY_DRUG_GENERIC
        | cs::JFAGY_DRUG => MasterKind::Jfagy,
        cs::YJ => MasterKind::Yj,
        cs::HOT13 => MasterKind::Hot,
        _ => return None,
    })
}

/// The J-FAGY CodeSystem a code belongs to, by its metacode prefix.
pub fn jfagy_system(code: &str) -> Option<&'static str> {
    match code.get(..3)? {
        "J9F" | "D9F" => Some(cs::JFAGY_FOOD),
        "J9N" | "D9N" => Some(cs::JFAGY_NON_FOOD),
        "YCM" => Some(cs::JFAGY_DRUG_YJ),
        "GCM" => Some(cs::JFAGY_DRUG_GENERIC),
        "D9M" => Some(cs::JFAGY_DRUG),
        _ => None,
    }
}

/// A [`MasterSet`] seen through [`MasterCatalog`].
pub struct SetCatalog<'a>(pub &'a MasterSet);

impl SetCatalog<'_> {
    /// The entry of `code` in the master of `system`, checking the CodeSystem for the masters
    /// that hold several (the CLINS designated items, J-FAGY).
    pub fn entry(&self, system: &str, code: &str) -> Option<&MasterEntry> {
        let kind = kind_of_system(system)?;
        let e = self.0.lookup(kind, code)?;
        let fits = match kind {
            MasterKind::ClinsLab => e.extra(ExtraKey::System) == Some(system),
            MasterKind::Jfagy => jfagy_system(code) == Some(system),
            _ => true,
        };
        fits.then_some(e)
    }
}

impl MasterCatalog for SetCatalog<'_> {
    fn name(&self, _category: Category, system: &str, code: &str) -> Option<String> {
        self.entry(system, code).map(|e| e.display.to_string())
    }

    fn candidates(&self, category: Category) -> Vec<Candidate> {
        let set = self.0;
        let plain = |kind: MasterKind, system: &str| -> Vec<Candidate> {
            set.entries(kind)
                .iter()
                .map(|e| Candidate {
                    system: system.to_string(),
                    code: e.code.to_string(),
                    name: e.display.to_string(),
                    unit: e.extra(ExtraKey::Unit).map(str::to_string),
                    specimen: e.extra(ExtraKey::Specimen).map(str::to_string),
                })
                .collect()
        };
        match category {
            Category::Disease => {
                let mut c = plain(MasterKind::MedisDisease, cs::DISEASE_KEY_NUMBER);
                c.extend(plain(MasterKind::ReceiptDisease, cs::DISEASE_RECEIPT));
                c
            }
            Category::Lab => {
                let mut c: Vec<Candidate> = set
                    .entries(MasterKind::ClinsLab)
                    .iter()
                    .filter_map(|e| {
                        Some(Candidate {
                            system: e.extra(ExtraKey::System)?.to_string(),
                            code: e.code.to_string(),
                            // The FHIR識別名 (`K`) says little to a name search; the Japanese
                            // item name does.
                            name: e.extra(ExtraKey::NameJa).unwrap_or(&e.display).to_string(),
                            unit: e.extra(ExtraKey::Unit).map(str::to_string),
                            specimen: e.extra(ExtraKey::Specimen).map(str::to_string),
                        })
                    })
                    .collect();
                c.extend(plain(MasterKind::Jlac10, cs::JLAC10));
                c
            }
            Category::Allergen => set
                .entries(MasterKind::Jfagy)
                .iter()
                .filter(|e| !e.code.starts_with('D'))
                .filter_map(|e| {
                    Some(Candidate {
                        system: jfagy_system(&e.code)?.to_string(),
                        code: e.code.to_string(),
                        name: e.display.to_string(),
                        unit: None,
                        specimen: None,
                    })
                })
                .collect(),
            Category::Drug => {
                let mut c = plain(MasterKind::Yj, cs::YJ);
                c.extend(plain(MasterKind::Hot, cs::HOT13));
                c
            }
        }
    }

    fn covers(&self, _category: Category, system: &str) -> bool {
        kind_of_system(system).is_some_and(|k| !self.0.entries(k).is_empty())
    }
}
