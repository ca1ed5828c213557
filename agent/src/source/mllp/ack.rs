//! Building acknowledgements (ACK messages) and deciding whether one is sent.
//!
//! # Decisions
//!
//! | situation                                    | original mode | enhanced mode | ERR-3 (HL7 table 0357)     |
//! |----------------------------------------------|---------------|---------------|----------------------------|
//! | committed and fsynced (new or duplicate)     | `AA`          | `CA`          | none                       |
//! | store failed                                 | `AE`          | `CE`          | `207` application internal error |
//! | disk reserve reached (intake paused)         | `AE`          | `CE`          | `207` application internal error |
//! | no MSH / unusable MSH-1, MSH-2               | `AR`          | `CR`          | `100` / `102`              |
//! | MSH-10 empty                                 | `AR`          | `CR`          | `101` required field missing |
//! | larger than `max_message_bytes`              | `AR`          | `CR`          | `207` application internal error |
//!
//! `AE`/`CE` mean "not taken, send it again": interface engines retry on them, which is right for
//! a transient store failure or a full disk. `AR`/`CR` mean "this message will never be taken as it
//! is": resending the same bytes cannot help. Enhanced mode applies only when `enhanced_ack` is
//! configured and the message fills MSH-15; then MSH-15 decides whether the commit ACK is sent
//! (`AL` always, `NE` never, `ER` only on error, `SU` only on success; unknown values: always).
//! MSH-16 (application acknowledgements) is not honoured: tsunagi is not the receiving application.
//!
//! The ACK swaps sender and receiver (MSH-3/4 ← MSH-5/6 and back), copies MSH-10 into MSA-2, uses
//! the message's delimiters, MSH-11 (default `P`), MSH-12 (default `2.5`) and MSH-18, and answers
//! `ACK^<trigger>^ACK` in MSH-9. When the message had no MSH-10, MSA-2 stays empty: there is no
//! truthful value for it (strict v2.5 validation wants one; a sender cannot match such an ACK anyway). Text we write (ERR-8) is English ASCII, escaped for the message's
//! delimiters, and never contains message content.

use super::msh::{Delimiters, Msh};

/// The acknowledgement code family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AckCode {
    /// `AA` / `CA`.
    Accept,
    /// `AE` / `CE`: the sender should retry.
    Error,
    /// `AR` / `CR`: resending the same message will not help.
    Reject,
}

/// Original (`A*`) or enhanced commit (`C*`) acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AckMode {
    Original,
    Enhanced,
}

impl AckCode {
    /// MSA-1 for this code in `mode`.
    pub fn msa1(self, mode: AckMode) -> &'static str {
        match (mode, self) {
            (AckMode::Original, AckCode::Accept) => "AA",
            (AckMode::Original, AckCode::Error) => "AE",
            (AckMode::Original, AckCode::Reject) => "AR",
            (AckMode::Enhanced, AckCode::Accept) => "CA",
            (AckMode::Enhanced, AckCode::Error) => "CE",
            (AckMode::Enhanced, AckCode::Reject) => "CR",
        }
    }
}

/// Why a message was not accepted: what goes into the ERR segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Problem {
    /// HL7 table 0357 code.
    pub code: u16,
    /// Table 0357 text for `code`.
    pub label: &'static str,
    /// ERR-2: the field at fault, as (segment, field number), when there is one.
    pub location: Option<(&'static str, u16)>,
    /// ERR-8, English, no message content.
    pub text: &'static str,
}

