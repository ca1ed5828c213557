use super::*;
use crate::hl7v2::escape::escape;
use proptest::prelude::*;

const ORU: &str = "MSH|^~\\&|HIS|SEND|GW|RCV|20250401101500||ORU^R01|M1|P|2.5||||||~ISO IR87\r\
PID|0001||P0001^^^^PI~X9^^^^MR||試験^花子^^^^^L^I~シケン^ハナコ^^^^^L^P||19800101|F\r\
OBX|1|ST|1234^日本\\F\\語^99LOC&sub||値\\S\\あり~二つ目|mg/dL\r";

#[test]
fn fields_repetitions_components_subcomponents() {
    let (msg, problems) = parse(ORU);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(msg.all_segments().len(), 3);
    let pid = msg.segment("PID").unwrap();
    assert_eq!(pid.field(3).component(1).raw(), "P0001");
    assert_eq!(pid.field(3).repetitions().count(), 2);
    assert_eq!(pid.field(3).repetition(2).component(5).raw(), "MR");
    assert_eq!(pid.field(5).repetition(2).component(1).text(), "シケン");
    assert_eq!(pid.field(8).text(), "F");
    assert!(pid.field(99).is_empty());
    let obx = msg.segments("OBX").next().unwrap();
    assert_eq!(obx.field(3).component(2).text(), "日本|語");
    assert_eq!(obx.field(3).component(3).subcomponent(2).raw(), "sub");
    assert_eq!(obx.field(5).repetition(1).text(), "値^あり");
    assert_eq!(obx.field(5).repetition(2).text(), "二つ目");
}

#[test]
fn msh_numbering_keeps_separator_and_encoding_characters_literal() {
    let (msg, _) = parse(ORU);
    let msh = msg.segment("MSH").unwrap();
    assert_eq!(msh.field(1).raw(), "|");
    assert_eq!(msh.field(2).text(), "^~\\&");
    assert_eq!(msh.field(2).repetitions().count(), 1);
    assert_eq!(msh.field(2).component(1).raw(), "^~\\&");
    assert_eq!(msh.field(3).raw(), "HIS");
    assert_eq!(msh.field(9).component(2).raw(), "R01");
    assert_eq!(msh.field(10).raw(), "M1");
    assert_eq!(msh.field(18).repetition(2).raw(), "ISO IR87");
}

#[test]
fn custom_delimiters_from_msh() {
    let (msg, problems) = parse("MSH#!$?%#A#B\rPID#1##ID1!x$ID2#a?F?b");
    assert!(problems.is_empty());
    let pid = msg.segment("PID").unwrap();
    assert_eq!(pid.field(3).repetition(2).raw(), "ID2");
    assert_eq!(pid.field(3).component(2).raw(), "x");
    assert_eq!(pid.field(4).text(), "a#b");
}

#[test]
fn line_endings_blank_lines_and_framing_are_counted() {
    let text = "\u{0b}MSH|^~\\&|A\nPID|1\r\nPV1|1\r\r\n  \rOBX|1\u{1c}";
    let (msg, problems) = parse(text);
    assert!(problems.is_empty(), "{problems:?}");
    let ids: Vec<&str> = msg.all_segments().iter().map(|s| s.id()).collect();
    assert_eq!(ids, ["MSH", "PID", "PV1", "OBX"]);
    let q = msg.quirks;
    assert_eq!(
        (q.lf_endings, q.crlf_endings, q.blank_lines, q.framing_bytes),
        (1, 2, 2, 2)
    );
}

#[test]
fn odd_segment_ids_and_garbage_are_reported_not_dropped() {
    let text = "MSH|^~\\&|A\rpid|1||P1\rZPR1|x\r@@@garbage|1\r12|3";
    let (msg, problems) = parse(text);
    let ids: Vec<&str> = msg.all_segments().iter().map(|s| s.id()).collect();
    assert_eq!(ids, ["MSH", "PID", "ZPR1"]);
    assert_eq!(msg.segment("PID").unwrap().field(3).raw(), "P1");
    assert_eq!(msg.unparsed().len(), 2);
    assert_eq!(msg.unparsed()[0].0, 4);
    assert_eq!(problems.len(), 4);
    assert!(problems.iter().all(|p| !p.to_string().contains("garbage")));
    assert_eq!(msg.quirks.unparsed_lines, 2);
    assert_eq!((msg.quirks.lowercase_ids, msg.quirks.long_ids), (1, 1));
}

