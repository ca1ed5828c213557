//! A converter that behaves, and each way one can misbehave: every input ends with records or a
//! named fatal problem, and the next input gets a fresh converter.

use super::*;

fn python() -> bool {
    std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A converter script: hello (with `role`), then for each convert request `body(m)`, where `m`
/// is the request; `send(x)` writes a line.
fn converter(dir: &std::path::Path, role: &str, body: &str) -> ConverterAdapter {
    let script = format!(
        r#"import json, sys, base64, time
def send(x):
    sys.stdout.write(json.dumps(x) + "\n"); sys.stdout.flush()
send({{"type": "hello", "protocol": 1, "name": "t", "version": "1", "role": "{role}", "produces": ["canonical-json"]}})
for line in sys.stdin:
    m = json.loads(line)
    if m["type"] != "convert":
        continue
{body}
"#
    );
    let path = dir.join("conv.py");
    std::fs::write(&path, script).unwrap();
    ConverterAdapter::new(ExecConfig {
        name: "vendor-x".into(),
        command: vec!["python3".into(), path.display().to_string()],
        working_dir: Some(dir.to_path_buf()),
        message_timeout_secs: 2,
        max_line_bytes: 64 * 1024,
        max_bad_lines: 1,
        restart_initial_ms: 1,
        restart_max_secs: 1,
        memory_mb: None,
        cpu_secs: None,
    })
}

const ECHO: &str = r#"    text = base64.b64decode(m["data"]).decode()
    if text == "crash":
        sys.exit(3)
    if text == "hang":
        time.sleep(30)
    if text == "garbage":
        print("this is not json", flush=True)
        continue
    if text == "huge":
        print("x" * 200000, flush=True)
        continue
    if text == "refuse":
        send({"type": "refused", "id": m["id"], "field": "line 2", "reason_en": "no", "reason_ja": "不可"})
        continue
    send({"type": "record", "id": "r", "format": "canonical-json",
          "data": {"type": "Condition", "patient_id": "P1", "original_text": text}})
    send({"type": "converted", "id": m["id"]})"#;

fn parse(c: &ConverterAdapter, text: &str) -> Parsed {
    c.parse(&RawInput {
        bytes: text.as_bytes(),
        origin: "export/a.xml",
    })
}

fn fatal_of(p: &Parsed) -> String {
    assert!(p.records.is_empty() && p.has_fatal(), "{:?}", p.problems);
    p.problems[0].to_string()
}

#[test]
fn inputs_are_converted_and_every_misbehaviour_is_named_then_the_next_input_converts() {
    if !python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let c = converter(dir.path(), "converter", ECHO);
    let ok = parse(&c, "胃炎");
    assert_eq!(ok.records.len(), 1, "{:?}", ok.problems);
    for (input, says) in [
        ("crash", "ended"),
        ("hang", "wrote nothing for 2 s"),
        ("garbage", "not a converter message"),
        ("huge", "over max_line_bytes"),
    ] {
        let shown = fatal_of(&parse(&c, input));
        assert!(shown.starts_with("converter vendor-x: "), "{shown}");
        assert!(shown.contains(says), "{input}: {shown}");
        // The next input gets a fresh converter.
        assert_eq!(parse(&c, "胃炎").records.len(), 1, "after {input}");
    }
    let refused = fatal_of(&parse(&c, "refuse"));
    assert_eq!(refused, "line 2: no / 不可");
}

#[test]
fn a_plugin_of_the_wrong_role_or_none_at_all_is_a_named_failure() {
    if !python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let c = converter(dir.path(), "source", ECHO);
    let shown = fatal_of(&parse(&c, "x"));
    assert!(
        shown.contains("role") && shown.contains("Converter"),
        "{shown}"
    );
    let mut cfg = c.cfg.clone();
    cfg.command = vec![dir.path().join("missing").display().to_string()];
    let shown = fatal_of(&ConverterAdapter::new(cfg).parse(&RawInput {
        bytes: b"x",
        origin: "a",
    }));
    assert!(shown.contains("cannot be started"), "{shown}");
}

#[test]
fn a_record_in_a_format_the_converter_did_not_announce_is_refused() {
    if !python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let body = r#"    send({"type": "record", "id": "r", "format": "hl7v2", "data": "MSH|^~\\&|"})
    send({"type": "converted", "id": m["id"]})"#;
    let c = converter(dir.path(), "converter", body);
    let shown = fatal_of(&parse(&c, "x"));
    assert!(shown.contains("did not announce"), "{shown}");
}
