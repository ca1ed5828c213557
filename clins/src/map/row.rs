//! One mapping row: a hospital's local code and the standard code it stands for. The CSV file
//! hospital IT edit (reading, writing, line checks) is the agent's; the rules a row's standard
//! side must meet are here, so an import and a lookup apply the same ones.

use super::category::{check_format, Category};

/// `source_system` value that matches every source.
pub const ANY_SOURCE: &str = "*";

/// A local code and the standard code it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// What kind of code.
    pub category: Category,
    /// The sending system, or [`ANY_SOURCE`].
    pub source_system: String,
    /// The code system name as received ("" when none was sent).
    pub local_system: String,
    /// The code as received.
    pub local_code: String,
    /// The local name.
    pub local_name: String,
    /// Standard system URI.
    pub standard_system: String,
    /// Standard code.
    pub standard_code: String,
    /// Standard display.
    pub standard_display: String,
    /// Free text.
    pub note: String,
}

impl Row {
    /// Whether the row says "this local code has no standard code" (maps to the uncoded marker).
    pub fn is_uncoded(&self) -> bool {
        self.category
            .marker_with_code(&self.standard_code)
            .is_some_and(|m| m.system == self.standard_system)
    }
}

/// The standard side of a row: an allowed system for the category and a well-formed code (or
/// the category's uncoded marker).
pub fn check_standard(row: &Row) -> Result<(), (String, String)> {
    if row.is_uncoded() {
        return Ok(());
    }
    if !row.category.accepts_system(&row.standard_system) {
        return Err((
            format!(
                "standard_system {:?} is not a standard system for {} (allowed: {})",
                row.standard_system,
                row.category,
                row.category.standard_systems().join(" ")
            ),
            format!(
                "standard_system「{}」は区分 {} の標準コード体系ではありません",
                row.standard_system, row.category
            ),
        ));
    }
    check_format(&row.standard_system, &row.standard_code).map_err(|p| (p.en, p.ja))
}

/// Rows for tests, here and in the agent (feature `test-support`).
#[cfg(any(test, feature = "test-support"))]
pub mod testing {
    use super::*;

    /// A row of `cat` from `source` mapping local `99XYZ`/`code` to `system`/`std`.
    pub fn row(cat: Category, source: &str, code: &str, system: &str, std: &str) -> Row {
        Row {
            category: cat,
            source_system: source.into(),
            local_system: "99XYZ".into(),
            local_code: code.into(),
            local_name: format!("名前{code}"),
            standard_system: system.into(),
            standard_code: std.into(),
            standard_display: String::new(),
            note: String::new(),
        }
    }
}
