//! Exec plugin protocol v1: JSON lines (UTF-8) on the plugin's stdin and stdout.
//!
//! The published schema is `adapters/schema/plugin-protocol-v1.json`; the vendor guide is
//! `adapters/VENDORS.md`. Plugin → agent: `hello` (first line), then `record`, `checkpoint` and
//! `heartbeat`. Agent → plugin: `start` (after a good hello, with the stored checkpoint), then
//! one `ack` per record once it is committed. The agent closing stdin means "stop now".

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The protocol version this agent speaks.
pub const PROTOCOL_VERSION: u64 = 1;
/// Longest record id.
pub const MAX_ID_CHARS: usize = 256;

/// The plugin's role, as announced in its hello.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Emits records.
    Source,
    /// Converts stored raw inputs (not served by `[[source.exec]]`).
    Converter,
}

/// The plugin's first line.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Hello {
    /// Protocol version the plugin speaks.
    pub protocol: u64,
    /// The plugin's name.
    pub name: String,
    /// The plugin's own version.
    pub version: String,
    /// Its role.
    pub role: Role,
    /// Input formats its records are in (`fhir-json`, `hl7v2`, …).
    pub produces: Vec<String>,
}

/// A message from the plugin after the hello.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Message {
    /// One record with a stable id.
    Record {
        /// Stable over re-emission: the same record always has the same id.
        id: String,
        /// The input format of `data` (one of the hello's `produces`).
        format: String,
        /// The record: a JSON value (FHIR JSON) or a string (e.g. an HL7 v2 message).
        data: Value,
    },
    /// Opaque state covering every record emitted before it.
    Checkpoint {
        /// Handed back verbatim in `start` at the next run.
        state: Value,
    },
    /// "Still alive, nothing new".
    Heartbeat {},
}

/// Why a line is not a usable message. Display is English; [`BadLine::ja`] Japanese. Never
/// carries the line's content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadLine {
    /// Not JSON, or not UTF-8.
    #[error("the line is not JSON")]
    NotJson,
    /// JSON, but not a known message or a field is missing or of the wrong type.
    #[error("the line is not a protocol v1 message (unknown type or a field missing or of the wrong type)")]
    NotMessage,
    /// A record id that is empty, too long or has control characters.
    #[error("the record id must be 1 to {MAX_ID_CHARS} characters without control characters")]
    BadId,
    /// A record in a format the plugin did not announce or the agent does not know.
    #[error("the record's format is not one the plugin announced and the agent knows")]
    UnknownFormat,
}

impl BadLine {
    /// The same in Japanese.
    pub fn ja(&self) -> &'static str {
        match self {
            BadLine::NotJson => "JSON ではない行です",
            BadLine::NotMessage => {
                "プロトコル v1 のメッセージではない行です (type が不明、または項目の不足・型の誤り)"
            }
            BadLine::BadId => "レコード id は制御文字を含まない 1〜256 文字にしてください",
            BadLine::UnknownFormat => {
                "レコードの format がプラグインの宣言またはエージェントの対応形式にありません"
            }
        }
    }
}

/// Why a hello is refused. Display is English; [`HelloError::ja`] Japanese.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HelloError {
    /// The first line is not a hello.
    #[error("the first line must be a hello message ({{\"type\":\"hello\",\"protocol\":1,…}})")]
    NotHello,
    /// Another protocol version.
    #[error(
        "the plugin speaks protocol version {0}; this agent speaks version {PROTOCOL_VERSION}"
    )]
    Version(String),
    /// A role other than the one its configuration runs (source for `[[source.exec]]`,
    /// converter for a `[[format]]` with `converter`).
    #[error("the plugin's role is {0:?}; it is configured where a plugin of role {1:?} runs")]
    Role(Role, Role),
    /// Announces a format the agent does not know.
    #[error("the plugin produces {0:?}, which this agent does not know (known: {1})")]
    Format(String, String),
}

impl HelloError {
    /// The same in Japanese.
    pub fn ja(&self) -> String {
        match self {
            HelloError::NotHello => "最初の行は hello メッセージにしてください".into(),
            HelloError::Version(v) => format!(
                "プラグインのプロトコル版 {v} には対応していません (このエージェントは版 {PROTOCOL_VERSION})"
            ),
            HelloError::Role(r, want) => {
                format!("プラグインの role {r:?} はこの設定では動かせません ({want:?} のみ)")
            }
            HelloError::Format(f, _) => format!("プラグインの出力形式 {f:?} には対応していません"),
        }
    }
}

