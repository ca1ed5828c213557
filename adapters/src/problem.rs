//! What went wrong while parsing an input: [`Problem`] and its [`Severity`].
//!
//! A problem names the field (a JSON path like `$.entry[3].resource.subject` or an HL7 v2
//! field like `PID-3`) and the reason in English and Japanese. It never quotes the offending
//! value, because that value may be patient data.

use std::fmt;

/// How bad a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// The input (or the named part of it) cannot be used; a wholly fatal input is quarantined.
    Fatal,
    /// Something was skipped or assumed; the rest of the input is still usable.
    Warning,
}

/// One thing an adapter could not read. Its `Display` is `"<field>: <en> / <ja>"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where in the input: `$.entry[2].resource`, `PID-3`, … Never a patient value.
    pub field: String,
    /// Why, in English. Never quotes a patient value.
    pub reason_en: String,
    /// Why, in Japanese. Never quotes a patient value.
    pub reason_ja: String,
    /// Whether the named part is unusable ([`Severity::Fatal`]) or merely suspicious.
    pub severity: Severity,
}

impl Problem {
    /// A [`Severity::Fatal`] problem.
    pub fn fatal(
        field: impl Into<String>,
        reason_en: impl Into<String>,
        reason_ja: impl Into<String>,
    ) -> Self {
        Problem {
            field: field.into(),
            reason_en: reason_en.into(),
            reason_ja: reason_ja.into(),
            severity: Severity::Fatal,
        }
    }

    /// A [`Severity::Warning`] problem.
    pub fn warning(
        field: impl Into<String>,
        reason_en: impl Into<String>,
        reason_ja: impl Into<String>,
    ) -> Self {
        Problem {
            severity: Severity::Warning,
            ..Problem::fatal(field, reason_en, reason_ja)
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} / {}", self.field, self.reason_en, self.reason_ja)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_field_then_both_languages() {
        let p = Problem::fatal("PID-3", "missing patient id", "患者IDがありません");
        assert_eq!(
            p.to_string(),
            "PID-3: missing patient id / 患者IDがありません"
        );
        assert_eq!(Problem::warning("x", "a", "b").severity, Severity::Warning);
    }
}
