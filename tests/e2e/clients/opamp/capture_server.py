"""A minimal OpAMP server (HTTP transport) built on the official Python protobufs of the
opentelemetry-opamp-client package: it decodes every AgentToServer that tsunagi posts with
`opamp_pb2`, appends it as one JSON line to a file, and answers a ServerToAgent. It asks for the
full state (ReportFullState) once, in its answer to the message whose sequence_num is
--full-state-at. Used by tests/e2e/fleet.rs.

Usage: python capture_server.py PORT_FILE LOG_FILE [--port N] [--full-state-at SEQ]
Writes the port it listens on to PORT_FILE (127.0.0.1 only)."""
import argparse
import json
from http.server import BaseHTTPRequestHandler, HTTPServer

from google.protobuf.json_format import MessageToDict
from opentelemetry._opamp.proto import opamp_pb2

p = argparse.ArgumentParser()
p.add_argument("port_file")
p.add_argument("log_file")
p.add_argument("--port", type=int, default=0)
p.add_argument("--full-state-at", type=int, default=-1)
args = p.parse_args()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        msg = opamp_pb2.AgentToServer()
        msg.ParseFromString(body)
        record = MessageToDict(msg, preserving_proto_field_name=True)
        record["_content_type"] = self.headers.get("Content-Type")
        record["_path"] = self.path
        with open(args.log_file, "a") as f:
            f.write(json.dumps(record) + "\n")
        answer = opamp_pb2.ServerToAgent(
            instance_uid=msg.instance_uid,
            capabilities=opamp_pb2.ServerCapabilities_AcceptsStatus
            | opamp_pb2.ServerCapabilities_AcceptsEffectiveConfig)
        if msg.sequence_num == args.full_state_at:
            answer.flags = opamp_pb2.ServerToAgentFlags_ReportFullState
        data = answer.SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *a):
        pass


HTTPServer.allow_reuse_address = True
server = HTTPServer(("127.0.0.1", args.port), Handler)
with open(args.port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.replace(args.port_file + ".tmp", args.port_file)
server.serve_forever()