/// Reads a source plugin's hello line; `known` tells whether the agent knows a format, `names`
/// lists them.
pub fn parse_hello(
    line: &[u8],
    known: impl Fn(&str) -> bool,
    names: &str,
) -> Result<Hello, HelloError> {
    parse_hello_as(line, Role::Source, known, names)
}

/// Reads the hello line of a plugin that must have `role`.
pub fn parse_hello_as(
    line: &[u8],
    role: Role,
    known: impl Fn(&str) -> bool,
    names: &str,
) -> Result<Hello, HelloError> {
    let v: Value = serde_json::from_slice(line).map_err(|_| HelloError::NotHello)?;
    if v.get("type").and_then(Value::as_str) != Some("hello") {
        return Err(HelloError::NotHello);
    }
    match v.get("protocol") {
        Some(Value::Number(n)) if n.as_u64() == Some(PROTOCOL_VERSION) => {}
        Some(other) => return Err(HelloError::Version(other.to_string())),
        None => return Err(HelloError::Version("(missing)".into())),
    }
    let hello: Hello = serde_json::from_value(v).map_err(|_| HelloError::NotHello)?;
    if hello.role != role {
        return Err(HelloError::Role(hello.role, role));
    }
    if let Some(f) = hello.produces.iter().find(|f| !known(f)) {
        return Err(HelloError::Format(f.clone(), names.to_string()));
    }
    Ok(hello)
}

/// A record ready to store: its id, format and raw bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The stable id (the stored input's origin).
    pub id: String,
    /// The input format.
    pub format: String,
    /// The bytes stored: a string's UTF-8, or the JSON value serialised.
    pub raw: Vec<u8>,
}

/// A parsed line after the hello.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// A record to store.
    Record(Record),
    /// A checkpoint (JSON text).
    Checkpoint(String),
    /// A heartbeat.
    Heartbeat,
}

/// Reads one line after the hello, checking the record's id and format against `produces`.
pub fn parse_line(line: &[u8], produces: &[String]) -> Result<Parsed, BadLine> {
    let v: Value = serde_json::from_slice(line).map_err(|_| BadLine::NotJson)?;
    let m: Message = serde_json::from_value(v).map_err(|_| BadLine::NotMessage)?;
    Ok(match m {
        Message::Record { id, format, data } => {
            if id.is_empty()
                || id.chars().count() > MAX_ID_CHARS
                || id.chars().any(char::is_control)
            {
                return Err(BadLine::BadId);
            }
            if !produces.contains(&format) {
                return Err(BadLine::UnknownFormat);
            }
            let raw = match data {
                Value::String(s) => s.into_bytes(),
                other => serde_json::to_vec(&other).map_err(|_| BadLine::NotMessage)?,
            };
            Parsed::Record(Record { id, format, raw })
        }
        Message::Checkpoint { state } => Parsed::Checkpoint(state.to_string()),
        Message::Heartbeat {} => Parsed::Heartbeat,
    })
}

/// The agent's `start` line: the protocol version, the source name and the stored checkpoint.
pub fn start_line(source: &str, checkpoint: Option<&str>) -> Vec<u8> {
    let checkpoint: Value = checkpoint
        .and_then(|c| serde_json::from_str(c).ok())
        .unwrap_or(Value::Null);
    let mut line = serde_json::json!({
        "type": "start",
        "protocol": PROTOCOL_VERSION,
        "source": source,
        "checkpoint": checkpoint,
    })
    .to_string()
    .into_bytes();
    line.push(b'\n');
    line
}

/// What became of a record, as told in its `ack`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Newly stored.
    Stored,
    /// Stored before (same id and content); nothing was added.
    Duplicate,
}

