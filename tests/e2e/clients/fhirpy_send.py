"""Sends FHIR inputs to tsunagi's [[source.fhir]] endpoint with fhirpy (a client nobody here wrote).

Usage: python fhirpy_send.py BASE_URL DATA.json
DATA: {"resources": [...], "transaction": {Bundle}}. Resources with an id are saved with PUT,
others with POST (fhirpy decides). Prints one JSON line: what the endpoint answered.
"""
import json
import sys

from fhirpy import SyncFHIRClient

base, data_path = sys.argv[1], sys.argv[2]
with open(data_path, encoding="utf-8") as f:
    data = json.load(f)
client = SyncFHIRClient(base)
cap = client.execute("metadata", method="get")
out = {"fhirVersion": cap["fhirVersion"], "saved": []}
for r in data["resources"]:
    body = {k: v for k, v in r.items() if k != "resourceType"}
    res = client.resource(r["resourceType"], **body)
    res.save()
    out["saved"].append(f'{res["resourceType"]}/{res["id"]}')
answer = client.execute("", method="post", data=data["transaction"])
out["transaction"] = [answer["type"]] + [e["response"]["status"] for e in answer["entry"]]
print(json.dumps(out))
