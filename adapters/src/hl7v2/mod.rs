//! HL7 v2 in (SS-MIX2 標準化ストレージ files, files in watched folders, MLLP): [`Hl7v2Adapter`].
//!
//! Three steps, each usable alone:
//! 1. [`decode`]: bytes → text, character set from MSH-18 (ISO-2022-JP, Shift_JIS/CP932,
//!    EUC-JP, UTF-8) or a per-source override; undecodable characters replaced and counted.
//! 2. [`parse`]: text → [`Message`] (segments, fields, repetitions, components,
//!    subcomponents; escapes resolved by `.text()`), plus problems. Never fails.
//! 3. [`canonicalize`]: [`Message`] → canonical records (Patient, Condition, LabResult,
//!    Allergy, Prescription), plus problems.
//!
//! ```
//! use tsunagi_adapters::{Adapter, Hl7v2Adapter, RawInput, Record};
//!
//! let msg = "MSH|^~\\&|HIS|S|GW|R|20250401||PPR^ZD1|1|P|2.5||||||UNICODE UTF-8\n\
//!            PID|1||P0001||試験^花子^^^^^L^I\n\
//!            PRB|AD|20250401|20054174^胃炎^MDCDX2|1|||20250401||||||||||胃炎";
//! let parsed = Hl7v2Adapter::new().parse(&RawInput { bytes: msg.as_bytes(), origin: "a" });
//! assert!(parsed.problems.is_empty());
//! let Record::Condition(c) = &parsed.records[0] else { panic!() };
//! assert_eq!(c.disease_key.as_deref(), Some("20054174"));
//! ```
//!
//! ## Decision: our own parser, not the `hl7-parser` crate
//!
//! The design card named `hl7-parser` (0.3.0). Measured on SS-MIX2 input it panics when
//! non-ASCII text precedes an escape sequence (it mixes byte and character offsets) and it
//! drops segments it does not like without saying so. Both break our rules (no panic
//! reachable from input; nothing accepted is lost silently). HL7 v2 structure is small
//! (five delimiters, four levels, five escapes), so we own ~400 lines instead:
//! - decoding happens before splitting (JIS/SJIS bytes can contain `|` and `\`), with
//!   MSH-18 read from the ASCII prefix of MSH;
//! - parsing never fails: every line is a segment, a counted quirk (LF/CRLF endings, blank
//!   lines, framing bytes) or a reported unparsed line kept in the message;
//! - zero-copy: fields borrow the decoded text, splitting below field level is lazy and
//!   unescaping happens only on `.text()` (borrowing when there is no escape);
//! - proptest (no panic on arbitrary bytes/text, encode→parse and escape round trips) and a
//!   cargo-fuzz target (`adapters/fuzz`, `cargo +nightly fuzz run parse`, needs network the
//!   first time to fetch `libfuzzer-sys`) guard it. `cargo bench -p tsunagi-adapters --bench
//!   parse` compares it with `hl7-parser`.

mod canonical;
mod decode;
mod escape;
mod parse;
mod value;

pub use canonical::{canonicalize, hl7_time_to_fhir};
pub use decode::{decode, Charset, Decoded};
pub use escape::{escape, unescape, Delimiters};
pub use parse::{parse, Component, Field, Message, Quirks, Repetition, Segment, Subcomponent};

use crate::{Adapter, Parsed, RawInput};

/// HL7 v2 messages (one per input; a batch with several MSH is read message by message).
#[derive(Debug, Default, Clone, Copy)]
pub struct Hl7v2Adapter {
    charset: Option<Charset>,
}

impl Hl7v2Adapter {
    /// Character set from each message's MSH-18.
    pub fn new() -> Self {
        Hl7v2Adapter { charset: None }
    }

    /// Always this character set, whatever MSH-18 says (for sources that label wrongly).
    pub fn with_charset(charset: Charset) -> Self {
        Hl7v2Adapter {
            charset: Some(charset),
        }
    }
}

impl Adapter for Hl7v2Adapter {
    fn name(&self) -> &'static str {
        "hl7v2"
    }

    fn parse(&self, input: &RawInput<'_>) -> Parsed {
        let decoded = decode(input.bytes, self.charset);
        let (message, parse_problems) = parse(&decoded.text);
        let mut out = canonicalize(&message, input.origin);
        let mut problems = decoded.problems;
        problems.extend(parse_problems);
        problems.append(&mut out.problems);
        out.problems = problems;
        out.decode_replacements = decoded.replacements;
        out
    }
}

#[cfg(test)]
mod dataset_tests;