/// The agent's `ack` line for a committed record.
pub fn ack_line(id: &str, outcome: Outcome) -> Vec<u8> {
    let outcome = match outcome {
        Outcome::Stored => "stored",
        Outcome::Duplicate => "duplicate",
    };
    let mut line = serde_json::json!({"type": "ack", "id": id, "outcome": outcome})
        .to_string()
        .into_bytes();
    line.push(b'\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(f: &str) -> bool {
        f == "fhir-json" || f == "hl7v2"
    }

    #[test]
    fn a_good_hello_is_read_and_a_wrong_version_is_named() {
        let h = parse_hello(
            br#"{"type":"hello","protocol":1,"name":"x","version":"0.1","role":"source","produces":["hl7v2"]}"#,
            known,
            "fhir-json, hl7v2",
        )
        .unwrap();
        assert_eq!(h.produces, ["hl7v2"]);
        let e = parse_hello(
            br#"{"type":"hello","protocol":2,"name":"x","version":"0.1","role":"source","produces":[]}"#,
            known,
            "fhir-json, hl7v2",
        )
        .unwrap_err();
        assert_eq!(e, HelloError::Version("2".into()));
        assert!(e.to_string().contains("version 2"));
        assert!(e.ja().contains('2'));
        assert_eq!(parse_hello(b"hello", known, ""), Err(HelloError::NotHello));
        let e = parse_hello(
            br#"{"type":"hello","protocol":1,"name":"x","version":"0.1","role":"source","produces":["csv"]}"#,
            known,
            "fhir-json, hl7v2",
        )
        .unwrap_err();
        assert!(matches!(e, HelloError::Format(f, _) if f == "csv"));
    }

    #[test]
    fn records_checkpoints_and_bad_lines() {
        let produces = vec!["fhir-json".to_string(), "hl7v2".to_string()];
        let r = parse_line(
            br#"{"type":"record","id":"a-1","format":"hl7v2","data":"MSH|^~\\&|\rPID|1"}"#,
            &produces,
        )
        .unwrap();
        assert_eq!(
            r,
            Parsed::Record(Record {
                id: "a-1".into(),
                format: "hl7v2".into(),
                raw: b"MSH|^~\\&|\rPID|1".to_vec()
            })
        );
        let r = parse_line(
            br#"{"type":"record","id":"b","format":"fhir-json","data":{"resourceType":"Bundle"}}"#,
            &produces,
        )
        .unwrap();
        assert!(matches!(r, Parsed::Record(r) if r.raw == br#"{"resourceType":"Bundle"}"#));
        assert_eq!(
            parse_line(br#"{"type":"checkpoint","state":{"n":3}}"#, &produces),
            Ok(Parsed::Checkpoint(r#"{"n":3}"#.into()))
        );
        assert_eq!(parse_line(b"garbage", &produces), Err(BadLine::NotJson));
        assert_eq!(
            parse_line(br#"{"type":"record","id":"x"}"#, &produces),
            Err(BadLine::NotMessage)
        );
        assert_eq!(
            parse_line(
                br#"{"type":"record","id":"","format":"hl7v2","data":""}"#,
                &produces
            ),
            Err(BadLine::BadId)
        );
        assert_eq!(
            parse_line(
                br#"{"type":"record","id":"x","format":"csv","data":""}"#,
                &produces
            ),
            Err(BadLine::UnknownFormat)
        );
    }

    #[test]
    fn the_vendor_guide_shows_the_tested_sample_and_the_schema_speaks_this_version() {
        let guide = include_str!("../../../../adapters/VENDORS.md");
        let minimal = include_str!("../../../../adapters/examples/minimal_source.py");
        assert!(
            guide.contains(minimal),
            "VENDORS.md must list examples/minimal_source.py verbatim"
        );
        let converter = include_str!("../../../../adapters/examples/xml_converter.py");
        assert!(
            guide.contains(converter),
            "VENDORS.md must list examples/xml_converter.py verbatim"
        );
        let schema: Value = serde_json::from_str(include_str!(
            "../../../../adapters/schema/plugin-protocol-v1.json"
        ))
        .unwrap();
        for def in ["hello", "start"] {
            assert_eq!(
                schema["$defs"][def]["properties"]["protocol"]["const"],
                PROTOCOL_VERSION
            );
        }
        // The converter's messages, with the fields the agent writes and reads.
        let required = |def: &str| schema["$defs"][def]["required"].clone();
        assert_eq!(
            required("convert"),
            serde_json::json!(["type", "id", "origin", "data"])
        );
        assert_eq!(required("converted"), serde_json::json!(["type", "id"]));
        assert_eq!(
            required("refused"),
            serde_json::json!(["type", "id", "field", "reason_en", "reason_ja"])
        );
    }

    #[test]
    fn start_hands_back_the_checkpoint_verbatim() {
        let line = start_line("vendor", Some(r#"{"offset":7}"#));
        let v: Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(v["checkpoint"]["offset"], 7);
        assert_eq!(v["protocol"], 1);
        let v: Value = serde_json::from_slice(&start_line("vendor", None)).unwrap();
        assert!(v["checkpoint"].is_null());
        let v: Value = serde_json::from_slice(&ack_line("a", Outcome::Duplicate)).unwrap();
        assert_eq!(v["outcome"], "duplicate");
    }
}
