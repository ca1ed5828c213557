#!/usr/bin/env bash
# Checks the operators' kit with the tools that read it: `promtool check rules` on the alert
# rules (Debian's prometheus package), and that the dashboard is JSON with a query per panel.
# Prints "skipped" for a tool that is not installed. Every series the kit names is checked
# against the real /metrics of the agent and tsunagi-fleet by tests/e2e/ops_page.rs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if command -v promtool >/dev/null; then
  promtool check rules "$here/prometheus-alerts.yml"
else
  echo "operators: promtool not installed (Debian package prometheus); rule check skipped"
fi
python3 - "$here/grafana-dashboard.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
panels = [p for p in d["panels"] if p["type"] != "row"]
assert panels, "no panels"
for p in panels:
    assert p["targets"] and all(t["expr"].strip() for t in p["targets"]), p["title"]
print(f"operators: grafana-dashboard.json: {len(panels)} panels, each with a query")
PY
