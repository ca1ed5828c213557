//! A deliberately tiny MSH reader: just what an acknowledgement and the deduplication key need.
//!
//! The full HL7 v2 parser lives in `adapters/` and runs later, on the stored bytes; the listener
//! must not depend on it. [`Msh::parse`] reads the first segment only (up to the first `\r` or
//! `\n`), takes the field separator from byte 3 and the encoding characters from MSH-2, and splits
//! the segment into fields without interpreting them. Field values are returned as raw bytes in
//! the message's own encoding (never logged: MSH-3..6 may name people in small clinics).

/// Why a message has no usable MSH segment. Messages are English and carry no message content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MshError {
    /// The message does not start with `MSH`.
    #[error("the message does not start with an MSH segment")]
    NotMsh,
    /// MSH-1 / MSH-2 are not usable separators.
    #[error("MSH-1 or MSH-2 (separators) are missing or invalid")]
    BadSeparators,
    /// MSH-10 (message control ID) is empty.
    #[error("MSH-10 (message control ID) is empty")]
    NoControlId,
}

/// The message's delimiters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delimiters {
    /// MSH-1.
    pub field: u8,
    /// MSH-2 position 1.
    pub component: u8,
    /// MSH-2 position 2, if given.
    pub repetition: Option<u8>,
    /// MSH-2 position 3, if given.
    pub escape: Option<u8>,
    /// MSH-2 position 4, if given.
    pub subcomponent: Option<u8>,
}

impl Default for Delimiters {
    fn default() -> Self {
        Delimiters {
            field: b'|',
            component: b'^',
            repetition: Some(b'~'),
            escape: Some(b'\\'),
            subcomponent: Some(b'&'),
        }
    }
}

impl Delimiters {
    /// MSH-2 as it is written for these delimiters.
    pub fn msh2(&self) -> Vec<u8> {
        let mut v = vec![self.component];
        for c in [self.repetition, self.escape, self.subcomponent] {
            match c {
                Some(c) => v.push(c),
                None => break,
            }
        }
        v
    }
}

/// The MSH segment of one message, borrowed from its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msh<'a> {
    /// The delimiters declared in MSH-1 and MSH-2.
    pub delimiters: Delimiters,
    /// MSH-2 exactly as received (may carry a fifth, truncation character).
    pub msh2: &'a [u8],
    /// `fields[i]` is MSH-(i+3).
    fields: Vec<&'a [u8]>,
}

fn is_delimiter_byte(b: u8) -> bool {
    b.is_ascii_graphic() && !b.is_ascii_alphanumeric()
}

impl<'a> Msh<'a> {
    /// Reads the MSH segment at the start of `message`. Does not require MSH-10; see
    /// [`Msh::control_id`] and [`Msh::require_control_id`].
    pub fn parse(message: &'a [u8]) -> Result<Msh<'a>, MshError> {
        if !message.starts_with(b"MSH") {
            return Err(MshError::NotMsh);
        }
        let end = message
            .iter()
            .position(|&b| b == b'\r' || b == b'\n')
            .unwrap_or(message.len());
        let seg = &message[..end];
        let field = *seg.get(3).ok_or(MshError::BadSeparators)?;
        if !is_delimiter_byte(field) {
            return Err(MshError::BadSeparators);
        }
        let mut parts = seg[4..].split(|&b| b == field);
        let msh2 = parts.next().unwrap_or(&[]);
        if msh2.is_empty() || msh2.len() > 5 {
            return Err(MshError::BadSeparators);
        }
        for (i, &c) in msh2.iter().enumerate() {
            if !is_delimiter_byte(c) || c == field || msh2[..i].contains(&c) {
                return Err(MshError::BadSeparators);
            }
        }
        let delimiters = Delimiters {
            field,
            component: msh2[0],
            repetition: msh2.get(1).copied(),
            escape: msh2.get(2).copied(),
            subcomponent: msh2.get(3).copied(),
        };
        Ok(Msh {
            delimiters,
            msh2,
            fields: parts.collect(),
        })
    }

    /// MSH-`n` as raw bytes (empty if absent). `n` ≥ 3; MSH-1 and MSH-2 are in `delimiters`.
    pub fn field(&self, n: usize) -> &'a [u8] {
        n.checked_sub(3)
            .and_then(|i| self.fields.get(i))
            .copied()
            .unwrap_or(&[])
    }

