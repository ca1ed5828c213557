//! Fuzz target: arbitrary bytes through decode → parse → canonicalize (the whole
//! `Hl7v2Adapter`), under every charset override. Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tsunagi_adapters::hl7v2::{decode, parse};
use tsunagi_adapters::{Adapter, Charset, Hl7v2Adapter, RawInput};

fuzz_target!(|data: &[u8]| {
    let input = RawInput { bytes: data, origin: "fuzz" };
    let _ = Hl7v2Adapter::new().parse(&input);
    for charset in [Charset::Iso2022Jp, Charset::ShiftJis, Charset::EucJp, Charset::Utf8] {
        let decoded = decode(data, Some(charset));
        let (msg, _) = parse(&decoded.text);
        for seg in msg.all_segments() {
            for n in 0..=seg.field_count() + 1 {
                for rep in seg.field(n).repetitions() {
                    for c in rep.components() {
                        for s in c.subcomponents() {
                            let _ = s.text();
                        }
                    }
                }
            }
        }
    }
});
