//! Test helpers: run a synthetic message (written here as UTF-8, sent as ISO-2022-JP like
//! SS-MIX2 does) through the whole adapter.

use crate::{Adapter, Hl7v2Adapter, Parsed, RawInput};

/// `MSH` with `~ISO IR87` and the given MSH-9, then `body` (segments joined by `\r`).
pub(crate) fn run(msh9: &str, body: &[&str]) -> Parsed {
    let mut text = format!(
        "MSH|^~\\&|HIS|SEND|GW|RCV|20250401101500||{msh9}|MSG001|P|2.5||||||~ISO IR87||ISO 2022-1994"
    );
    for seg in body {
        text.push('\r');
        text.push_str(seg);
    }
    let (bytes, _, unmappable) = encoding_rs::ISO_2022_JP.encode(&text);
    assert!(!unmappable, "fixture not encodable as ISO-2022-JP");
    Hl7v2Adapter::new().parse(&RawInput {
        bytes: &bytes,
        origin: "test",
    })
}

/// A PID for the fictional patient 試験 花子.
pub(crate) const PID: &str = "PID|0001||P0001^^^^PI||試験^花子^^^^^L^I~シケン^ハナコ^^^^^L^P||19800102|F|||^^^^100-0001^JPN^H^東京都千代田区99丁目1番";
