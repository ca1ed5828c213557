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
here="$(cd "$(dirname "$0")/../.." && pwd)"
tools="${TSUNAGI_SHARED:-$here/../shared}/tools"
if [[ ! -f "$tools/mllp-load.py" ]]; then
  echo "skipped: $tools/mllp-load.py not found (../shared absent)"
  exit 0
fi
total="${1:-1000000}"
rounds="${2:-20}"
per_round=$((total / rounds))
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

[uplink]
route = "shared-folder"
[uplink.shared_folder]
dir = "terminal"
EOF
TSUNAGI_LOG=warn "$bin" run --config "$work/tsunagi.toml" 2>>"$work/agent.log" &
pid=$!
for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

received() {
  "$bin" status --json --data "$work/data" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin).get("inputs_received", 0))'
}
kib() { awk -v k="$1" '$1 == k":" { print $2 }' "/proc/$pid/status"; }
db_bytes() { cat "$work"/data/tsunagi.db "$work"/data/tsunagi.db-wal 2>/dev/null | wc -c; }
sample() {
  printf '{"messages":%d,"round_msg_per_s":%s,"round_p99_ack_ms":%s,"rss_kib":%s,"peak_rss_kib":%s,"db_bytes":%s}\n' \
    "$1" "$2" "$3" "$(kib VmRSS)" "$(kib VmHWM)" "$(db_bytes)"
}

sleep 5
sample 0 0 0
sent=0
for _ in $(seq "$rounds"); do
  out="$(python3 "$tools/mllp-load.py" 127.0.0.1 "$port" --conns 8 --per-conn $((per_round / 8)) \
    --template "$work/oru.hl7" --encoding iso2022_jp)"
  sent=$((sent + per_round / 8 * 8))
  for _ in $(seq 1200); do [[ "$(received)" == "0" ]] && break; sleep 0.5; done
  field() { printf '%s' "$out" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
  [[ "$(field aa)" == "$((per_round / 8 * 8))" ]] || { echo "not every message was accepted: $out"; exit 1; }
  sample "$sent" "$(field msg_per_s)" "$(field p99_ms)"
done
sleep 10
echo "{\"idle_after_soak_rss_kib\":$(kib VmRSS),\"db_bytes_per_message\":$(( $(db_bytes) / sent ))}"
kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
