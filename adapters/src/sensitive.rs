//! `Sensitive<T>`: a wrapper for patient values (names, IDs, birth dates, free text).
//!
//! Its `Debug` and `Display` print `***`, so a patient value cannot reach a log line, an
//! error message or a panic through `{:?}` or `{}`. Code that really needs the value (the
//! bundle builder writing FHIR JSON) asks for it explicitly with [`Sensitive::expose`], which
//! makes every such use visible in review.

use std::fmt;

/// A patient value that never prints itself. See the module docs.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sensitive<T>(T);

impl<T> Sensitive<T> {
    /// Wraps a patient value.
    pub fn new(value: T) -> Self {
        Sensitive(value)
    }

    /// Borrows the value. Use only to write it where patient data belongs (FHIR output).
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// Unwraps the value. Same rule as [`Sensitive::expose`].
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for Sensitive<T> {
    fn from(value: T) -> Self {
        Sensitive(value)
    }
}

impl<T> fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<T> fmt::Display for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let name = Sensitive::new(String::from("テスト 太郎"));
        assert_eq!(format!("{name:?}"), "***");
        assert_eq!(format!("{name}"), "***");
        assert_eq!(format!("{:#?}", Some(&name)), "Some(\n    ***,\n)");
        assert_eq!(name.expose(), "テスト 太郎");
    }

    #[test]
    fn nested_in_a_derived_debug_struct_stays_hidden() {
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Holder {
            birth: Sensitive<&'static str>,
        }
        let shown = format!(
            "{:?}",
            Holder {
                birth: Sensitive::new("1950-01-02")
            }
        );
        assert!(!shown.contains("1950"), "{shown}");
    }
}
