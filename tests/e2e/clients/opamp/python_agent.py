"""The opentelemetry-opamp-client package's own OpAMPClient (code nobody here wrote) reporting
to an OpAMP server: a full state, then heartbeats. Prints one JSON line per answer (flags, error).
Used by tests/e2e/fleet.rs against tsunagi-fleet.

Usage: python python_agent.py URL TOKEN SERVICE_NAME COUNT"""
import json
import sys

from opentelemetry._opamp.client import OpAMPClient

url, token, name, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
client = OpAMPClient(
    endpoint=url,
    headers={"Authorization": "Bearer " + token},
    agent_identifying_attributes={"service.name": name, "service.version": "9.9.9"},
    agent_non_identifying_attributes={"host.name": "python-host"},
    timeout_millis=5000,
)
client.update_effective_config({"app.json": {"setting": "value"}}, content_type="application/json")
for i in range(count):
    data = client.build_full_state_message() if i == 0 else client.build_heartbeat_message()
    answer = client.send(data)
    print(json.dumps({"flags": answer.flags, "error": answer.error_response.error_message,
                      "uid": answer.instance_uid.hex()}), flush=True)
