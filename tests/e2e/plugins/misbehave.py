#!/usr/bin/env python3
"""Test plugins for tsunagi's exec sources (protocol v1): one good, the others misbehaving.

Usage: misbehave.py MODE [N]
  counter N      emits N Condition bundles (ids r0..r{N-1}), a checkpoint every 50, then idles
  crash-start    exits with status 3 before its hello
  crash-mid      emits 3 records, then dies (status 1)
  hang           says hello, then nothing
  garbage        says hello, then writes lines that are not JSON
  huge           says hello, writes a 50 MB line, then a good record, then idles
  wrong-version  says hello with protocol 2
  flood          floods stderr, emitting a record now and then
  deaf           never reads its stdin (the agent's acknowledgements)
"""

import json
import os
import sys
import threading
import time


def send(msg):
    sys.stdout.write(json.dumps(msg, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def hello(protocol=1):
    send({"type": "hello", "protocol": protocol, "name": "misbehave", "version": "0",
          "role": "source", "produces": ["fhir-json"]})


def start():
    line = sys.stdin.readline()
    if not line:
        os._exit(0)
    return json.loads(line).get("checkpoint")


def exit_on_eof():
    def follow():
        for _ in sys.stdin:
            pass
        os._exit(0)
    threading.Thread(target=follow, daemon=True).start()


def bundle(i):
    pid = f"pt{i:06}"
    return {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": f"urn:uuid:00000000-0000-4000-8000-{i:012}",
         "resource": {"resourceType": "Patient", "id": pid,
                      "identifier": [{"system": "http://jpfhir.jp/fhir/clins/Idsystem/JP_Insurance_memberID",
                                      "value": f"00012345:abc:{i}:01"}],
                      "name": [{"text": "Plugin Test"}], "gender": "female", "birthDate": "1990-01-01"}},
        {"fullUrl": f"urn:uuid:00000000-0000-4000-9000-{i:012}",
         "resource": {"resourceType": "Condition", "id": f"c{i}",
                      "identifier": [{"system": "http://jpfhir.jp/fhir/core/IdSystem/resourceInstance-identifier", "value": f"c{i}"}],
                      "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
                      "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}]},
                      "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "encounter-diagnosis"}]}],
                      "code": {"coding": [{"system": "http://medis.or.jp/CodeSystem/master-disease-keyNumber", "code": "20054174"}], "text": "gastritis"},
                      "subject": {"reference": f"Patient/{pid}"}, "onsetDateTime": "2024-04-01"}}]}


def record(prefix, i):
    send({"type": "record", "id": f"{prefix}{i}", "format": "fhir-json", "data": bundle(i)})


def idle():
    while True:
        send({"type": "heartbeat"})
        time.sleep(0.5)


def counter(n):
    hello()
    cp = start() or {}
    exit_on_eof()
    i = cp.get("next", 0)
    while i < n:
        record("r", i)
        i += 1
        if i % 50 == 0 or i == n:
            send({"type": "checkpoint", "state": {"next": i}})
    idle()


def main():
    mode = sys.argv[1]
    if mode == "counter":
        return counter(int(sys.argv[2]))
    if mode == "crash-start":
        sys.exit(3)
    if mode == "wrong-version":
        hello(protocol=2)
        time.sleep(60)
        return
    hello()
    start()
    if mode == "deaf":
        while True:  # the same record again and again: stored once, acknowledged each time
            record("d", 0)
    exit_on_eof()
    if mode == "crash-mid":
        for i in range(3):
            record("m", i)
        time.sleep(0.2)
        os._exit(1)
    elif mode == "hang":
        time.sleep(3600)
    elif mode == "garbage":
        while True:
            sys.stdout.write("this is not json <<<\n")
            sys.stdout.flush()
            time.sleep(0.01)
    elif mode == "huge":
        sys.stdout.write('{"type":"record","id":"big","format":"fhir-json","data":"')
        chunk = "x" * (1 << 20)
        for _ in range(50):
            sys.stdout.write(chunk)
        sys.stdout.write('"}\n')
        record("h", 1)
        idle()
    elif mode == "flood":
        i = 0
        while True:
            for _ in range(1000):
                sys.stderr.write("INFO: flooding the log\n")
            sys.stderr.flush()
            if i < 3:
                record("f", i)
            i += 1
            send({"type": "heartbeat"})
            time.sleep(0.05)


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        sys.exit(0)
