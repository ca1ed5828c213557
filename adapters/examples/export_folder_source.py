#!/usr/bin/env python3
"""A tsunagi exec plugin (protocol v1, role "source"): reads a vendor-style export folder.

Every file ``*.json`` (one FHIR Bundle) or ``*.hl7`` (one HL7 v2 message) in the export folder
is one record. Files are taken in name order; the record id is the file name (stable: the same
file always has the same id). The checkpoint is the name of the last file emitted, so after a
restart the plugin continues after it. Files already emitted stay where they are: the plugin
never changes the vendor's folder.

Usage: export_folder_source.py EXPORT_DIR [--poll SECONDS] [--once]

Standard library only. Logs go to stderr with a level prefix, in ASCII and without patient data.
"""

import json
import os
import sys
import threading
import time

PROTOCOL = 1


def send(msg):
    sys.stdout.write(json.dumps(msg, ensure_ascii=False, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def log(level, text):
    sys.stderr.write(f"{level}: {text}\n")
    sys.stderr.flush()


def read_start():
    """The agent's first line: {"type":"start","protocol":1,"source":...,"checkpoint":...}."""
    line = sys.stdin.readline()
    if not line:
        sys.exit(0)  # the agent stopped before starting us
    start = json.loads(line)
    if start.get("type") != "start":
        log("ERROR", "expected a start message")
        sys.exit(2)
    return start.get("checkpoint")


def follow_acks(acked):
    """Reads the agent's lines; EOF on stdin means "stop": exit at once."""
    for line in sys.stdin:
        try:
            msg = json.loads(line)
        except ValueError:
            log("WARN", "a line from the agent is not JSON; ignored")
            continue
        if msg.get("type") == "ack":
            acked.add(msg["id"])
    os._exit(0)


def record_of(path, name):
    with open(path, "rb") as f:
        raw = f.read()
    if name.endswith(".json"):
        return {"type": "record", "id": name, "format": "fhir-json", "data": json.loads(raw)}
    text = raw.decode("utf-8").replace("\r\n", "\r").replace("\n", "\r")
    return {"type": "record", "id": name, "format": "hl7v2", "data": text}


def main():
    args = sys.argv[1:]
    if not args:
        log("ERROR", "usage: export_folder_source.py EXPORT_DIR [--poll SECONDS] [--once]")
        sys.exit(2)
    folder = args[0]
    poll = float(args[args.index("--poll") + 1]) if "--poll" in args else 1.0
    once = "--once" in args
    send({"type": "hello", "protocol": PROTOCOL, "name": "export-folder",
          "version": "1.0.0", "role": "source", "produces": ["fhir-json", "hl7v2"]})
    checkpoint = read_start()
    last = (checkpoint or {}).get("last", "")
    log("INFO", "resuming after the checkpoint" if last else "starting from the beginning")
    acked = set()
    threading.Thread(target=follow_acks, args=(acked,), daemon=True).start()
    while True:
        names = sorted(n for n in os.listdir(folder)
                       if n.endswith((".json", ".hl7")) and n > last)
        for name in names:
            try:
                send(record_of(os.path.join(folder, name), name))
            except (OSError, ValueError) as e:
                log("WARN", f"a file could not be read ({type(e).__name__}); skipped")
            last = name
            send({"type": "checkpoint", "state": {"last": last}})
        if once and not names:
            return
        send({"type": "heartbeat"})
        time.sleep(poll)


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        sys.exit(0)
