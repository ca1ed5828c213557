//! Turning a received code into what is sent: a standard code (as received, or through the
//! hospital's mapping table), the category's uncoded marker, or a refusal when the mapping table
//! itself is wrong.
//!
//! The national masters are reached through [`MasterCatalog`], implemented over the loaded
//! masters by [`super::SetCatalog`] (and by [`super::MemoryCatalog`] in tests), so this module
//! does not depend on how they are stored.

use super::catalog::MasterCatalog;
use super::category::{check_format, AllergenKind, Category};
use super::outcome::{Invalid, InvalidMapping, Outcome, Via};
use super::table::MappingTable;
use super::terminology::Coding;

/// A code as received from a source.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LocalCode {
    /// Code system as received (a standard URI when the adapter recognised one, else `99XYZ`).
    pub system: String,
    /// The code.
    pub code: String,
    /// The allergy's kind (allergens only): picks the J-FAGY dummy code.
    pub allergen_kind: AllergenKind,
}

/// What [`resolve`] decided for a received code: the outcome, and the coding sent for it — the
/// standard code (mapped), or the category's uncoded marker (unmapped); none when invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// Mapped (direct or through the table), unmapped, or invalid; never held (holding is the
    /// category's policy, applied by the caller).
    pub outcome: Outcome,
    /// The coding sent for the code.
    pub coding: Option<Coding>,
}

/// Resolves one received code. See the module doc for the order of the checks.
pub fn resolve(
    table: &MappingTable,
    category: Category,
    source_system: &str,
    local: &LocalCode,
    catalog: &dyn MasterCatalog,
) -> Resolution {
    // 1. Already a standard code that the master knows.
    if category.accepts_system(&local.system) && check_format(&local.system, &local.code).is_ok() {
        if let Some(name) = catalog.name(category, &local.system, &local.code) {
            return mapped(&local.system, &local.code, name, Via::Direct, true);
        }
    }
    // 2. The hospital's table.
    let Some(row) = table.lookup(category, source_system, &local.system, &local.code) else {
        return unmapped(category, local.allergen_kind, false);
    };
    if row.is_uncoded() {
        return unmapped(category, local.allergen_kind, true);
    }
    let (system, code) = (&row.standard_system, &row.standard_code);
    if !category.accepts_system(system) {
        return invalid(InvalidMapping::SystemNotAllowed {
            category,
            system: system.clone(),
        });
    }
    if let Err(p) = check_format(system, code) {
        return invalid(InvalidMapping::Malformed {
            system: system.clone(),
            code: code.clone(),
            en: p.en,
            ja: p.ja,
        });
    }
    match catalog.name(category, system, code) {
        Some(name) => mapped(system, code, name, Via::Table, true),
        None if !catalog.covers(category, system) => mapped(
            system,
            code,
            row.standard_display.clone(),
            Via::Table,
            false,
        ),
        None => invalid(InvalidMapping::NotInMaster {
            system: system.clone(),
            code: code.clone(),
        }),
    }
}

fn mapped(system: &str, code: &str, display: String, via: Via, verified: bool) -> Resolution {
    Resolution {
        outcome: Outcome::Mapped { via, verified },
        coding: Some(Coding::new(system, code, display)),
    }
}

fn unmapped(category: Category, kind: AllergenKind, reviewed: bool) -> Resolution {
    let marker = category.marker(kind);
    Resolution {
        outcome: Outcome::Unmapped { reviewed },
        coding: Some(Coding::new(marker.system, marker.code, marker.display)),
    }
}

