//! HL7 v2 delimiters and escape sequences: [`Delimiters`], [`unescape`], [`escape`].
//!
//! Escapes are resolved on already-decoded text (`&str`), after the field has been split, so
//! an escaped separator (`\F\`) never splits anything. All delimiters are ASCII, so every index
//! used here falls on a UTF-8 character boundary, also next to Japanese text
//! (`日本\F\語` → `日本|語`).
//!
//! Supported: `\F\ \S\ \T\ \R\ \E\` (the five delimiters), `\Xhh…\` (hex bytes, read as UTF-8;
//! bytes that are not UTF-8 become U+FFFD), `\.br\` and `\.sp\` (line break), `\H\ \N\`
//! (highlighting on/off: dropped, text kept). Anything else (`\Zxx\`, `\C…\`, an unterminated
//! `\`) is kept verbatim, as HL7 asks of receivers that do not know a sequence.

use std::borrow::Cow;

/// The five delimiters of one message, read from MSH-1 and MSH-2. Always ASCII.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delimiters {
    /// Field separator (MSH-1), usually `|`.
    pub field: u8,
    /// Component separator, usually `^`.
    pub component: u8,
    /// Repetition separator, usually `~`.
    pub repetition: u8,
    /// Escape character, usually `\`.
    pub escape: u8,
    /// Subcomponent separator, usually `&`.
    pub subcomponent: u8,
}

impl Default for Delimiters {
    fn default() -> Self {
        Delimiters {
            field: b'|',
            component: b'^',
            repetition: b'~',
            escape: b'\\',
            subcomponent: b'&',
        }
    }
}

impl Delimiters {
    /// MSH-2 as it would be written: component, repetition, escape, subcomponent.
    pub fn encoding_characters(&self) -> String {
        [
            self.component,
            self.repetition,
            self.escape,
            self.subcomponent,
        ]
        .iter()
        .map(|&b| b as char)
        .collect()
    }

    /// True when all five are distinct, printable ASCII, not alphanumeric.
    pub fn are_valid(&self) -> bool {
        let all = [
            self.field,
            self.component,
            self.repetition,
            self.escape,
            self.subcomponent,
        ];
        all.iter()
            .all(|b| b.is_ascii_graphic() && !b.is_ascii_alphanumeric())
            && (0..all.len()).all(|i| !all[i + 1..].contains(&all[i]))
    }
}

/// Resolves escape sequences. Borrows when `raw` holds no escape character.
pub fn unescape<'a>(raw: &'a str, d: &Delimiters) -> Cow<'a, str> {
    let esc = d.escape as char;
    let Some(first) = raw.find(esc) else {
        return Cow::Borrowed(raw);
    };
    let mut out = String::with_capacity(raw.len());
    out.push_str(&raw[..first]);
    let mut rest = &raw[first..];
    while let Some(start) = rest.find(esc) {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(len) = after.find(esc) else {
            // Unterminated: keep the rest verbatim.
            out.push_str(&rest[start..]);
            return Cow::Owned(out);
        };
        let seq = &after[..len];
        if !resolve(seq, d, &mut out) {
            out.push(esc);
            out.push_str(seq);
            out.push(esc);
        }
        rest = &after[len + 1..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Appends what `seq` (between two escape characters) stands for; false if unknown.
fn resolve(seq: &str, d: &Delimiters, out: &mut String) -> bool {
    match seq {
        "F" => out.push(d.field as char),
        "S" => out.push(d.component as char),
        "T" => out.push(d.subcomponent as char),
        "R" => out.push(d.repetition as char),
        "E" => out.push(d.escape as char),
        "H" | "N" => {}
        ".br" => out.push('\n'),
        s if s.starts_with(".sp") => out.push('\n'),
        s if s.starts_with('X') => {
            let hex = &s[1..];
            if hex.len() % 2 != 0 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return false;
            }
            let bytes: Vec<u8> = (0..hex.len())
                .step_by(2)
                .filter_map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
                .collect();
            out.push_str(&String::from_utf8_lossy(&bytes));
        }
        _ => return false,
    }
    true
}

/// Escapes `text` so it can be written as one HL7 value: the delimiters become `\F\ \S\ \T\
/// \R\ \E\`, LF becomes `\.br\` and CR `\X0D\`. `unescape(escape(s)) == s` for every `s`.
pub fn escape(text: &str, d: &Delimiters) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        let seq = match c {
            '\n' => ".br",
            '\r' => "X0D",
            c if !c.is_ascii() => {
                out.push(c);
                continue;
            }
            c => match c as u8 {
                b if b == d.field => "F",
                b if b == d.component => "S",
                b if b == d.subcomponent => "T",
                b if b == d.repetition => "R",
                b if b == d.escape => "E",
                _ => {
                    out.push(c);
                    continue;
                }
            },
        };
        out.push(d.escape as char);
        out.push_str(seq);
        out.push(d.escape as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn un(s: &str) -> String {
        unescape(s, &Delimiters::default()).into_owned()
    }

    #[test]
    fn delimiter_escapes_next_to_japanese_text() {
        assert_eq!(un(r"日本\F\語"), "日本|語");
        assert_eq!(un(r"胃\S\炎\T\疑\R\い\E\"), "胃^炎&疑~い\\");
        assert_eq!(un(r"一行目\.br\二行目"), "一行目\n二行目");
        assert_eq!(un(r"\H\強調\N\通常"), "強調通常");
    }

    #[test]
    fn hex_escape_is_utf8_and_bad_bytes_are_visible() {
        assert_eq!(un(r"a\X41\b"), "aAb");
        assert_eq!(un(r"\XE697A5\"), "日");
        assert_eq!(un(r"\XFF\"), "\u{FFFD}");
    }

    #[test]
    fn unknown_or_unterminated_sequences_are_kept() {
        assert_eq!(un(r"a\Zfoo\b"), r"a\Zfoo\b");
        assert_eq!(un(r"a\X4\b"), r"a\X4\b");
        assert_eq!(un(r"日本\F"), r"日本\F");
        assert!(matches!(
            unescape("日本語", &Delimiters::default()),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn nondefault_delimiters_are_honoured() {
        let d = Delimiters {
            field: b'#',
            component: b'!',
            repetition: b'$',
            escape: b'?',
            subcomponent: b'%',
        };
        assert!(d.are_valid());
        assert_eq!(unescape("a?F?b?S?c", &d), "a#b!c");
        assert_eq!(escape("a#b!c?", &d), "a?F?b?S?c?E?");
    }

    #[test]
    fn validity_rejects_duplicates_and_letters() {
        let mut d = Delimiters::default();
        assert!(d.are_valid());
        d.component = b'|';
        assert!(!d.are_valid());
        d.component = b'A';
        assert!(!d.are_valid());
    }

    proptest! {
        #[test]
        fn escape_round_trips(s in ".*") {
            let d = Delimiters::default();
            let escaped = escape(&s, &d);
            prop_assert_eq!(unescape(&escaped, &d), s.as_str());
        }

        #[test]
        fn escaped_text_holds_no_delimiter(s in "[a-z|^~&\\\\\\n仮名]*") {
            let e = escape(&s, &Delimiters::default());
            prop_assert!(!e.contains(['|', '^', '~', '&', '\n']));
        }

        #[test]
        fn unescape_never_panics(s in "\\PC*") {
            let _ = unescape(&s, &Delimiters::default());
        }
    }
}
