//! Turning a received code into what is sent: a standard code (as received, or through the
//! hospital's mapping table), the category's uncoded marker, or a refusal when the mapping table
//! itself is wrong.
//!
//! The national masters are reached through [`MasterCatalog`], implemented by the masters module
//! (and by [`MemoryCatalog`] in tests), so this module does not depend on how they are stored.

use super::catalog::MasterCatalog;
use super::category::{check_format, AllergenKind, Category, Marker};
use super::table::MappingTable;

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

/// How a standard code was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The source already sent a standard code.
    Direct,
    /// The hospital's mapping table.
    Table,
}

/// Why a mapping-table row cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidMapping {
    /// The row's standard system is not one of the category's.
    #[error("mapping to {system:?} is not allowed for {category} / 区分 {category} ではコード体系「{system}」に対応付けできません")]
    SystemNotAllowed {
        /// Category.
        category: Category,
        /// The row's system.
        system: String,
    },
    /// The row's standard code has the wrong shape.
    #[error(
        "mapped code {code:?} of {system} is malformed: {en} / 対応付け先コードの書式誤り: {ja}"
    )]
    Malformed {
        /// System.
        system: String,
        /// Code.
        code: String,
        /// English detail.
        en: String,
        /// Japanese detail.
        ja: String,
    },
    /// The row's standard code is not in the master.
    #[error("mapped code {code:?} is not in the master of {system} / 対応付け先コード「{code}」はマスターにありません")]
    NotInMaster {
        /// System.
        system: String,
        /// Code.
        code: String,
    },
}

/// What to send for a received code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A standard code.
    Mapped {
        /// System URI.
        system: String,
        /// Code.
        code: String,
        /// Display: the master's name, or the mapping row's when the master is not loaded.
        display: String,
        /// How it was found.
        via: Via,
        /// `true` when a loaded master confirmed the code; `false` when that master is absent.
        verified: bool,
    },
    /// No standard code: send the marker (or hold, per [`super::UnmappedPolicy`]).
    Unmapped {
        /// The category's uncoded marker.
        marker: Marker,
        /// `true` when a mapping row says explicitly that no standard code exists (reviewed).
        reviewed: bool,
    },
    /// The mapping table maps this code to something unusable; an error of the mapping, not sent.
    Invalid(InvalidMapping),
}

/// Resolves one received code. See the module doc for the order of the checks.
pub fn resolve(
    table: &MappingTable,
    category: Category,
    source_system: &str,
    local: &LocalCode,
    catalog: &dyn MasterCatalog,
) -> Outcome {
    // 1. Already a standard code that the master knows.
    if category.accepts_system(&local.system) && check_format(&local.system, &local.code).is_ok() {
        if let Some(name) = catalog.name(category, &local.system, &local.code) {
            return mapped(&local.system, &local.code, name, Via::Direct, true);
        }
    }
    // 2. The hospital's table.
    let Some(row) = table.lookup(category, source_system, &local.system, &local.code) else {
        return Outcome::Unmapped {
            marker: category.marker(local.allergen_kind),
            reviewed: false,
        };
    };
    if row.is_uncoded() {
        return Outcome::Unmapped {
            marker: category.marker(local.allergen_kind),
            reviewed: true,
        };
    }
    let (system, code) = (&row.standard_system, &row.standard_code);
    if !category.accepts_system(system) {
        return Outcome::Invalid(InvalidMapping::SystemNotAllowed {
            category,
            system: system.clone(),
        });
    }
    if let Err(p) = check_format(system, code) {
        return Outcome::Invalid(InvalidMapping::Malformed {
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
        None => Outcome::Invalid(InvalidMapping::NotInMaster {
            system: system.clone(),
            code: code.clone(),
        }),
    }
}

fn mapped(system: &str, code: &str, display: String, via: Via, verified: bool) -> Outcome {
    Outcome::Mapped {
        system: system.to_string(),
        code: code.to_string(),
        display,
        via,
        verified,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::catalog::{Candidate, MemoryCatalog};
    use crate::mapping::category::*;
    use crate::mapping::row::tests::row;

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
            Outcome::Mapped {
                system: DISEASE_KEY_NUMBER.into(),
                code: "20054174".into(),
                display: "胃炎".into(),
                via: Via::Direct,
                verified: true
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
        assert!(matches!(
            out,
            Outcome::Unmapped {
                reviewed: false,
                ..
            }
        ));
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
        assert!(matches!(
            out,
            Outcome::Mapped { ref display, via: Via::Table, verified: true, .. } if display == "急性胃炎"
        ));
        let out = resolve(&t, Category::Lab, "OTHER", &local("99XYZ", "K"), &c);
        assert!(matches!(out, Outcome::Mapped { ref code, .. } if code == "3H015000002326101"));
        let out = resolve(&t, Category::Disease, "OTHER", &local("99XYZ", "D1"), &c);
        assert!(matches!(out, Outcome::Unmapped { .. }));
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
        let r = |code| resolve(&t, Category::Disease, "HIS", &local("99XYZ", code), &c);
        assert!(matches!(
            r("D1"),
            Outcome::Invalid(InvalidMapping::NotInMaster { .. })
        ));
        assert!(matches!(
            r("D2"),
            Outcome::Invalid(InvalidMapping::Malformed { .. })
        ));
        assert!(matches!(
            r("D3"),
            Outcome::Invalid(InvalidMapping::SystemNotAllowed { .. })
        ));
        let Outcome::Invalid(e) = r("D1") else {
            unreachable!()
        };
        assert!(e.to_string().contains("マスターにありません"));
    }

    #[test]
    fn a_master_that_is_not_loaded_passes_well_formed_codes_unverified() {
        let t = MappingTable::new(vec![row(Category::Drug, "HIS", "M1", YJ, "1124030F2ZZZ")]);
        let out = resolve(&t, Category::Drug, "HIS", &local("99XYZ", "M1"), &catalog());
        assert!(matches!(
            out,
            Outcome::Mapped {
                verified: false,
                via: Via::Table,
                ..
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
                Outcome::Unmapped { marker, .. } => (marker.system, marker.code),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(marker(Category::Disease, AllergenKind::Other).1, "99999999");
        assert_eq!(
            marker(Category::Lab, AllergenKind::Other),
            (
                "http://jpfhir.jp/fhir/clins/CodeSystem/JP_CLINS_ObsLabResult_Uncoded_CS",
                "99999999999999999"
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
                "http://jpfhir.jp/fhir/eCS/CodeSystem/MedicationCodeNocoded_CS",
                "NOCODED"
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
        assert!(matches!(out, Outcome::Unmapped { reviewed: true, .. }));
    }
}
