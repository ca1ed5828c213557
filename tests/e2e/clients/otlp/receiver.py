"""A minimal OTLP/HTTP metrics receiver built on the official Python protobufs of the
opentelemetry-proto package: it decodes every ExportMetricsServiceRequest tsunagi posts with
`metrics_service_pb2`, appends it as one JSON line (proto3 JSON, plus the request's path, content
type and whether it carried the expected bearer token) to a file, and answers an empty
ExportMetricsServiceResponse. Used by tests/e2e/telemetry.rs.

Usage: python receiver.py PORT_FILE LOG_FILE TOKEN
Writes the port it listens on (127.0.0.1 only) to PORT_FILE."""
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2

port_file, log_file, token = sys.argv[1], sys.argv[2], sys.argv[3]


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        msg = metrics_service_pb2.ExportMetricsServiceRequest()
        msg.ParseFromString(body)
        record = MessageToDict(msg, preserving_proto_field_name=True)
        record["_path"] = self.path
        record["_content_type"] = self.headers.get("Content-Type")
        record["_token_ok"] = self.headers.get("Authorization") == "Bearer " + token
        with open(log_file, "a") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
        data = metrics_service_pb2.ExportMetricsServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *a):
        pass


server = HTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.replace(port_file + ".tmp", port_file)
server.serve_forever()