fn invalid(why: InvalidMapping) -> Resolution {
    Resolution {
        outcome: Outcome::Invalid(Invalid::Mapping(why)),
        coding: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::catalog::{Candidate, MemoryCatalog};
    use crate::map::category::*;
    use crate::map::row::testing::row;

    fn catalog() -> MemoryCatalog {
        let mut c = MemoryCatalog::new();
        let mut add = |cat, system: &str, code: &str, name: &str| {
            c.add(
                cat,
                Candidate {
                    system: system.into(),
                    code: code.into(),
                    name: name.into(),
                    ..Default::default()
                },
            )
        };
        add(Category::Disease, DISEASE_KEY_NUMBER, "20054174", "胃炎");
        add(
            Category::Disease,
            DISEASE_KEY_NUMBER,
            "20064049",
            "急性胃炎",
        );
        add(Category::Lab, JLAC10, "3H015000002326101", "カリウム");
        add(Category::Allergen, JFAGY_FOOD, "J9FC11310000", "卵");
        c
    }

    fn local(system: &str, code: &str) -> LocalCode {
        LocalCode {
            system: system.into(),
            code: code.into(),
            allergen_kind: AllergenKind::Other,
        }
    }

    #[test]
    fn a_standard_code_in_the_master_is_direct() {
        let t = MappingTable::default();
        let out = resolve(
            &t,
            Category::Disease,
            "HIS",
            &local(DISEASE_KEY_NUMBER, "20054174"),
            &catalog(),
        );
        assert_eq!(
            out,
            Resolution {
                outcome: Outcome::Mapped {
                    via: Via::Direct,
                    verified: true
                },
                coding: Some(Coding::new(DISEASE_KEY_NUMBER, "20054174", "胃炎")),
            }
        );
        // A standard-looking code absent from the master is not direct.
        let out = resolve(
            &t,
            Category::Disease,
            "HIS",
            &local(DISEASE_KEY_NUMBER, "20000000"),
            &catalog(),
        );
        assert!(matches!(out.outcome, Outcome::Unmapped { reviewed: false }));
    }

    #[test]
    fn table_hits_use_the_master_display_and_the_wildcard_source() {
        let t = MappingTable::new(vec![
            row(
                Category::Disease,
                "HIS",
                "D1",
                DISEASE_KEY_NUMBER,
                "20064049",
            ),
            row(Category::Lab, "*", "K", JLAC10, "3H015000002326101"),
        ]);
        let c = catalog();
        let out = resolve(&t, Category::Disease, "HIS", &local("99XYZ", "D1"), &c);
        assert_eq!(
            out.outcome,
            Outcome::Mapped {
                via: Via::Table,
                verified: true
            }
        );
        assert_eq!(out.coding.unwrap().display, "急性胃炎");
        let out = resolve(&t, Category::Lab, "OTHER", &local("99XYZ", "K"), &c);
        assert!(out.outcome.is_mapped());
        assert_eq!(out.coding.unwrap().code, "3H015000002326101");
        let out = resolve(&t, Category::Disease, "OTHER", &local("99XYZ", "D1"), &c);
        assert!(matches!(out.outcome, Outcome::Unmapped { .. }));
    }

    #[test]
    fn bad_table_rows_are_invalid() {
        let t = MappingTable::new(vec![
            row(
                Category::Disease,
                "HIS",
                "D1",
                DISEASE_KEY_NUMBER,
                "20000000",
            ),
            row(
                Category::Disease,
                "HIS",
                "D2",
                DISEASE_KEY_NUMBER,
                "2005417",
            ),
            row(Category::Disease, "HIS", "D3", JLAC10, "3H015000002326101"),
        ]);
        let c = catalog();
        let r = |code| resolve(&t, Category::Disease, "HIS", &local("99XYZ", code), &c).outcome;
        assert!(matches!(
            r("D1"),
            Outcome::Invalid(Invalid::Mapping(InvalidMapping::NotInMaster { .. }))
        ));
        assert!(matches!(
            r("D2"),
            Outcome::Invalid(Invalid::Mapping(InvalidMapping::Malformed { .. }))
        ));
        assert!(matches!(
            r("D3"),
            Outcome::Invalid(Invalid::Mapping(InvalidMapping::SystemNotAllowed { .. }))
        ));
        let Outcome::Invalid(Invalid::Mapping(e)) = r("D1") else {
            unreachable!()
        };
        assert!(e.to_string().contains("マスターにありません"));
    }

    #[test]
    fn a_master_that_is_not_loaded_passes_well_formed_codes_unverified() {
        let t = MappingTable::new(vec![row(Category::Drug, "HIS", "M1", YJ, "1124030F2ZZZ")]);
        let out = resolve(&t, Category::Drug, "HIS", &local("99XYZ", "M1"), &catalog());
        assert!(matches!(
            out.outcome,
            Outcome::Mapped {
                verified: false,
                via: Via::Table,
            }
        ));
    }

    #[test]
    fn unmapped_codes_get_the_marker_of_their_category() {
        let t = MappingTable::default();
        let c = catalog();
        let marker = |cat: Category, kind| {
            let mut l = local("99XYZ", "X");
            l.allergen_kind = kind;
            match resolve(&t, cat, "HIS", &l, &c) {
                Resolution {
                    outcome: Outcome::Unmapped { .. },
                    coding: Some(marker),
                } => (marker.system, marker.code),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(marker(Category::Disease, AllergenKind::Other).1, "99999999");
        assert_eq!(
            marker(Category::Lab, AllergenKind::Other),
            (
                "http://jpfhir.jp/fhir/clins/CodeSystem/JP_CLINS_ObsLabResult_Uncoded_CS"
                    .to_string(),
                "99999999999999999".to_string()
            )
        );
        assert_eq!(
            marker(Category::Allergen, AllergenKind::Food).1,
            "D9F000000000"
        );
        assert_eq!(
            marker(Category::Allergen, AllergenKind::Medication).1,
            "D9M000000000"
        );
        assert_eq!(
            marker(Category::Allergen, AllergenKind::Other).1,
            "D9N000000000"
        );
        assert_eq!(
            marker(Category::Drug, AllergenKind::Other),
            (
                "http://jpfhir.jp/fhir/eCS/CodeSystem/MedicationCodeNocoded_CS".to_string(),
                "NOCODED".to_string()
            )
        );
    }

    #[test]
    fn a_row_mapping_to_the_marker_is_reviewed_unmapped() {
        let t = MappingTable::new(vec![row(
            Category::Disease,
            "HIS",
            "D9",
            DISEASE_KEY_NUMBER,
            "99999999",
        )]);
        let out = resolve(
            &t,
            Category::Disease,
            "HIS",
            &local("99XYZ", "D9"),
            &catalog(),
        );
        assert!(matches!(out.outcome, Outcome::Unmapped { reviewed: true }));
    }
}
