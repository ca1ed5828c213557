#!/usr/bin/env bash
# A soak: TOTAL MLLP messages in ROUNDS rounds into one running release agent, with its memory
# and database size after each round (issue 9, part 3: "flat (no growth) over a soak of
# 1,000,000 MLLP messages, with the database size bounded by a documented retention").
#
#   bash tests/bench/mllp-soak.sh [TOTAL] [ROUNDS]    # default 1000000 in 20 rounds
#
# Each round sends TOTAL/ROUNDS ORU^R01 over 8 connections, each waiting for its ACK
# (../shared/tools/mllp-load.py), then waits until the processor has caught up, and prints one
# JSON line: messages so far, the round's msg/s and p99 ACK, the agent's RSS now (VmRSS) and its
# peak (VmHWM), and the database's size (tsunagi.db + its WAL). Without masters each message ends
# as one held `unmapped` lab item (a fresh install), so every input and its held row are kept:
# nothing here is old enough for `[store.retention]` or `[agent] retention_days` to prune, and
# the database grows by the bytes per message the last line reports, which BENCHMARKS.md turns
# into the bound those settings give.
# Environment: TSUNAGI_BIN (an agent binary; else target/release/tsunagi, built if missing).
set -euo pipefail
total="${1:-1000000}"
rounds="${2:-20}"
per_round=$((total / rounds))
source "$(dirname "$0")/mllp-common.sh"

oru_template "$work/oru.hl7"
port="$(free_port)"
agent_config "$work" "$port"
TSUNAGI_LOG=warn "$bin" run --config "$work/tsunagi.toml" 2>>"$work/agent.log" &
pid=$!
wait_port "$port"

kib() { status_kib "$pid" "$1"; }
db_bytes() { cat "$work"/data/tsunagi.db "$work"/data/tsunagi.db-wal 2>/dev/null | wc -c; }
sample() {
  printf '{"messages":%d,"round_msg_per_s":%s,"round_p99_ack_ms":%s,"rss_kib":%s,"peak_rss_kib":%s,"db_bytes":%s}\n' \
    "$1" "$2" "$3" "$(kib VmRSS)" "$(kib VmHWM)" "$(db_bytes)"
}

# Past the agent's first quiet spell (`hand_back::QUIET`, 10 s): the first sample is the
# settled agent.
sleep 12
sample 0 0 0
sent=0
for _ in $(seq "$rounds"); do
  out="$(python3 "$tools/mllp-load.py" 127.0.0.1 "$port" --conns 8 --per-conn $((per_round / 8)) \
    --template "$work/oru.hl7" --encoding iso2022_jp)"
  sent=$((sent + per_round / 8 * 8))
  for _ in $(seq 1200); do [[ "$(inputs_received "$work/data")" == "0" ]] && break; sleep 0.5; done
  field() { printf '%s' "$out" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
  [[ "$(field aa)" == "$((per_round / 8 * 8))" ]] || { echo "not every message was accepted: $out"; exit 1; }
  sample "$sent" "$(field msg_per_s)" "$(field p99_ms)"
done
# Past the quiet spell after the last round (`hand_back::QUIET`, 10 s).
sleep 15
echo "{\"idle_after_soak_rss_kib\":$(kib VmRSS),\"db_bytes_per_message\":$(( $(db_bytes) / sent ))}"
kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
