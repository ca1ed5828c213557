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
backlog="${1:-100000}"
probe="${2:-5000}"
source "$(dirname "$0")/mllp-common.sh"

oru_template "$work/oru.hl7"
port="$(free_port)"
agent_config "$work" "$port"
start() {
  TSUNAGI_LOG=warn "$bin" run --config "$work/tsunagi.toml" 2>>"$work/agent.log" &
  pid=$!
  wait_port "$port" || { echo "the agent did not listen"; exit 1; }
}
received() { inputs_received "$work/data"; }
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
