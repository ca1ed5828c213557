//! Checking a mapping table against the national masters: each row's standard code must have the
//! right shape and be in the master; a display that differs from the master's name is a warning.

use std::collections::BTreeSet;

use super::normalize::normalize;
use super::row::{check_standard, Row};
use crate::map::catalog::MasterCatalog;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The row cannot be used (the pipeline would report the record as invalid).
    Error,
    /// The row works but looks wrong.
    Warning,
}

/// One finding about one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// The file line (when checking a file).
    pub line: Option<usize>,
    /// `category/source/local_system/local_code` of the row.
    pub row: String,
    /// English.
    pub en: String,
    /// Japanese.
    pub ja: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        if let Some(l) = self.line {
            write!(f, "line {l}: ")?;
        }
        write!(f, "{sev}: {}: {} / {}", self.row, self.en, self.ja)
    }
}

/// The result of a check.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Findings, in row order.
    pub findings: Vec<Finding>,
    /// Rows checked.
    pub rows: usize,
    /// Standard systems whose master is not loaded: their codes were checked for shape only.
    pub not_loaded: BTreeSet<String>,
}

impl Report {
    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }
}

/// Checks rows (with their file lines, when known). Without a catalog, only shapes are checked
/// and every system used is listed in [`Report::not_loaded`].
pub fn check<'a>(
    rows: impl IntoIterator<Item = (Option<usize>, &'a Row)>,
    catalog: Option<&dyn MasterCatalog>,
) -> Report {
    let mut report = Report::default();
    for (line, row) in rows {
        report.rows += 1;
        let id = format!(
            "{}/{}/{}/{}",
            row.category, row.source_system, row.local_system, row.local_code
        );
        let mut push = |severity, en: String, ja: String| {
            report.findings.push(Finding {
                severity,
                line,
                row: id.clone(),
                en,
                ja,
            })
        };
        if row.is_uncoded() {
            continue;
        }
        if let Err((en, ja)) = check_standard(row) {
            push(Severity::Error, en, ja);
            continue;
        }
        let catalog = match catalog {
            Some(c) if c.covers(row.category, &row.standard_system) => c,
            _ => {
                report.not_loaded.insert(row.standard_system.clone());
                continue;
            }
        };
        match catalog.name(row.category, &row.standard_system, &row.standard_code) {
            None => push(
                Severity::Error,
                format!("{} is not in the master", row.standard_code),
                format!("{} はマスターにありません", row.standard_code),
            ),
            Some(name)
                if !row.standard_display.is_empty()
                    && normalize(&name) != normalize(&row.standard_display) =>
            {
                push(
                    Severity::Warning,
                    format!(
                        "standard_display {:?} differs from the master name {name:?}",
                        row.standard_display
                    ),
                    format!(
                        "standard_display「{}」がマスターの名称「{name}」と異なります",
                        row.standard_display
                    ),
                )
            }
            Some(_) => {}
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::catalog::{Candidate, MemoryCatalog};
    use crate::map::category::{Category, DISEASE_KEY_NUMBER, YJ};
    use crate::mapping::row::tests::row;

    #[test]
    fn errors_warnings_and_unloaded_masters() {
        let mut cat = MemoryCatalog::new();
        cat.add(
            Category::Disease,
            Candidate {
                system: DISEASE_KEY_NUMBER.into(),
                code: "20054174".into(),
                name: "胃炎".into(),
                ..Default::default()
            },
        );
        let mut ok = row(
            Category::Disease,
            "HIS",
            "D1",
            DISEASE_KEY_NUMBER,
            "20054174",
        );
        ok.standard_display = "胃炎 ".into();
        let mut wrong_name = ok.clone();
        wrong_name.local_code = "D2".into();
        wrong_name.standard_display = "胃潰瘍".into();
        let missing = row(
            Category::Disease,
            "HIS",
            "D3",
            DISEASE_KEY_NUMBER,
            "20000000",
        );
        let malformed = row(Category::Disease, "HIS", "D4", DISEASE_KEY_NUMBER, "200");
        let drug = row(Category::Drug, "HIS", "M1", YJ, "1124030F2ZZZ");
        let rows = [ok, wrong_name, missing, malformed, drug];
        let r = check(
            rows.iter().enumerate().map(|(i, r)| (Some(i + 2), r)),
            Some(&cat),
        );
        let got: Vec<(Option<usize>, Severity)> =
            r.findings.iter().map(|f| (f.line, f.severity)).collect();
        assert_eq!(
            got,
            vec![
                (Some(3), Severity::Warning),
                (Some(4), Severity::Error),
                (Some(5), Severity::Error)
            ]
        );
        assert!(r.has_errors());
        assert_eq!(r.not_loaded.iter().collect::<Vec<_>>(), vec![YJ]);
        assert!(r.findings[1].to_string().contains("マスターにありません"));

        let r = check(rows.iter().map(|r| (None, r)), None);
        assert_eq!(
            r.findings.len(),
            1,
            "only the malformed one without masters"
        );
        assert!(r.not_loaded.contains(DISEASE_KEY_NUMBER));
    }
}