    /// Component `c` (1-based) of MSH-`n`, raw (empty if absent).
    pub fn component(&self, n: usize, c: usize) -> &'a [u8] {
        let comp = self.delimiters.component;
        let first_rep = match self.delimiters.repetition {
            Some(r) => self.field(n).split(|&b| b == r).next().unwrap_or(&[]),
            None => self.field(n),
        };
        c.checked_sub(1)
            .and_then(|i| first_rep.split(|&b| b == comp).nth(i))
            .unwrap_or(&[])
    }

    /// MSH-10 with surrounding spaces removed (empty if absent).
    pub fn control_id(&self) -> &'a [u8] {
        self.field(10).trim_ascii()
    }

    /// MSH-10, or [`MshError::NoControlId`].
    pub fn require_control_id(&self) -> Result<&'a [u8], MshError> {
        let id = self.control_id();
        if id.is_empty() {
            Err(MshError::NoControlId)
        } else {
            Ok(id)
        }
    }

    /// MSH-9.2, the trigger event (e.g. `A01`).
    pub fn trigger(&self) -> &'a [u8] {
        self.component(9, 2)
    }

    /// MSH-15, accept acknowledgement type (`AL`, `NE`, `ER`, `SU`; empty = original mode).
    pub fn accept_ack_type(&self) -> &'a [u8] {
        self.field(15).trim_ascii()
    }

    #[cfg(test)]
    /// MSH-16, application acknowledgement type.
    pub fn application_ack_type(&self) -> &'a [u8] {
        self.field(16).trim_ascii()
    }

    /// The deduplication origin: `<MSH-3>^<MSH-4>|<MSH-10>` (raw field text, lossy UTF-8).
    pub fn origin(&self) -> String {
        let mut v = Vec::new();
        v.extend_from_slice(self.field(3));
        v.push(b'^');
        v.extend_from_slice(self.field(4));
        v.push(b'|');
        v.extend_from_slice(self.control_id());
        String::from_utf8_lossy(&v).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ADT: &[u8] = b"MSH|^~\\&|EHR|HOSP|TSUNAGI|CLINS|20250101120000||ADT^A01^ADT_A01|MSG0001|P|2.5|||AL|NE||ISO IR87\rPID|1||12345\r";

    #[test]
    fn reads_the_fields_an_ack_needs() {
        let m = Msh::parse(ADT).unwrap();
        assert_eq!(m.delimiters, Delimiters::default());
        assert_eq!(m.msh2, b"^~\\&");
        assert_eq!(m.field(3), b"EHR");
        assert_eq!(m.field(4), b"HOSP");
        assert_eq!(m.field(5), b"TSUNAGI");
        assert_eq!(m.field(6), b"CLINS");
        assert_eq!(m.field(9), b"ADT^A01^ADT_A01");
        assert_eq!(m.trigger(), b"A01");
        assert_eq!(m.control_id(), b"MSG0001");
        assert_eq!(m.field(11), b"P");
        assert_eq!(m.field(12), b"2.5");
        assert_eq!(m.accept_ack_type(), b"AL");
        assert_eq!(m.application_ack_type(), b"NE");
        assert_eq!(m.field(18), b"ISO IR87");
        assert_eq!(m.field(19), b"", "absent fields are empty");
        assert_eq!(m.field(1), b"", "MSH-1/2 are not fields here");
        assert_eq!(m.origin(), "EHR^HOSP|MSG0001");
    }

    #[test]
    fn other_delimiters_and_newline_segments() {
        let m = Msh::parse(b"MSH#$*!@#A$X#B#C#D###ORU$R01#  42 #T#2.3.1\nOBX#1").unwrap();
        assert_eq!(m.delimiters.field, b'#');
        assert_eq!(m.delimiters.component, b'$');
        assert_eq!(m.delimiters.escape, Some(b'!'));
        assert_eq!(m.field(3), b"A$X");
        assert_eq!(m.trigger(), b"R01");
        assert_eq!(m.control_id(), b"42");
        assert_eq!(m.field(12), b"2.3.1");
        assert_eq!(m.field(13), b"", "the segment ends at \\n");
        // Only a component separator (MSH-2 of length 1).
        let m = Msh::parse(b"MSH|^|A||||||X^Y|1").unwrap();
        assert_eq!(m.delimiters.repetition, None);
        assert_eq!(m.trigger(), b"Y");
    }

    #[test]
    fn problems_are_named() {
        assert_eq!(Msh::parse(b"PID|1").unwrap_err(), MshError::NotMsh);
        assert_eq!(Msh::parse(b"").unwrap_err(), MshError::NotMsh);
        assert_eq!(Msh::parse(b"MSH").unwrap_err(), MshError::BadSeparators);
        assert_eq!(Msh::parse(b"MSHA^~").unwrap_err(), MshError::BadSeparators);
        assert_eq!(Msh::parse(b"MSH||").unwrap_err(), MshError::BadSeparators);
        assert_eq!(
            Msh::parse(b"MSH|^^\\&|").unwrap_err(),
            MshError::BadSeparators
        );
        let m = Msh::parse(b"MSH|^~\\&|A|B|C|D|||ADT^A01||P|2.5").unwrap();
        assert_eq!(m.require_control_id().unwrap_err(), MshError::NoControlId);
        let m = Msh::parse(b"MSH|^~\\&|A|B|C|D|||ADT^A01|   |P|2.5").unwrap();
        assert_eq!(m.require_control_id().unwrap_err(), MshError::NoControlId);
    }

    proptest! {
        #[test]
        fn never_panics_on_any_bytes(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(m) = Msh::parse(&data) {
                for n in 0..25 { let _ = m.field(n); for c in 0..4 { let _ = m.component(n, c); } }
                let _ = m.origin();
                let _ = m.require_control_id();
            }
        }

        #[test]
        fn never_panics_on_msh_like_bytes(tail in proptest::collection::vec(prop_oneof![Just(b'|'), Just(b'^'), Just(b'\r'), Just(b'\n'), any::<u8>()], 0..200)) {
            let mut data = b"MSH".to_vec();
            data.extend(tail);
            if let Ok(m) = Msh::parse(&data) {
                prop_assert!(!m.control_id().contains(&b'\r'));
                let _ = (m.trigger(), m.origin(), m.accept_ack_type());
            }
        }
    }
}
