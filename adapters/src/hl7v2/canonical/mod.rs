//! HL7 v2 (SS-MIX2 / JAHIS) → canonical records: [`canonicalize`].
//!
//! Which message gives which record (MSH-9):
//! - `ADT^*` → [`Patient`](crate::Patient) from PID (+ IN1). `ADT^A08/A23/A28/A31`
//!   (SS-MIX2 ADT-00, patient information) also give [`Allergy`](crate::Allergy) from AL1;
//!   any ADT gives allergies from IAM (ADT^A60, SS-MIX2 ADT-61). AL1 in order messages is a
//!   copy of the patient's allergy list (SS-MIX2 repeats it in every OMP message) and is not
//!   turned into records.
//! - `PPR^ZD1` (PPR-01) → [`Condition`](crate::Condition) per PRB, with the ZPR after it.
//! - `OUL^R22` (OML-11), `ORU^R01` → [`LabResult`](crate::LabResult) per OBX.
//! - `RDE^O11` (OMP-01/OMP-02) → [`Prescription`](crate::Prescription) per RXE, or per RXC
//!   when the order has RXC segments (injections: RXE-2 is then the injection type).
//! - Anything else (OML, OMD, RAS, …) gives no record and one warning naming MSH-9.
//!
//! Only PID gives patient records, and only in ADT messages: every other message's PID is
//! read for PID-3 (the patient the records belong to). A batch holding several MSH is read
//! message by message.
//!
//! What cannot be interpreted is kept as received where the model has room (raw text, the
//! source's code-system name) and reported as a warning naming segment-field-line; problems
//! never quote values. Times: HL7 `YYYY[MM[DD[HH[MM[SS[.S]]]]]][±ZZZZ]` become FHIR
//! `date`/`dateTime`; a time without a zone is taken as Japan time (+09:00).

mod allergy;
mod condition;
mod lab;
mod patient;
mod prescription;

use super::parse::{Component, Message, Repetition, Segment};
use crate::{Coded, Parsed, Problem, Record, Sensitive};

/// Turns a parsed message into records. `origin` is not used in problems (it is the
/// caller's to add) and is accepted for symmetry with [`crate::RawInput`].
pub fn canonicalize(msg: &Message<'_>, _origin: &str) -> Parsed {
    let segments = msg.all_segments();
    let mut out = Parsed {
        records: Vec::with_capacity(segments.len()),
        problems: Vec::new(),
        decode_replacements: 0,
    };
    let mut starts: Vec<usize> = segments
        .iter()
        .enumerate()
        .filter(|(_, s)| s.id() == "MSH")
        .map(|(i, _)| i)
        .collect();
    if starts.first() != Some(&0) {
        starts.insert(0, 0);
    }
    for (k, &start) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(segments.len());
        one_message(&segments[start..end], &mut out);
    }
    out
}

/// What every mapping needs: the problems list and the patient id.
pub(crate) struct Ctx<'p> {
    pub problems: &'p mut Vec<Problem>,
    pub patient_id: Sensitive<String>,
}

impl Ctx<'_> {
    pub fn warn(&mut self, field: String, en: &str, ja: &str) {
        self.problems.push(Problem::warning(field, en, ja));
    }

    /// A time field as FHIR text; a warning (and `None`) when it is not an HL7 time.
    pub fn time(&mut self, seg: &Segment<'_>, n: usize) -> Option<String> {
        let raw = seg.field(n).component(1).text();
        let raw = raw.trim();
        if raw.is_empty() || raw == "\"\"" {
            return None;
        }
        let t = hl7_time_to_fhir(raw);
        if t.is_none() {
            self.warn(
                seg.locate(n),
                "not an HL7 date/time; left out",
                "HL7の日時として読めないため、使いませんでした",
            );
        }
        t
    }
}

