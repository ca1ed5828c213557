"""Load generator for tests/bench/fhir-compare.sh: C clients, each sending N requests one after
the other and waiting for each answer (FHIR: POST [base]/Condition over a kept-alive HTTP/1.1
connection, a unique X-Request-Id each; MLLP: one framed message, wait for the ACK).

Usage: python fhir_load.py fhir|mllp HOST PORT --conns C --per-conn N
Prints one JSON line: {"requests", "ok", "seconds", "per_sec"}; exits 1 if any answer was not
a success (201 / AA).
"""
import argparse
import http.client
import json
import socket
import threading
import time

CONDITION = {
    "resourceType": "Condition",
    "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
    "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}]},
    "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "encounter-diagnosis"}]}],
    "code": {"coding": [{"system": "http://medis.or.jp/CodeSystem/master-disease-keyNumber", "code": "20054174", "display": "胃炎"}], "text": "胃炎"},
    "subject": {"reference": "Patient/bench"},
    "onsetDateTime": "2024-04-01",
}


def fhir_client(host, port, c, n, ok):
    conn = http.client.HTTPConnection(host, port, timeout=60)
    for i in range(n):
        body = dict(CONDITION, id=f"c{c}-{i}")
        conn.request("POST", "/fhir/Condition", json.dumps(body).encode(), {
            "Content-Type": "application/fhir+json", "X-Request-Id": f"bench-{c}-{i}"})
        r = conn.getresponse()
        r.read()
        if r.status == 201:
            ok[c] += 1


def mllp_client(host, port, c, n, ok):
    s = socket.create_connection((host, port), timeout=60)
    for i in range(n):
        msg = (f"MSH|^~\\&|EHR|HOSP|TSUNAGI|CLINS|20250401120000||ADT^A08^ADT_A01|B{c}-{i}|P|2.5||||||UNICODE UTF-8\r"
               f"EVN||20250401120000\rPID|||P{c:03}{i:06}^^^^PI||試験^花子^^^^^L^I||19870605|F\r")
        s.sendall(b"\x0b" + msg.encode() + b"\x1c\r")
        ack = b""
        while not ack.endswith(b"\x1c\r"):
            chunk = s.recv(4096)
            if not chunk:
                raise SystemExit("connection closed before the ACK")
            ack += chunk
        if b"MSA|AA|" in ack:
            ok[c] += 1


def main():
    p = argparse.ArgumentParser()
    p.add_argument("kind", choices=["fhir", "mllp"])
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--conns", type=int, default=8)
    p.add_argument("--per-conn", type=int, default=500)
    a = p.parse_args()
    client = fhir_client if a.kind == "fhir" else mllp_client
    ok = [0] * a.conns
    threads = [threading.Thread(target=client, args=(a.host, a.port, c, a.per_conn, ok)) for c in range(a.conns)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.monotonic() - start
    total = a.conns * a.per_conn
    print(json.dumps({"requests": total, "ok": sum(ok), "seconds": round(secs, 3), "per_sec": round(total / secs)}))
    raise SystemExit(0 if sum(ok) == total else 1)


main()
