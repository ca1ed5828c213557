#!/usr/bin/env python3
# A minimal tsunagi source plugin (protocol v1). It sends every line of an NDJSON file (one FHIR
# resource or Bundle per line) as a record, and remembers how far it got in its checkpoint.
import json, os, sys, threading, time

def send(msg):
    print(json.dumps(msg, ensure_ascii=False), flush=True)

def stop_when_stdin_closes():
    for line in sys.stdin:      # the agent's acks: {"type":"ack","id":...,"outcome":...}
        pass
    os._exit(0)                 # stdin closed: the agent wants us to stop

send({"type": "hello", "protocol": 1, "name": "minimal", "version": "1.0",
      "role": "source", "produces": ["fhir-json"]})
start = json.loads(sys.stdin.readline())            # {"type":"start","checkpoint":...}
done = (start["checkpoint"] or {}).get("lines", 0)  # null on the first run
threading.Thread(target=stop_when_stdin_closes, daemon=True).start()

with open(sys.argv[1], encoding="utf-8") as f:
    for n, line in enumerate(f, start=1):
        if n <= done:
            continue                                 # sent before the checkpoint
        resource = json.loads(line)
        send({"type": "record", "id": f"line-{n}", "format": "fhir-json", "data": resource})
        send({"type": "checkpoint", "state": {"lines": n}})

while True:                                          # nothing new: say so now and then
    send({"type": "heartbeat"})
    time.sleep(5)