impl Problem {
    /// No MSH segment first.
    pub const NOT_MSH: Problem = Problem {
        code: 100,
        label: "Segment sequence error",
        location: None,
        text: "The message does not start with an MSH segment",
    };
    /// MSH-1/MSH-2 unusable.
    pub const BAD_SEPARATORS: Problem = Problem {
        code: 102,
        label: "Data type error",
        location: Some(("MSH", 2)),
        text: "MSH-1 or MSH-2 (delimiters) are missing or invalid",
    };
    /// MSH-10 empty.
    pub const NO_CONTROL_ID: Problem = Problem {
        code: 101,
        label: "Required field missing",
        location: Some(("MSH", 10)),
        text: "MSH-10 (message control ID) is empty",
    };
    /// Larger than the configured limit.
    pub const TOO_LARGE: Problem = Problem {
        code: 207,
        label: "Application internal error",
        location: None,
        text: "The message is larger than the receiver's size limit and was not stored",
    };
    /// The store failed.
    pub const STORE_FAILED: Problem = Problem {
        code: 207,
        label: "Application internal error",
        location: None,
        text: "The receiver could not store the message; please send it again later",
    };
    /// The disk reserve was reached.
    pub const PAUSED: Problem = Problem {
        code: 207,
        label: "Application internal error",
        location: None,
        text: "The receiver is low on disk space and paused intake; please send it again later",
    };
}

/// Whether an acknowledgement with `code` is sent, given the message's MSH-15 in enhanced mode.
pub fn should_send(mode: AckMode, accept_ack_type: &[u8], code: AckCode) -> bool {
    if mode == AckMode::Original {
        return true;
    }
    match accept_ack_type {
        b"NE" => false,
        b"ER" => code != AckCode::Accept,
        b"SU" => code == AckCode::Accept,
        _ => true,
    }
}

/// The acknowledgement mode for a message: enhanced only if enabled and MSH-15 is filled.
pub fn mode_for(enhanced_enabled: bool, msh: Option<&Msh<'_>>) -> AckMode {
    match msh {
        Some(m) if enhanced_enabled && !m.accept_ack_type().is_empty() => AckMode::Enhanced,
        _ => AckMode::Original,
    }
}

/// What the ACK's MSH needs that is not in the message.
pub struct AckStamp<'a> {
    /// MSH-7, e.g. `20250101120000+0900`.
    pub timestamp: &'a str,
    /// MSH-10 of the ACK itself.
    pub control_id: &'a str,
}

/// Builds an ACK (unframed; segments end with `\r`). `msh` is `None` when the message had no
/// usable MSH: then default delimiters are used and MSA-2 is empty.
pub fn build(
    msh: Option<&Msh<'_>>,
    mode: AckMode,
    code: AckCode,
    problem: Option<&Problem>,
    stamp: &AckStamp<'_>,
) -> Vec<u8> {
    let d = msh.map(|m| m.delimiters).unwrap_or_default();
    let f = d.field;
    let field = |n: usize| msh.map(|m| m.field(n)).unwrap_or(&[]);
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"MSH");
    out.push(f);
    match msh {
        Some(m) => out.extend_from_slice(m.msh2),
        None => out.extend_from_slice(&d.msh2()),
    }
    for v in [field(5), field(6), field(3), field(4)] {
        out.push(f);
        out.extend_from_slice(v);
    }
    out.push(f);
    push_text(&mut out, stamp.timestamp, &d);
    out.push(f); // MSH-8 security
    out.push(f);
    out.extend_from_slice(b"ACK");
    // ACK^<trigger>^ACK; without a trigger still ACK^^ACK, so the structure (ACK) is named.
    out.push(d.component);
    out.extend_from_slice(msh.map(|m| m.trigger()).unwrap_or(&[]));
    out.push(d.component);
    out.extend_from_slice(b"ACK");
    out.push(f);
    push_text(&mut out, stamp.control_id, &d);
    out.push(f);
    out.extend_from_slice(or_default(field(11), b"P"));
    out.push(f);
    out.extend_from_slice(or_default(field(12), b"2.5"));
    let charset = field(18);
    if !charset.is_empty() {
        // MSH-13..17 empty: an ACK asks for no acknowledgement of its own.
        out.extend(std::iter::repeat_n(f, 6));
        out.extend_from_slice(charset);
    }
    out.push(b'\r');

    out.extend_from_slice(b"MSA");
    out.push(f);
    out.extend_from_slice(code.msa1(mode).as_bytes());
    out.push(f);
    out.extend_from_slice(msh.map(|m| m.control_id()).unwrap_or(&[]));
    out.push(b'\r');

    if let Some(p) = problem {
        out.extend_from_slice(b"ERR");
        out.push(f); // ERR-1 (deprecated) empty
        out.push(f);
        if let Some((seg, n)) = p.location {
            // ERR-2 (ERL): segment ID ^ sequence ^ field position.
            push_text(&mut out, seg, &d);
            out.push(d.component);
            out.push(b'1');
            out.push(d.component);
            push_text(&mut out, &n.to_string(), &d);
        }
        out.push(f);
        push_text(&mut out, &p.code.to_string(), &d);
        out.push(d.component);
        push_text(&mut out, p.label, &d);
        out.push(d.component);
        push_text(&mut out, "HL70357", &d);
        out.push(f);
        out.push(b'E');
        out.extend(std::iter::repeat_n(f, 4)); // ERR-5..7 empty
        push_text(&mut out, p.text, &d);
        out.push(b'\r');
    }
    out
}

