#!/usr/bin/env bash
# MLLP acknowledgement latency while a backlog of stored inputs is being processed (issue 9,
# part 3: "the ACK path must not queue behind processing commits").
#
#   bash tests/bench/mllp-backlog.sh [BACKLOG] [PROBE]   # default 100000 stored, 5000 probed
#
# 1. The release agent takes BACKLOG ORU^R01 messages (32 connections) and processes them; with
#    no masters loaded each ends as one held `unmapped` item, as in a fresh install.
# 2. It is stopped, and `tsunagi replay --held` makes every one of them `received` again: a
#    backlog of BACKLOG stored inputs.
# 3. It is started again, and while its processor works through the backlog the load generator
#    (../shared/tools/mllp-load.py, 8 connections each waiting for its ACK) sends PROBE more and
#    reports their ACK latencies. The backlog left at the start and at the end of the probe is
#    printed, so the run shows that the probe really ran during processing.
# Environment: TSUNAGI_BIN (an agent binary; else target/release/tsunagi, built if missing).
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
tools="${TSUNAGI_SHARED:-$here/../shared}/tools"
if [[ ! -f "$tools/mllp-load.py" ]]; then
  echo "skipped: $tools/mllp-load.py not found (../shared absent)"
  exit 0
fi
backlog="${1:-100000}"
probe="${2:-5000}"
if [[ -z "${TSUNAGI_BIN:-}" ]]; then
  cargo build --release -p tsunagi --quiet --manifest-path "$here/Cargo.toml"
fi
bin="${TSUNAGI_BIN:-${CARGO_TARGET_DIR:-$here/target}/release/tsunagi}"
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

printf '%s\r' \
  'MSH|^~\&|LAB|HOSP|TSUNAGI|CLINS|20250401120000||ORU^R01^ORU_R01|X|P|2.5||||||~ISO IR87||ISO 2022-1994' \
  'PID|1||8800000001^^^^PI||試験^太郎^^^^^L^I||19600203|M|||東京都千代田区1-1^^^^1000001' \
  'PV1|1|O|01^内科' \
  'ORC|RE|ORD0001|||||||20250401100000' \
  'OBR|1|ORD0001||3A015000001827101^総蛋白^JC10|||20250401093000' \
  'OBX|1|NM|3A015000001827101^総蛋白^JC10||7.1|g/dL|6.5-8.0|N|||F' \
  | python3 -c 'import sys; sys.stdout.buffer.write(sys.stdin.read().encode("iso2022_jp"))' \
  > "$work/oru.hl7"

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
mkdir -p "$work/terminal"
cat >"$work/tsunagi.toml" <<EOF
[agent]
data_dir = "data"
institution_number = "1318814790"
disk_reserve_mb = 0
department = ["01", "内科"]

[[source.mllp]]
name = "lab"
listen = "127.0.0.1:$port"
max_connections = 256

[uplink]
route = "shared-folder"
[uplink.shared_folder]
dir = "terminal"
EOF
start() {
  TSUNAGI_LOG=warn "$bin" run --config "$work/tsunagi.toml" 2>>"$work/agent.log" &
  pid=$!
  for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0; sleep 0.1; done
  echo "the agent did not listen"; exit 1
}
received() {
  "$bin" status --json --data "$work/data" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin).get("inputs_received", 0))'
}
load() { python3 "$tools/mllp-load.py" 127.0.0.1 "$port" --conns "$1" --per-conn $(($2 / $1)) --template "$work/oru.hl7" --encoding iso2022_jp; }

start
load 32 "$backlog" >/dev/null
for _ in $(seq 1200); do [[ "$(received)" == "0" ]] && break; sleep 0.5; done
kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
"$bin" replay --held --data "$work/data" >/dev/null
before="$(received)"
start
out="$(load 8 "$probe")"
after="$(received)"
kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
echo "{\"backlog_at_probe_start\":$before,\"backlog_at_probe_end\":$after,\"probe\":$out}"
