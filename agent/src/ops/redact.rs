//! A second line of defence for text the operations surface shows: metric label values and
//! error reasons.
//!
//! Reasons stored by the pipeline and the sender are written without patient data already; this
//! module does not rely on it. [`label`] lets through only short tokens of a fixed alphabet
//! (states, source names, rule keys); [`scrub`] masks what could identify a patient in free text:
//! dates, long digit runs (IDs, phone numbers) and quoted values in non-ASCII script (names).

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

/// Longest text shown for one reason.
pub const MAX_CHARS: usize = 300;

/// Masks dates, digit runs of 6 or more, and quoted values containing non-ASCII characters or
/// digits; cuts the text at [`MAX_CHARS`] and flattens control characters.
pub fn scrub(text: &str) -> String {
    static PATTERNS: OnceLock<Vec<Regex>> = OnceLock::new();
    let patterns = PATTERNS.get_or_init(|| {
        [
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
