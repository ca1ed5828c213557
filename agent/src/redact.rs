//! A second line of defence for text the operations surface shows: metric label values and
//! error reasons.
//!
//! Reasons stored by the pipeline and the sender are written without patient data already; this
//! module does not rely on it. [`label`] lets through only short tokens of a fixed alphabet
//! (states, source names, rule keys); [`scrub`] masks what could identify a patient in free text:
//! dates, long digit runs (IDs, phone numbers), quoted values in non-ASCII script (names), paths
//! and file names (an export may be named `山田太郎_20250401.json`; an SS-MIX2 path holds the
//! patient ID). [`scrub_input`] first puts an input's tag ([`input_tag`]) where its own path
//! appears, so a reason still says which file without naming it.

use std::sync::OnceLock;

use regex::Regex;

/// The mask put in place of a removed value.
pub const MASK: &str = "***";

/// A metric label value: itself if it is a short token of `[A-Za-z0-9_.:-]`, else `other`.
pub fn label(value: &str) -> &str {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'));
    if ok {
        value
    } else {
        "other"
    }
}

/// The platform's rule keys named in a rejection reason (`[R9012,SIM-INSTITUTION]` blocks, as
/// the uplink writes them); `other` when the reason names none. Each key passes [`label`].
pub fn rule_keys(reason: &str) -> Vec<String> {
    static BLOCK: OnceLock<Regex> = OnceLock::new();
    let re = BLOCK.get_or_init(|| Regex::new(r"\[([^\]\[]{1,200})\]").expect("static regex"));
    let mut keys: Vec<String> = re
        .captures_iter(reason)
        .flat_map(|c| {
            c[1].split(',')
                .map(|k| label(k.trim()).to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    keys.sort();
    keys.dedup();
    if keys.is_empty() {
        keys.push("other".into());
    }
    keys
}

/// A short stable tag for an input file: 12 hex digits of SHA-256 over source, NUL, relative
/// path. The same tag the sources write in their log lines (`digest::path_tag`),
/// so an operator can find the file's lines without its name appearing anywhere.
pub fn input_tag(source: &str, rel: &str) -> String {
    crate::digest::path_tag(source, rel)
}

/// [`scrub`] for a reason about one input: where the reason names it as the pipeline does,
/// `source:relative/path`, the path becomes `file <tag>` first.
pub fn scrub_input(text: &str, source: &str, rel: &str) -> String {
    // A private-use character holds the place through scrub (no pattern masks it alone).
    const SLOT: &str = "\u{E000}";
    if rel.is_empty() {
        return scrub(text);
    }
    let named = format!("{source}:{rel}");
    let tagged = format!("{source}:file {}", input_tag(source, rel));
    scrub(&text.replace(&named, SLOT)).replace(SLOT, &tagged)
}

/// Longest text shown for one reason.
pub const MAX_CHARS: usize = 300;

/// Masks paths (a token with `/` or `\` inside), file names (`*.json`, `*.hl7`, …), tokens
/// joining digits with `_` (SS-MIX2 file names), dates, digit runs of 6 or more, and quoted
/// values containing non-ASCII characters or digits; cuts the text at [`MAX_CHARS`] and flattens
/// control characters.
pub fn scrub(text: &str) -> String {
    static PATTERNS: OnceLock<Vec<Regex>> = OnceLock::new();
    let patterns = PATTERNS.get_or_init(|| {
        [
            // Paths: 000/123/0001234567/…, C:\in\a.json (a lone " / " between languages stays).
            r"\S*[^\s/\\][/\\]\S*|\S*[/\\][^\s/\\]\S*",
            r"(?i)\S+\.(?:json|xml|hl7|er7|txt|csv|dat|ndjson|msg)\b\S*",
            r"\S*\d\S*_\S*|\S*_\S*\d\S*",
            // Dates: 1987-06-05, 1987/6/5, 19870605, 1987年6月5日.
            r"\d{4}[-/年]\d{1,2}[-/月]\d{1,2}日?",
            r"\d{6,}",
            // Quoted values in non-ASCII script or with digits: names, IDs.
            r#""[^"]*[^\x00-\x7F0-9][^"]*"|"[^"]*\d[^"]*""#,
            r"「[^」]*」",
            r"'[^']*[^\x00-\x7F][^']*'",
        ]
        .iter()
        .map(|p| Regex::new(p).expect("static regex"))
        .collect()
    });
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_CHARS)
        .collect();
    for re in patterns {
        out = re.replace_all(&out, MASK).into_owned();
    }
    if text.chars().count() > MAX_CHARS {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn labels_let_only_tokens_through() {
        assert_eq!(label("pending"), "pending");
        assert_eq!(label("R9012"), "R9012");
        assert_eq!(label("SIM-INSTITUTION"), "SIM-INSTITUTION");
        assert_eq!(label("試験"), "other");
        assert_eq!(label("a b"), "other");
        assert_eq!(label("x\"}"), "other");
        assert_eq!(label(""), "other");
        assert_eq!(label(&"a".repeat(65)), "other");
    }

    #[test]
    fn rule_keys_come_from_bracket_blocks() {
        assert_eq!(
            rule_keys("error invalid [R9012,R0001] @Bundle | error [R9012]"),
            vec!["R0001", "R9012"]
        );
        assert_eq!(rule_keys("timeout"), vec!["other"]);
        assert_eq!(rule_keys("error [試験 花子]"), vec!["other"]);
    }

    #[test]
    fn scrub_masks_dates_ids_and_quoted_names() {
        let s = scrub(
            "patient \"試験 花子\" born 1987-06-05 / 1987年6月5日 id 00012345 「試験」 'はなこ' code \"pt000001\"\nnext",
        );
        for secret in [
            "試験",
            "花子",
            "1987",
            "00012345",
            "はなこ",
            "pt000001",
            "\n",
        ] {
            assert!(!s.contains(secret), "{secret} in {s}");
        }
        assert!(s.contains("patient") && s.contains("next"), "{s}");
    }

    #[test]
    fn scrub_masks_paths_and_file_names() {
        let s = scrub(
            "drop:山田太郎_20250401.json: bad / ss:000/123/0001234567/20250401/OML-11/x_1 and C:\\in\\佐藤.hl7 and 00123_OML-11",
        );
        for secret in [
            "山田",
            "太郎",
            "000/123",
            "123",
            "0001234567",
            "佐藤",
            "00123",
        ] {
            assert!(!s.contains(secret), "{secret} in {s}");
        }
        assert!(s.contains(" / ") && s.contains("bad"), "{s}");
    }

    #[test]
    fn an_inputs_own_path_becomes_its_tag() {
        let rel = "山田太郎_20250401.json";
        let s = scrub_input(
            &format!("drop:{rel}: not JSON / JSONではありません"),
            "drop",
            rel,
        );
        let tag = input_tag("drop", rel);
        assert_eq!(tag.len(), 12);
        assert_eq!(s, format!("drop:file {tag}: not JSON / JSONではありません"));
        // Stable, and different per source and path.
        assert_eq!(input_tag("drop", rel), tag);
        assert_ne!(input_tag("other", rel), tag);
        assert_ne!(input_tag("drop", "b.json"), tag);
    }

    #[test]
    fn scrub_keeps_ordinary_reasons() {
        let r =
            "error invalid [R9012] @Bundle.entry[0]: institution unknown / 医療機関が未登録です";
        assert_eq!(scrub(r), r);
    }

    #[test]
    fn scrub_caps_length() {
        let s = scrub(&"x".repeat(1000));
        assert!(s.chars().count() <= MAX_CHARS + 1);
    }

    proptest! {
        #[test]
        fn labels_are_always_safe(s in "\\PC{0,80}") {
            let l = label(&s);
            prop_assert!(l.len() <= 64);
            prop_assert!(!l.contains('"') && !l.contains('\\') && !l.contains('\n'));
        }

        #[test]
        fn scrub_never_panics_and_never_keeps_a_date(prefix in "\\PC{0,40}", y in 1900u32..2100, m in 1u32..13, d in 1u32..29) {
            let date = format!("{y}-{m:02}-{d:02}");
            let s = scrub(&format!("{prefix} {date}"));
            prop_assert!(!s.contains(&date));
        }
    }
}
