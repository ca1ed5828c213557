//! Parser benchmark: one core, the same ~800-byte ORU^R01 with Japanese text (ISO-2022-JP on
//! the wire) for each contender, reported in messages per second of this thread's CPU time
//! (what one dedicated core would do) and of wall-clock time (lower on a shared machine).
//!
//! Run (release): `cargo bench -p tsunagi-adapters --bench parse`
//! (`BENCH_ONLY=<part of a name>` runs one contender, e.g. for `perf record`).
//!
//! Contenders:
//! - `tsunagi decode+parse+canonicalize`: the whole `Hl7v2Adapter::parse` from bytes;
//! - `tsunagi parse+canonicalize`: from decoded text;
//! - `tsunagi parse`: from decoded text, touching every field of every segment;
//! - `hl7-parser 0.3.0 parse`: from the same decoded text (CR separators), under
//!   `catch_unwind`. A second input, Japanese text before an escape, shows whether it panics.

/// The allocator the `tsunagi` binary uses, so the figures are the agent's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use tsunagi_adapters::hl7v2::{canonicalize, parse};
use tsunagi_adapters::{Adapter, Hl7v2Adapter, RawInput};

fn oru_r01() -> String {
    let segments = [
        "MSH|^~\\&|HIS123|SEND|GW|RCV|20250502114816||ORU^R01^ORU_R01|29801499011|P|2.5||||||~ISO IR87||ISO 2022-1994",
        "PID|0001||1099410892^^^^PI||試験^花子^^^^^L^I~シケン^ハナコ^^^^^L^P||19800102|F|||^^^^100-0001^JPN^H^東京都千代田区千代田99丁目1番",
        "PV1|0001|O|013^^^^^C",
        "OBR|1|000029801499011|000029801499012|3^生化学的検査^JC10|||202505021003",
        "OBX|1|NM|3A010000002327101^総蛋白^JC10||6.5|g/dL^g/dL^99XYZ|6.5-8.0|N|||F|||202505021003",
        "OBX|2|NM|3A015000002327101^アルブミン^JC10||4.0|g/dL^g/dL^99XYZ|3.8-5.2|N|||F|||202505021003",
        "OBX|3|NM|3B035000002327201^AST(GOT)^JC10||27|U/L^U/L^99XYZ|13-30|N|||F|||202505021003",
        "OBX|4|NM|3B045000002327201^ALT(GPT)^JC10||14|U/L^U/L^99XYZ|7-23|N|||F|||202505021003",
        "OBX|5|NM|3C015000002327101^クレアチニン^JC10||0.76|mg/dL^mg/dL^99XYZ|0.46-0.79|N|||F|||202505021003",
        "OBX|6|ST|1A990000000191153^尿蛋白定性^JC10||±\\F\\再検||||||F|||202505021003",
    ];
    segments.join("\r")
}

/// CPU time of this thread: on a shared machine, wall-clock rates understate the parser.
#[cfg(unix)]
fn thread_cpu() -> Option<Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Some(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

/// Per-thread CPU time is read only on Unix; elsewhere the bench reports wall-clock rates.
#[cfg(not(unix))]
fn thread_cpu() -> Option<Duration> {
    None
}

fn measure(name: &str, mut f: impl FnMut()) {
    if std::env::var("BENCH_ONLY").is_ok_and(|only| !name.contains(&only)) {
        return;
    }
    for _ in 0..1000 {
        f();
    }
    let (start, cpu_start) = (Instant::now(), thread_cpu());
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(2) {
        for _ in 0..1000 {
            f();
        }
        n += 1000;
    }
    let wall = n as f64 / start.elapsed().as_secs_f64();
    let cpu = match (cpu_start, thread_cpu()) {
        (Some(a), Some(b)) => format!("{:>10.0}", n as f64 / (b - a).as_secs_f64()),
        _ => format!("{:>10}", "n/a"),
    };
    println!("{name:<36} {cpu} msg/s per CPU-second {wall:>10.0} msg/s wall");
}

fn main() {
    let text = oru_r01();
    let (bytes, _, _) = encoding_rs::ISO_2022_JP.encode(&text);
    let bytes = bytes.into_owned();
    println!(
        "input: ORU^R01, {} bytes ISO-2022-JP ({} bytes UTF-8), 10 segments, 6 OBX",
        bytes.len(),
        text.len()
    );
    let adapter = Hl7v2Adapter::new();
    let check = adapter.parse(&RawInput {
        bytes: &bytes,
        origin: "bench",
    });
    assert_eq!(check.records.len(), 6, "{:?}", check.problems);
    assert!(check.problems.is_empty(), "{:?}", check.problems);

    measure("tsunagi decode+parse+canonicalize", || {
        black_box(adapter.parse(&RawInput {
            bytes: black_box(&bytes),
            origin: "bench",
        }));
    });
    measure("tsunagi parse+canonicalize", || {
        let (msg, _) = parse(black_box(&text));
        black_box(canonicalize(&msg, "bench"));
    });
    measure("tsunagi parse", || {
        let (msg, problems) = parse(black_box(&text));
        let mut touched = 0usize;
        for seg in msg.all_segments() {
            for i in 1..=seg.field_count() {
                touched += seg.field(i).raw().len();
            }
        }
        black_box((touched, problems));
    });
    let ok = catch_unwind(|| hl7_parser::Message::parse(&text).is_ok());
    println!("hl7-parser on the bench input: {ok:?} (Ok(true) = parsed)");
    measure("hl7-parser 0.3.0 parse", || {
        let r = catch_unwind(AssertUnwindSafe(|| {
            hl7_parser::Message::parse(black_box(&text)).map(|m| m.segments().count())
        }));
        let _ = black_box(r);
    });

    // Japanese text before an escape, in a field that is then read back unescaped.
    let tricky = "MSH|^~\\&|A|B|C|D|20250401||ORU^R01|1|P|2.5\rOBX|1|ST|1^x^L||日本\\F\\語";
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = catch_unwind(|| {
        let m = hl7_parser::Message::parse(tricky).ok()?;
        let obx = m.segment("OBX")?;
        Some(format!("{}", obx.field(5)?.display(&m.separators)))
    });
    let _ = std::panic::take_hook();
    let ours = parse(tricky)
        .0
        .segment("OBX")
        .map(|s| s.field(5).text().into_owned());
    println!(
        "Japanese before an escape: hl7-parser -> {}; tsunagi -> {:?}",
        match &outcome {
            Ok(v) => format!("{v:?}"),
            Err(_) => "PANIC".to_string(),
        },
        ours
    );

    let odd = "MSH|^~\\&|A|B|C|D|20250401||ORU^R01|1|P|2.5\rpid|1||P1\r\rZPR1|x\r@@@|1\rOBX|1|ST|1^x^L||v";
    let theirs = catch_unwind(|| {
        hl7_parser::Message::parse_with_lenient_newlines(odd, true)
            .map(|m| m.segments().count())
            .map_err(|e| e.to_string())
    });
    let (msg, problems) = parse(odd);
    println!(
        "odd input (lowercase id, blank line, 4-letter id, garbage line): hl7-parser -> {theirs:?}; \
         tsunagi -> {} segments, {} unparsed, {} problems",
        msg.all_segments().len(),
        msg.unparsed().len(),
        problems.len()
    );
}
