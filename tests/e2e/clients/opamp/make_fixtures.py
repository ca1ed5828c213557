"""Writes the OpAMP fixtures of tsunagi-opamp's tests (opamp/tests/fixtures/*.bin) with the
official Python protobufs of the opentelemetry-opamp-client package (PyPI, 0.5b0), so that the
Rust test checks our hand-written prost types against code nobody here wrote, without Python at
test time. Run: target/mllp-clients-venv/bin/python tests/e2e/clients/opamp/make_fixtures.py
(tests/e2e/clients/install.sh installs the package). Every map has one entry, so the encoding is
canonical and the Rust test can also compare its own encoding byte for byte."""
import os
import sys

from opentelemetry._opamp.proto import anyvalue_pb2, opamp_pb2

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "..", "..", "..", "..", "opamp", "tests", "fixtures")


def kv(key, **value):
    return anyvalue_pb2.KeyValue(key=key, value=anyvalue_pb2.AnyValue(**value))


a2s = opamp_pb2.AgentToServer(
    instance_uid=bytes(range(16)),
    sequence_num=42,
    capabilities=opamp_pb2.AgentCapabilities_ReportsStatus
    | opamp_pb2.AgentCapabilities_ReportsEffectiveConfig
    | opamp_pb2.AgentCapabilities_ReportsHealth
    | opamp_pb2.AgentCapabilities_ReportsHeartbeat,
    agent_description=opamp_pb2.AgentDescription(
        identifying_attributes=[kv("service.name", string_value="tsunagi"),
                                kv("service.version", string_value="0.1.0")],
        non_identifying_attributes=[kv("host.arch", string_value="amd64"),
                                    kv("tsunagi.backlog", int_value=12),
                                    kv("tsunagi.coded_rate", double_value=97.5),
                                    kv("flag", bool_value=True)],
    ),
    health=opamp_pb2.ComponentHealth(
        healthy=False,
        start_time_unix_nano=1_700_000_000_000_000_000,
        last_error="uplink down",
        status="degraded",
        status_time_unix_nano=1_700_000_001_000_000_000,
        component_health_map={"uplink": opamp_pb2.ComponentHealth(healthy=False, status="down")},
    ),
    effective_config=opamp_pb2.EffectiveConfig(config_map=opamp_pb2.AgentConfigMap(
        config_map={"tsunagi.toml": opamp_pb2.AgentConfigFile(body=b"[agent]\n", content_type="text/toml")})),
    package_statuses=opamp_pb2.PackageStatuses(
        packages={"tsunagi": opamp_pb2.PackageStatus(name="tsunagi", agent_has_version="0.1.0",
                                                     status=opamp_pb2.PackageStatusEnum_Installed)}),
    custom_message=opamp_pb2.CustomMessage(capability="io.tsunagi.figures", type="figures", data=b"{}"),
)
s2a = opamp_pb2.ServerToAgent(
    instance_uid=bytes(range(16)),
    flags=opamp_pb2.ServerToAgentFlags_ReportFullState,
    capabilities=opamp_pb2.ServerCapabilities_AcceptsStatus | opamp_pb2.ServerCapabilities_AcceptsEffectiveConfig,
    error_response=opamp_pb2.ServerErrorResponse(
        type=opamp_pb2.ServerErrorResponseType_Unavailable, error_message="busy",
        retry_info=opamp_pb2.RetryInfo(retry_after_nanoseconds=5_000_000_000)),
)
disconnect = opamp_pb2.AgentToServer(instance_uid=bytes(range(16)), sequence_num=43,
                                     agent_disconnect=opamp_pb2.AgentDisconnect())
os.makedirs(out, exist_ok=True)
for name, msg in [("agent_to_server", a2s), ("server_to_agent", s2a), ("disconnect", disconnect)]:
    with open(os.path.join(out, name + ".bin"), "wb") as f:
        f.write(msg.SerializeToString(deterministic=True))
print("wrote", out)
