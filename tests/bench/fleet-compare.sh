#!/usr/bin/env bash
# tsunagi-fleet and the agent's reporting, measured (issue 13), release builds:
# 1. tsunagi-fleet's OpAMP messages/s from AGENTS simulated agents (the official Python OpAMP
#    protobufs, tests/e2e/clients/opamp/load.py: a full state then heartbeats), with 1 and with
#    2 load processes (the Python client is the usual limit), and its peak RSS holding them;
# 2. the agent's extra CPU time and memory for reporting: the same idle agent run SECS seconds
#    without [fleet]/[telemetry], then with [fleet] every 1 s and [telemetry] every 1 s (30x and
#    60x the defaults, to make the cost measurable), CPU from /proc/PID/stat.
#
#   bash tests/bench/fleet-compare.sh [AGENTS] [SECS]     # default 10000, 60
#
# Needs tests/e2e/clients/install.sh (the venv with opentelemetry-opamp-client). Prints JSON lines.
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
agents="${1:-10000}"
secs="${2:-60}"
py="$here/target/mllp-clients-venv/bin/python"
[[ -x "$py" ]] || { echo "run tests/e2e/clients/install.sh first" >&2; exit 1; }
cargo build --release -p tsunagi -p tsunagi-fleet --quiet --manifest-path "$here/Cargo.toml"
bin="$here/target/release"
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
token="bench-agent-token-0123456789"
printf '%s' "$token" >"$work/agent.token"

hwm() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# 1. the fleet server
"$bin/tsunagi-fleet" --listen 127.0.0.1:0 --db "$work/fleet.db" --agent-token-file "$work/agent.token" \
  >"$work/fleet.out" 2>/dev/null &
fleet_pid=$!
for _ in $(seq 100); do grep -q listening "$work/fleet.out" 2>/dev/null && break; sleep 0.1; done
url="$(sed -n 's/^tsunagi-fleet listening on //p' "$work/fleet.out")"
one="$("$py" "$here/tests/e2e/clients/opamp/load.py" "$url/v1/opamp" "$token" "$agents" 2 8)"
echo "{\"fleet\":\"1 load process\",\"agents\":$agents,\"result\":\"$one\",\"fleet_peak_rss_kb\":$(hwm $fleet_pid)}"
half=$((agents / 2))
start=$(date +%s.%N)
"$py" "$here/tests/e2e/clients/opamp/load.py" "$url/v1/opamp" "$token" "$half" 4 8 >"$work/l1" &
"$py" "$here/tests/e2e/clients/opamp/load.py" "$url/v1/opamp" "$token" "$half" 4 8 >"$work/l2" &
wait %2 %3 2>/dev/null || wait
end=$(date +%s.%N)
rate="$(python3 -c "print(round(2*$half*4/($end-$start)))")"
echo "{\"fleet\":\"2 load processes\",\"messages\":$((2 * half * 4)),\"messages_per_s\":$rate,\"fleet_peak_rss_kb\":$(hwm $fleet_pid),\"agents_held\":$((agents + 2 * half))}"

# 2. the agent's reporting cost
otlp_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
python3 -c "
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get('Content-Length', '0')))
        self.send_response(200); self.send_header('Content-Length', '0'); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(('127.0.0.1', $otlp_port), H).serve_forever()" &
run_agent() {  # $1: name, $2: extra config; prints cpu ticks and RSS after $secs s
  local dir="$work/$1"
  mkdir -p "$dir/terminal" "$dir/inbox"
  cat >"$dir/tsunagi.toml" <<EOT
[agent]
data_dir = "agent"
institution_number = "1318814790"
disk_reserve_mb = 0
[[source.folder]]
name = "drop"
path = "inbox"
mode = "move"
[ops]
listen = ""
[uplink]
route = "shared-folder"
[uplink.shared_folder]
dir = "terminal"
$2
EOT
  "$bin/tsunagi" run --config "$dir/tsunagi.toml" 2>"$dir/agent.log" &
  local pid=$!
  sleep 3
  kill -0 $pid 2>/dev/null || { echo "the agent did not start: $(tail -3 "$dir/agent.log")" >&2; return 1; }
  local t0; t0=$(cpu_ticks $pid)
  sleep "$secs"
  local t1; t1=$(cpu_ticks $pid)
  echo "{\"agent\":\"$1\",\"seconds\":$secs,\"cpu_ms\":$(( (t1 - t0) * 1000 / $(getconf CLK_TCK) )),\"peak_rss_kb\":$(hwm $pid)}"
  kill -TERM $pid; wait $pid 2>/dev/null || true
}
run_agent quiet ""
run_agent reporting "[fleet]
opamp_url = \"$url/v1/opamp\"
interval_secs = 1
token = \"$token\"
[telemetry]
otlp_endpoint = \"http://127.0.0.1:$otlp_port/v1/metrics\"
interval_secs = 1"