fn one_message(segments: &[Segment<'_>], out: &mut Parsed) {
    let msh = segments.first().filter(|s| s.id() == "MSH");
    let (kind, event) = msh.map_or((String::new(), String::new()), |m| {
        let f = m.field(9);
        (
            f.component(1).text().trim().to_ascii_uppercase(),
            f.component(2).text().trim().to_ascii_uppercase(),
        )
    });
    let pid = segments.iter().find(|s| s.id() == "PID");
    let patient_id = pid
        .and_then(|p| p.field(3).repetitions().find_map(|r| value(r.component(1))))
        .unwrap_or_default();
    let needs_patient = matches!(kind.as_str(), "ADT" | "PPR" | "OUL" | "ORU" | "RDE");
    if needs_patient && patient_id.is_empty() {
        let field = pid.map_or("PID".to_string(), |p| p.locate(3));
        out.problems.push(Problem::fatal(
            field,
            "no patient ID (PID-3): the message's records cannot be attached to a patient",
            "患者ID（PID-3）がないため、このメッセージの記録を患者に結び付けられません",
        ));
        return;
    }
    let mut ctx = Ctx {
        problems: &mut out.problems,
        patient_id: Sensitive::new(patient_id),
    };
    let records = &mut out.records;
    match kind.as_str() {
        "ADT" => {
            if let Some(pid) = pid {
                let in1: Vec<&Segment<'_>> = segments.iter().filter(|s| s.id() == "IN1").collect();
                records.push(Record::Patient(patient::patient(pid, &in1, &mut ctx)));
            }
            let patient_info = matches!(event.as_str(), "A08" | "A23" | "A28" | "A31");
            for seg in segments {
                match seg.id() {
                    "AL1" if patient_info => {
                        records.push(Record::Allergy(allergy::from_al1(seg, &mut ctx)))
                    }
                    "IAM" => {
                        if let Some(a) = allergy::from_iam(seg, &mut ctx) {
                            records.push(Record::Allergy(a));
                        }
                    }
                    _ => {}
                }
            }
        }
        "PPR" => condition::conditions(segments, &mut ctx, records),
        "OUL" | "ORU" => lab::results(segments, &mut ctx, records),
        "RDE" => prescription::prescriptions(segments, &mut ctx, records),
        _ => {
            let field = msh.map_or("MSH-9".to_string(), |m| m.locate(9));
            ctx.warn(
                field,
                "message type not mapped to clinical records; nothing read from it",
                "このメッセージ型は臨床記録に対応していないため、読み取りませんでした",
            );
        }
    }
}

/// A component's unescaped, trimmed text; `None` when empty or the HL7 null `""`.
pub(crate) fn value(c: Component<'_>) -> Option<String> {
    let t = c.text();
    let t = t.trim();
    (!t.is_empty() && t != "\"\"").then(|| t.to_string())
}

/// Subcomponent `n` of a component, like [`value`].
pub(crate) fn sub_value(c: Component<'_>, n: usize) -> Option<String> {
    let t = c.subcomponent(n).text();
    let t = t.trim();
    (!t.is_empty() && t != "\"\"").then(|| t.to_string())
}

/// `code^text^system` at components `first..first+2` of a repetition (CE/CWE); `None` when
/// there is no code. The system is the source's own name (`MDCDX2`, `JC10`, `99XYZ`), or
/// empty when not sent.
pub(crate) fn coded_at(r: Repetition<'_>, first: usize) -> Option<Coded> {
    let code = value(r.component(first))?;
    Some(Coded {
        code,
        display: value(r.component(first + 1)),
        system: value(r.component(first + 2)).unwrap_or_default(),
    })
}

/// `code&text&system` in the subcomponents of one component.
pub(crate) fn coded_sub(c: Component<'_>) -> Option<Coded> {
    let sub = |n: usize| sub_value(c, n);
    Some(Coded {
        code: sub(1)?,
        display: sub(2),
        system: sub(3).unwrap_or_default(),
    })
}

/// HL7 TS/DT/DTM → FHIR `date` / `dateTime`. `None` when malformed.
pub fn hl7_time_to_fhir(raw: &str) -> Option<String> {
    let (main, zone) = match raw.find(['+', '-']) {
        Some(i) => (&raw[..i], Some(&raw[i..])),
        None => (raw, None),
    };
    let (digits, _fraction) = match main.find('.') {
        Some(i) => (&main[..i], Some(&main[i + 1..])),
        None => (main, None),
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) || ![4, 6, 8, 10, 12, 14].contains(&digits.len())
    {
        return None;
    }
    if zone.is_some_and(|z| z.len() != 5 || !z[1..].bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let num = |a: usize, b: usize| digits[a..b].parse::<u32>().ok();
    let in_range =
        |a: usize, lo: u32, hi: u32| num(a, a + 2).is_some_and(|v| (lo..=hi).contains(&v));
    // Written piece by piece (no `format!`): this runs for most segments.
    let mut out = String::with_capacity(25);
    out.push_str(&digits[..4]);
    if digits.len() == 4 {
        return Some(out);
    }
    if !in_range(4, 1, 12) {
        return None;
    }
    out.push('-');
    out.push_str(&digits[4..6]);
    if digits.len() == 6 {
        return Some(out);
    }
    if !in_range(6, 1, 31) {
        return None;
    }
    out.push('-');
    out.push_str(&digits[6..8]);
    if digits.len() == 8 {
        return Some(out);
    }
    let ok = in_range(8, 0, 23)
        && (digits.len() < 12 || in_range(10, 0, 59))
        && (digits.len() < 14 || in_range(12, 0, 60));
    if !ok {
        return None;
    }
    out.push('T');
    out.push_str(&digits[8..10]);
    out.push(':');
    out.push_str(digits.get(10..12).unwrap_or("00"));
    out.push(':');
    out.push_str(digits.get(12..14).unwrap_or("00"));
    match zone {
        None => out.push_str("+09:00"),
        Some(z) => {
            out.push_str(&z[..3]);
            out.push(':');
            out.push_str(&z[3..]);
        }
    }
    Some(out)
}

#[cfg(test)]
pub(crate) mod test_support;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hl7_times_become_fhir_text() {
        assert_eq!(hl7_time_to_fhir("2025").as_deref(), Some("2025"));
        assert_eq!(hl7_time_to_fhir("202504").as_deref(), Some("2025-04"));
        assert_eq!(hl7_time_to_fhir("20250401").as_deref(), Some("2025-04-01"));
        assert_eq!(
            hl7_time_to_fhir("202504011015").as_deref(),
            Some("2025-04-01T10:15:00+09:00")
        );
        assert_eq!(
            hl7_time_to_fhir("20250401101530.123-0500").as_deref(),
            Some("2025-04-01T10:15:30-05:00")
        );
        for bad in [
            "",
            "2025a",
            "20251301",
            "202504011",
            "20250401256000",
            "20250401+9",
        ] {
            assert_eq!(hl7_time_to_fhir(bad), None, "{bad}");
        }
    }
}

#[cfg(test)]
mod mapping_tests;
