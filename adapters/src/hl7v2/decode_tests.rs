use super::*;

fn jis(s: &str) -> Vec<u8> {
    ISO_2022_JP.encode(s).0.into_owned()
}

const MSH_JIS: &str = "MSH|^~\\&|A|B|C|D|20250401||ADT^A08|1|P|2.5||||||~ISO IR87||ISO 2022-1994\r";

#[test]
fn iso_ir87_label_decodes_iso2022jp_with_separator_bytes_inside() {
    // Find kanji whose JIS bytes hold `|` (0x7C) and `\` (0x5C).
    let holding = |b: u8| {
        ('\u{4E00}'..='\u{9FFF}')
            .find(|c| {
                jis(&c.to_string())
                    .windows(2)
                    .any(|w| w[0] != 0x1b && w[1] == b)
            })
            .unwrap()
    };
    let name = format!("{}{}^花子", holding(b'|'), holding(b'\\'));
    let d = decode(&jis(&format!("{MSH_JIS}PID|1||P1||{name}")), None);
    assert_eq!(d.charset, Charset::Iso2022Jp);
    assert!(d.text.ends_with(&format!("PID|1||P1||{name}")));
    assert_eq!(d.replacements, 0);
    assert!(d.problems.is_empty());
}

#[test]
fn labels_map_including_the_ones_encoding_rs_does_not_know() {
    for (label, cs) in [
        ("ISO IR87", Charset::Iso2022Jp),
        ("~ISO IR87", Charset::Iso2022Jp),
        ("ISO 2022-1994", Charset::Iso2022Jp),
        ("ISO-2022-JP", Charset::Iso2022Jp),
        ("SHIFT_JIS", Charset::ShiftJis),
        ("cp932", Charset::ShiftJis),
        ("Windows-31J", Charset::ShiftJis),
        ("EUC-JP", Charset::EucJp),
        ("UNICODE UTF-8", Charset::Utf8),
        ("UTF-8", Charset::Utf8),
    ] {
        let label = label.trim_start_matches('~');
        assert_eq!(Charset::from_label(label), Some(cs), "{label}");
    }
    assert_eq!(Charset::from_label("KOI8-R"), None);
}

#[test]
fn shift_jis_and_euc_jp_by_msh18() {
    let msg = "MSH|^~\\&|||||||ADT^A08|1|P|2.5||||||SHIFT_JIS\rPID|1||P1||表示^太郎";
    let d = decode(&SHIFT_JIS.encode(msg).0, None);
    assert_eq!((d.charset, d.text.as_str()), (Charset::ShiftJis, msg));
    let msg = msg.replace("SHIFT_JIS", "EUC-JP");
    let d = decode(&EUC_JP.encode(&msg).0, None);
    assert_eq!((d.charset, d.text.as_str()), (Charset::EucJp, msg.as_str()));
}

#[test]
fn override_wins_over_msh18() {
    let msg = "MSH|^~\\&|||||||ADT^A08|1|P|2.5||||||~ISO IR87\rPID|1||P1||表示";
    let d = decode(&SHIFT_JIS.encode(msg).0, Some(Charset::ShiftJis));
    assert_eq!(d.text, msg);
}

#[test]
fn undecodable_bytes_are_replaced_counted_and_located() {
    let mut bytes = b"MSH|^~\\&|||||||ADT^A08|1|P|2.5||||||UNICODE UTF-8\rPID|1||P1||ab".to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe]);
    bytes.extend_from_slice(b"^c|\xffx");
    let d = decode(&bytes, None);
    assert_eq!(d.replacements, 3);
    assert_eq!(d.text.matches('\u{FFFD}').count(), 3);
    let fields: Vec<&str> = d.problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["PID-5", "PID-6"]);
    assert!(d.problems[0].reason_en.starts_with("2 character"));
}

#[test]
fn jis_x_0212_runs_become_geta_and_are_counted() {
    let mut bytes = jis(&format!("{MSH_JIS}PID|1||P1||山"));
    // Append a two-character JIS X 0212 run, then back to ASCII and more fields.
    bytes.extend_from_slice(b"\x1b$(D\x30\x21\x30\x22\x1b(B^x|F");
    let d = decode(&bytes, None);
    assert!(d.text.ends_with("PID|1||P1||山〓〓^x|F"), "{:?}", d.text);
    assert_eq!(d.replacements, 2);
    assert_eq!(d.problems.len(), 1);
    assert_eq!(d.problems[0].field, "PID-5");
}

#[test]
fn sniffing_without_msh18() {
    let d = decode(&jis("MSH|^~\\&|\rPID|1||P1||山"), None);
    assert_eq!(d.charset, Charset::Iso2022Jp);
    let d = decode("MSH|^~\\&|\rPID|1||P1||山".as_bytes(), None);
    assert_eq!(d.charset, Charset::Utf8);
    let d = decode(&SHIFT_JIS.encode("MSH|^~\\&|\rPID|1||P1||山").0, None);
    assert_eq!(d.charset, Charset::ShiftJis);
    assert_eq!(d.problems.len(), 1);
    let unknown = format!("MSH|^~\\&{}KOI8\r", "|".repeat(16));
    let d = decode(unknown.as_bytes(), None);
    assert_eq!(d.problems[0].field, "MSH-18");
}

#[test]
fn garbage_never_panics() {
    for bytes in [
        &b""[..],
        b"MSH",
        b"MSH|",
        b"\x1b$(D",
        b"\x1b$(D\xff",
        b"\xef\xbb\xbf",
    ] {
        let _ = decode(bytes, None);
        let _ = decode(bytes, Some(Charset::Iso2022Jp));
    }
}
