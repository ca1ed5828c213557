"""Load for tsunagi-fleet with the official OpAMP protobufs: AGENTS simulated agents (UUIDv4
instance_uids, a full state each, then heartbeats with health figures) posted by THREADS
threads over keep-alive connections for ROUNDS rounds. Prints the messages per second reached
(the client, Python, is usually the limit). Loopback only: refuses any other URL.

Usage: python load.py URL TOKEN AGENTS ROUNDS THREADS"""
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import requests
from opentelemetry._opamp.proto import anyvalue_pb2, opamp_pb2

url, token = sys.argv[1], sys.argv[2]
agents, rounds, threads = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
if urlparse(url).hostname not in ("127.0.0.1", "localhost", "::1"):
    sys.exit("load.py sends to loopback only")


def kv(k, **v):
    return anyvalue_pb2.KeyValue(key=k, value=anyvalue_pb2.AnyValue(**v))


def message(uid, seq, full):
    m = opamp_pb2.AgentToServer(instance_uid=uid, sequence_num=seq, capabilities=0x2805)
    m.health.healthy = True
    m.health.status = "ready"
    m.health.attributes.extend([kv("tsunagi.backlog", int_value=seq % 7)])
    if full:
        m.agent_description.identifying_attributes.extend(
            [kv("service.name", string_value="load-agent"), kv("service.version", string_value="0.1.0")])
        m.agent_description.non_identifying_attributes.extend(
            [kv("tsunagi.institution_number", string_value="%010d" % (seq + 1))])
    return m.SerializeToString()


uids = [uuid.uuid4().bytes for _ in range(agents)]
headers = {"Content-Type": "application/x-protobuf", "Authorization": "Bearer " + token}


def worker(part):
    s = requests.Session()
    n = 0
    for r in range(rounds):
        for uid in uids[part::threads]:
            resp = s.post(url, data=message(uid, r, r == 0), headers=headers, timeout=10)
            resp.raise_for_status()
            n += 1
    return n


start = time.monotonic()
with ThreadPoolExecutor(threads) as ex:
    total = sum(ex.map(worker, range(threads)))
secs = time.monotonic() - start
print(f"{total} messages from {agents} agents in {secs:.1f} s: {total / secs:.0f} messages/s")
