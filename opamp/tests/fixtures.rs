//! Our prost types against the official OpAMP protobufs: the fixtures were written by
//! `tests/e2e/clients/opamp/make_fixtures.py` with the `opamp_pb2` of the
//! `opentelemetry-opamp-client` package (PyPI). They decode with our types to the values the
//! script set, and our encoding of those values is the same bytes (so the official decoder reads
//! ours).

use std::collections::HashMap;

use tsunagi_opamp::proto::*;
use tsunagi_opamp::{agent_caps, attr_number, attr_text, kv_double, kv_int, kv_str, Message};

const A2S: &[u8] = include_bytes!("fixtures/agent_to_server.bin");
const S2A: &[u8] = include_bytes!("fixtures/server_to_agent.bin");
const DISCONNECT: &[u8] = include_bytes!("fixtures/disconnect.bin");

fn uid() -> Vec<u8> {
    (0u8..16).collect()
}

fn one<T>(k: &str, v: T) -> HashMap<String, T> {
    HashMap::from([(k.to_string(), v)])
}

fn expected_a2s() -> AgentToServer {
    AgentToServer {
        instance_uid: uid(),
        sequence_num: 42,
        capabilities: agent_caps::REPORTS_STATUS
            | agent_caps::REPORTS_EFFECTIVE_CONFIG
            | agent_caps::REPORTS_HEALTH
            | agent_caps::REPORTS_HEARTBEAT,
        agent_description: Some(AgentDescription {
            identifying_attributes: vec![
                kv_str("service.name", "tsunagi"),
                kv_str("service.version", "0.1.0"),
            ],
            non_identifying_attributes: vec![
                kv_str("host.arch", "amd64"),
                kv_int("tsunagi.backlog", 12),
                kv_double("tsunagi.coded_rate", 97.5),
                KeyValue {
                    key: "flag".into(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::BoolValue(true)),
                    }),
                },
            ],
        }),
        health: Some(ComponentHealth {
            healthy: false,
            start_time_unix_nano: 1_700_000_000_000_000_000,
            last_error: "uplink down".into(),
            status: "degraded".into(),
            status_time_unix_nano: 1_700_000_001_000_000_000,
            component_health_map: one(
                "uplink",
                ComponentHealth {
                    status: "down".into(),
                    ..Default::default()
                },
            ),
            attributes: vec![],
        }),
        effective_config: Some(EffectiveConfig {
            config_map: Some(AgentConfigMap {
                config_map: one(
                    "tsunagi.toml",
                    AgentConfigFile {
                        body: b"[agent]\n".to_vec(),
                        content_type: "text/toml".into(),
                    },
                ),
            }),
        }),
        package_statuses: Some(PackageStatuses {
            packages: one(
                "tsunagi",
                PackageStatus {
                    name: "tsunagi".into(),
                    agent_has_version: "0.1.0".into(),
                    ..Default::default()
                },
            ),
            ..Default::default()
        }),
        custom_message: Some(CustomMessage {
            capability: "io.tsunagi.figures".into(),
            r#type: "figures".into(),
            data: b"{}".to_vec(),
        }),
        ..Default::default()
    }
}

#[test]
fn agent_to_server_from_the_official_protobufs() {
    let m = AgentToServer::decode(A2S).expect("decodes");
    assert_eq!(m, expected_a2s());
    let d = m.agent_description.as_ref().expect("description");
    assert_eq!(
        attr_text(&d.identifying_attributes, "service.name").as_deref(),
        Some("tsunagi")
    );
    assert_eq!(
        attr_number(&d.non_identifying_attributes, "tsunagi.backlog"),
        Some(12.0)
    );
    assert_eq!(
        expected_a2s().encode_to_vec(),
        A2S,
        "our encoding, byte for byte"
    );
}

#[test]
fn server_to_agent_from_the_official_protobufs() {
    let m = ServerToAgent::decode(S2A).expect("decodes");
    let want = ServerToAgent {
        instance_uid: uid(),
        flags: tsunagi_opamp::REPORT_FULL_STATE,
        capabilities: 0x1 | 0x4,
        error_response: Some(ServerErrorResponse {
            r#type: tsunagi_opamp::ERROR_UNAVAILABLE,
            error_message: "busy".into(),
            retry_info: Some(RetryInfo {
                retry_after_nanoseconds: 5_000_000_000,
            }),
        }),
        ..Default::default()
    };
    assert_eq!(m, want);
    assert_eq!(want.encode_to_vec(), S2A);
}

#[test]
fn disconnect_from_the_official_protobufs() {
    let m = AgentToServer::decode(DISCONNECT).expect("decodes");
    assert!(m.agent_disconnect.is_some());
    assert_eq!(m.sequence_num, 43);
    assert_eq!(m.encode_to_vec(), DISCONNECT);
}
