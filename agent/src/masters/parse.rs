//! A master file (or directory, for `clins-lab`) to a checked list of entries, or the reason it
//! is refused. Nothing here touches the database.

use std::collections::HashMap;
use std::path::Path;

use super::format::FormatError;
use super::text::{self, Record};
use super::{kinds, MasterEntry, MasterError, MasterKind};

/// What is wrong with one line (bilingual).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// Too few columns.
    #[error("{found} columns, at least {need} expected / 列数が{found}です({need}列以上必要)")]
    Columns {
        /// Columns on the line.
        found: usize,
        /// Columns the layout needs.
        need: usize,
    },
    /// A quoted field is not closed.
    #[error("a quoted field is not closed / 引用符(\")が閉じていません")]
    UnclosedQuote,
    /// Text follows a closing quote.
    #[error("text after a closing quote / 引用符の後に文字があります")]
    TextAfterQuote,
    /// A carriage return (CR) not followed by LF inside a line.
    #[error("a carriage return (CR) inside a line / 行の途中に改行コード(CR)があります")]
    BareCarriageReturn,
    /// A code column does not hold a code of its format.
    #[error("column {column}: {error}")]
    Code {
        /// The column's name.
        column: &'static str,
        /// The format problem.
        error: FormatError,
    },
    /// A required column is empty.
    #[error("column {column} is empty / {column} が空です")]
    EmptyField {
        /// The column's name.
        column: &'static str,
    },
    /// A column holds a value its layout does not allow.
    #[error("column {column} must be {allowed} / {column} は {allowed} のいずれかです")]
    Value {
        /// The column's name.
        column: &'static str,
        /// What it may hold.
        allowed: &'static str,
    },
    /// The header line is not the layout's.
    #[error("the header must have the columns {expected} / 見出し行に列 {expected} が必要です")]
    Header {
        /// The columns it needs.
        expected: &'static str,
    },
}

pub(crate) use crate::store::terminology::masters::ParsedFile;

/// Entries of a layout, each with the line it came from; `skipped` counts rows left out.
#[derive(Debug, Default)]
pub(crate) struct Rows {
    pub entries: Vec<(usize, MasterEntry)>,
    pub skipped: usize,
    /// A version the content itself states (the CodeSystem `version`).
    pub stated_version: Option<String>,
}