fn or_default<'a>(v: &'a [u8], default: &'a [u8]) -> &'a [u8] {
    if v.trim_ascii().is_empty() {
        default
    } else {
        v
    }
}

/// Appends our own ASCII text, escaping the message's delimiters (`\F\`, `\S\`, `\R\`, `\E\`,
/// `\T\`); without an escape character, delimiters become spaces.
fn push_text(out: &mut Vec<u8>, text: &str, d: &Delimiters) {
    for &b in text.as_bytes() {
        let code = if b == d.field {
            Some(b'F')
        } else if b == d.component {
            Some(b'S')
        } else if Some(b) == d.repetition {
            Some(b'R')
        } else if Some(b) == d.escape {
            Some(b'E')
        } else if Some(b) == d.subcomponent {
            Some(b'T')
        } else {
            None
        };
        match (code, d.escape) {
            (None, _) => out.push(b),
            (Some(c), Some(e)) => out.extend_from_slice(&[e, c, e]),
            (Some(_), None) => out.push(b' '),
        }
    }
}

/// Frames an ACK for the wire: `0x0B ack 0x1C 0x0D`.
pub fn frame(ack: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(ack.len() + 3);
    v.push(super::frame::SB);
    v.extend_from_slice(ack);
    v.extend_from_slice(&[super::frame::EB, super::frame::CR]);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAMP: AckStamp<'static> = AckStamp {
        timestamp: "20250101120000+0900",
        control_id: "A1",
    };
    const MSG: &[u8] =
        b"MSH|^~\\&|EHR|HOSP|TSUNAGI|CLINS|20250101115959||ADT^A08^ADT_A01|C42|P|2.5.1|||AL|NE\rPID|1\r";

    fn text(v: &[u8]) -> String {
        String::from_utf8(v.to_vec()).unwrap()
    }

    #[test]
    fn aa_swaps_parties_and_copies_control_id_and_version() {
        let m = Msh::parse(MSG).unwrap();
        let ack = build(Some(&m), AckMode::Original, AckCode::Accept, None, &STAMP);
        assert_eq!(
            text(&ack),
            "MSH|^~\\&|TSUNAGI|CLINS|EHR|HOSP|20250101120000+0900||ACK^A08^ACK|A1|P|2.5.1\rMSA|AA|C42\r"
        );
    }

    #[test]
    fn ca_ce_cr_in_enhanced_mode_and_when_they_are_sent() {
        let m = Msh::parse(MSG).unwrap();
        assert_eq!(mode_for(true, Some(&m)), AckMode::Enhanced);
        assert_eq!(mode_for(false, Some(&m)), AckMode::Original);
        let plain = Msh::parse(b"MSH|^~\\&|A|B|C|D|||ADT^A01|1|P|2.5").unwrap();
        assert_eq!(mode_for(true, Some(&plain)), AckMode::Original);
        assert_eq!(mode_for(true, None), AckMode::Original);
        let ack = build(Some(&m), AckMode::Enhanced, AckCode::Accept, None, &STAMP);
        assert!(text(&ack).contains("\rMSA|CA|C42\r"));
        assert_eq!(AckCode::Error.msa1(AckMode::Enhanced), "CE");
        assert_eq!(AckCode::Reject.msa1(AckMode::Enhanced), "CR");
        assert!(should_send(AckMode::Enhanced, b"AL", AckCode::Accept));
        assert!(!should_send(AckMode::Enhanced, b"NE", AckCode::Error));
        assert!(!should_send(AckMode::Enhanced, b"ER", AckCode::Accept));
        assert!(should_send(AckMode::Enhanced, b"ER", AckCode::Reject));
        assert!(should_send(AckMode::Enhanced, b"SU", AckCode::Accept));
        assert!(!should_send(AckMode::Enhanced, b"SU", AckCode::Error));
        assert!(should_send(AckMode::Original, b"NE", AckCode::Accept));
    }

    #[test]
    fn ae_and_ar_carry_an_err_segment() {
        let m = Msh::parse(MSG).unwrap();
        let ack = build(
            Some(&m),
            AckMode::Original,
            AckCode::Error,
            Some(&Problem::PAUSED),
            &STAMP,
        );
        let t = text(&ack);
        assert!(t.contains("\rMSA|AE|C42\r"), "{t}");
        assert!(t.ends_with(
            "\rERR|||207^Application internal error^HL70357|E||||The receiver is low on disk space and paused intake; please send it again later\r"
        ), "{t}");
        let m = Msh::parse(b"MSH|^~\\&|A|B|C|D|||ADT^A01||P|2.4").unwrap();
        let t = text(&build(
            Some(&m),
            AckMode::Original,
            AckCode::Reject,
            Some(&Problem::NO_CONTROL_ID),
            &STAMP,
        ));
        assert!(t.contains("|2.4\rMSA|AR|\rERR||MSH^1^10|101^Required field missing^HL70357|E||||MSH-10 (message control ID) is empty\r"), "{t}");
    }

    #[test]
    fn no_msh_uses_defaults_and_other_delimiters_are_escaped() {
        let t = text(&build(
            None,
            AckMode::Original,
            AckCode::Reject,
            Some(&Problem::NOT_MSH),
            &STAMP,
        ));
        assert!(
            t.starts_with(
                "MSH|^~\\&|||||20250101120000+0900||ACK^^ACK|A1|P|2.5\rMSA|AR|\rERR|||100^"
            ),
            "{t}"
        );
        // '-' as the field separator: our text "MSH-10" must not split fields.
        let m = Msh::parse(b"MSH-^~\\&-A-B-C-D---ADT^A01-X1-T-2.3").unwrap();
        let t = text(&build(
            Some(&m),
            AckMode::Original,
            AckCode::Reject,
            Some(&Problem::NO_CONTROL_ID),
            &STAMP,
        ));
        assert!(t.contains("MSH\\F\\10 (message control ID)"), "{t}");
        assert!(t.starts_with("MSH-^~\\&-C-D-A-B-"), "{t}");
        assert_eq!(frame(b"X"), vec![0x0B, b'X', 0x1C, 0x0D]);
    }

    #[test]
    fn charset_is_echoed_in_msh18() {
        let m = Msh::parse(b"MSH|^~\\&|A|B|C|D|||ADT^A01|9|P|2.5||||||ISO IR87").unwrap();
        let t = text(&build(
            Some(&m),
            AckMode::Original,
            AckCode::Accept,
            None,
            &STAMP,
        ));
        assert!(t.starts_with("MSH|^~\\&|C|D|A|B|20250101120000+0900||ACK^A01^ACK|A1|P|2.5||||||ISO IR87\rMSA|AA|9\r"), "{t}");
    }
}