#[test]
fn missing_msh_is_fatal_and_leading_segments_are_flagged() {
    let (msg, problems) = parse("PID|1||P1");
    assert_eq!(msg.all_segments().len(), 1);
    assert_eq!(problems[0].severity, crate::Severity::Fatal);
    let (msg, problems) = parse("PID|1\rMSH|^~\\&|A");
    assert_eq!(msg.all_segments().len(), 2);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].field, "line 1");
}

#[test]
fn bad_encoding_characters_fall_back_to_defaults() {
    let (msg, problems) = parse("MSH|^^\\&|A\rPID|1||a^b");
    assert_eq!(msg.delimiters(), Delimiters::default());
    assert_eq!(problems[0].field, "MSH-2");
    let (_, problems) = parse("MSH");
    assert_eq!(problems[0].field, "MSH-1");
}

/// A generated message: segment ids and field values (already unescaped).
fn message_strategy() -> impl Strategy<Value = Vec<(String, Vec<Vec<Vec<String>>>)>> {
    let value = "[a-zA-Z0-9 |^~&\\\\\\n仮名テスト日本語]{0,8}";
    let field = prop::collection::vec(prop::collection::vec(value, 1..3), 1..3);
    let segment = ("[A-Z][A-Z0-9]{2}", prop::collection::vec(field, 0..6));
    prop::collection::vec(segment, 0..6)
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_text(s in "\\PC*") {
        let (msg, _) = parse(&s);
        for seg in msg.all_segments() {
            for n in 0..seg.field_count() + 2 {
                let f = seg.field(n);
                let _ = f.text();
                for r in f.repetitions() {
                    for c in r.components() {
                        for s in c.subcomponents() { let _ = s.text(); }
                    }
                }
            }
        }
    }

    #[test]
    fn never_panics_on_arbitrary_bytes(b in prop::collection::vec(any::<u8>(), 0..400)) {
        let decoded = crate::hl7v2::decode(&b, None);
        let _ = parse(&decoded.text);
    }

    #[test]
    fn never_panics_on_msh_like_text(s in "MSH.{0,12}(\r[A-Za-z]{3}[|^~&\\\\#].{0,20}){0,4}") {
        let _ = parse(&s);
    }

    #[test]
    fn encode_then_parse_round_trips(segments in message_strategy()) {
        let d = Delimiters::default();
        let mut text = String::from("MSH|^~\\&|T");
        for (id, fields) in &segments {
            if id == "MSH" { continue; }
            text.push('\r');
            text.push_str(id);
            for field in fields {
                text.push('|');
                let reps: Vec<String> = field.iter()
                    .map(|comps| comps.iter().map(|c| escape(c, &d)).collect::<Vec<_>>().join("^"))
                    .collect();
                text.push_str(&reps.join("~"));
            }
        }
        let (msg, problems) = parse(&text);
        prop_assert!(problems.is_empty());
        let parsed: Vec<_> = msg.all_segments().iter().skip(1).collect();
        let expected: Vec<_> = segments.iter().filter(|(id, _)| id != "MSH").collect();
        prop_assert_eq!(parsed.len(), expected.len());
        for (seg, (id, fields)) in parsed.iter().zip(expected) {
            prop_assert_eq!(seg.id(), id.as_str());
            for (i, field) in fields.iter().enumerate() {
                for (r, comps) in field.iter().enumerate() {
                    for (c, value) in comps.iter().enumerate() {
                        let got = seg.field(i + 1).repetition(r + 1).component(c + 1).text();
                        prop_assert_eq!(got.as_ref(), value.as_str());
                    }
                }
            }
        }
    }
}