/// Reads and checks a whole master file of `kind`.
pub(crate) fn parse_path(kind: MasterKind, path: &Path) -> Result<ParsedFile, MasterError> {
    let source_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    if kind == MasterKind::ClinsLab {
        let (rows, sha256) = kinds::clins::read(path, &source_name)?;
        return finish(kind, rows, source_name, sha256, "JSON");
    }
    let bytes = std::fs::read(path).map_err(|source| MasterError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let sha256 = crate::digest::sha256_hex(&bytes);
    let decoded = text::decode(&bytes).map_err(|e| {
        // A multi-byte character cut at the end of a file without its final newline: truncation.
        let lines = bytes.split(|&b| b == b'\n').count();
        if e.0 == lines && !bytes.ends_with(b"\n") {
            MasterError::Truncated {
                file: source_name.clone(),
                line: e.0,
            }
        } else {
            MasterError::Undecodable {
                file: source_name.clone(),
                line: e.0,
            }
        }
    })?;
    let records = text::records(&decoded.text).map_err(|bad| {
        if bad.unterminated {
            MasterError::Truncated {
                file: source_name.clone(),
                line: bad.line,
            }
        } else {
            MasterError::Malformed {
                file: source_name.clone(),
                line: bad.line,
                problem: bad.problem,
            }
        }
    })?;
    check_last_record(&records, &source_name)?;
    let rows = kinds::parse_records(kind, &records).map_err(|(line, problem)| {
        match records.iter().find(|r| r.line == line) {
            Some(r) if r.unterminated && matches!(problem, Problem::Columns { .. }) => {
                MasterError::Truncated {
                    file: source_name.clone(),
                    line,
                }
            }
            _ => MasterError::Malformed {
                file: source_name.clone(),
                line,
                problem,
            },
        }
    })?;
    finish(kind, rows, source_name, sha256, decoded.encoding)
}

/// A last record without a newline and with fewer fields than the first record was cut off.
fn check_last_record(records: &[Record], file: &str) -> Result<(), MasterError> {
    if let (Some(first), Some(last)) = (records.first(), records.last()) {
        if last.unterminated && last.fields.len() < first.fields.len() {
            return Err(MasterError::Truncated {
                file: file.to_string(),
                line: last.line,
            });
        }
    }
    Ok(())
}

fn finish(
    kind: MasterKind,
    rows: Rows,
    source_name: String,
    sha256: String,
    encoding: &'static str,
) -> Result<ParsedFile, MasterError> {
    if rows.entries.is_empty() {
        return Err(MasterError::Empty { file: source_name });
    }
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(rows.entries.len());
    for (line, e) in &rows.entries {
        if let Some(first) = seen.insert(&e.code, *line) {
            return Err(MasterError::Duplicate {
                file: source_name,
                line: *line,
                first,
                code: e.code.to_string(),
            });
        }
    }
    let label = default_label(kind, &source_name, rows.stated_version.as_deref(), &sha256);
    Ok(ParsedFile {
        entries: rows.entries.into_iter().map(|(_, e)| e).collect(),
        skipped: rows.skipped,
        source_name,
        sha256,
        label,
        encoding,
    })
}

/// The version label when the user gives none: the release number of a MEDIS file
/// (`nmain528.txt` → `528`), a date in the file name (`JFAGY_J9FN_20250401_R01.csv` →
/// `20250401_R01`, `…-20250716.csv` → `20250716`), the version a CodeSystem states, or else the
/// first 12 hex digits of the content's SHA-256.
pub(crate) fn default_label(
    kind: MasterKind,
    source_name: &str,
    stated: Option<&str>,
    sha256: &str,
) -> String {
    let stem = source_name.split('.').next().unwrap_or(source_name);
    if matches!(kind, MasterKind::MedisDisease | MasterKind::MedisModifier) {
        let digits: String = stem
            .trim_start_matches(|c: char| c.is_ascii_alphabetic())
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        if !digits.is_empty() && stem.len() > digits.len() {
            return digits;
        }
    }
    if let Some(date) = date_in(stem) {
        return date;
    }
    if let Some(v) = stated {
        return v.to_string();
    }
    sha256.chars().take(12).collect()
}

/// An 8-digit date starting `19` or `20` in a file stem, with a following `_R01`-style release.
fn date_in(stem: &str) -> Option<String> {
    let b = stem.as_bytes();
    (0..b.len().saturating_sub(7)).find_map(|i| {
        let run = &b[i..i + 8];
        let bounded_left = i == 0 || !b[i - 1].is_ascii_digit();
        let bounded_right = b.get(i + 8).is_none_or(|c| !c.is_ascii_digit());
        if !(bounded_left && bounded_right && run.iter().all(u8::is_ascii_digit)) {
            return None;
        }
        if !(run.starts_with(b"19") || run.starts_with(b"20")) {
            return None;
        }
        let date = &stem[i..i + 8];
        let rest = &stem[i + 8..];
        let release: String = rest
            .strip_prefix('_')
            .filter(|r| r.starts_with('R'))
            .map(|r| {
                r.chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect()
            })
            .unwrap_or_default();
        Some(if release.is_empty() {
            date.to_string()
        } else {
            format!("{date}_{release}")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_names_then_content() {
        let sha = "0123456789abcdef0123";
        assert_eq!(
            default_label(MasterKind::MedisDisease, "nmain528.txt", None, sha),
            "528"
        );
        assert_eq!(
            default_label(
                MasterKind::Jfagy,
                "JFAGY_J9FN_20250401_R01.sjis.csv",
                None,
                sha
            ),
            "20250401_R01"
        );
        assert_eq!(
            default_label(
                MasterKind::Yj,
                "mhlw-drug-price-list-20250716.csv",
                None,
                sha
            ),
            "20250716"
        );
        assert_eq!(
            default_label(MasterKind::ClinsLab, "pkg", Some("1.6.0"), sha),
            "1.6.0"
        );
        assert_eq!(
            default_label(MasterKind::Hot, "hot.csv", None, sha),
            "0123456789ab"
        );
        assert_eq!(
            default_label(MasterKind::Hot, "x123456789.csv", None, sha),
            "0123456789ab"
        );
    }
}
