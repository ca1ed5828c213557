#!/usr/bin/env bash
# What an hourly retention round on an old, large store costs the acknowledgements (issue 9,
# part 2 F8 and part 3): a round runs at the agent's start and every hour, through the writer.
#
#   bash tests/bench/retention-scale.sh [HELD] [PATIENTS] [SECONDS]   # default 1000000 300000 30
#
# 1. The release agent creates its store (one MLLP listener, no masters) and stops.
# 2. `sqlite3` fills it as a store a year and more old would be: HELD held items
#    (`patient-unknown`, never pruned), each with one delivery attempt 500 days old (its last,
#    never pruned), 5,000 of them with a second, older one (due); PATIENTS remembered Patients,
#    one in 60 not seen for 400 days (due), the others seen today.
# 3. The agent starts on a copy of that store (its first pruning round starts at once) while a
#    probe sends one ORU^R01 every 10 ms on one connection for SECONDS and times each ACK.
# Prints, per build, the probe's ACK latencies (p50, p99, max, how many took over 100 ms, and
# when each over 50 ms was sent, seconds into the probe, with its milliseconds) and
# ACK codes, what the round pruned (from the agent's log), and the seconds from the start until
# the round's last kind (Patients) was logged (`round_s`; null if not within 300 s more).
# Environment: TSUNAGI_BIN (else target/release/tsunagi, built if missing), TSUNAGI_BIN_BEFORE
# (a second build, run on its own copy in the same run, reported as "tsunagi-before"); needs
# `sqlite3` (Debian's package).
set -euo pipefail
held="${1:-1000000}"
patients="${2:-300000}"
seconds="${3:-30}"
source "$(dirname "$0")/mllp-common.sh"
command -v sqlite3 >/dev/null || { echo "skipped: sqlite3 not installed"; exit 0; }

oru_template "$work/oru.hl7"
port="$(free_port)"
agent_config "$work" "$port"
TSUNAGI_LOG=warn "$bin" run --config "$work/tsunagi.toml" 2>>"$work/agent.log" &
pid=$!
wait_port "$port" || { echo "the agent did not listen"; exit 1; }
kill -TERM "$pid"; wait "$pid" 2>/dev/null || true

now=$(($(date +%s) * 1000))
day=86400000
sqlite3 "$work/data/tsunagi.db" >/dev/null <<EOF
PRAGMA journal_mode = WAL;
BEGIN;
INSERT INTO inbox (source, origin, format, content_hash, size, raw, received_at, state, processed_at)
  VALUES ('lab', 'seed', 'hl7v2', 'seed', 0, NULL, $now, 'processed', $now);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $held)
INSERT INTO outbox (inbox_id, idempotency_key, resource_type, patient_ref, state, hold_reason,
                    created_at, updated_at)
  SELECT 1, printf('%064x', i), 'Bundle', printf('Patient/h%07d', i), 'held', 'patient-unknown',
         $now - 500 * $day, $now - 500 * $day FROM n;
INSERT INTO attempt (outbox_id, at, outcome) SELECT id, $now - 501 * $day, 'transient'
  FROM outbox WHERE id <= 5000;
INSERT INTO attempt (outbox_id, at, outcome) SELECT id, $now - 500 * $day, 'transient' FROM outbox;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $patients)
INSERT INTO patient (reference, resource, inbox_id, updated_at)
  SELECT printf('Patient/p%07d', i), '{"resourceType":"Patient"}', 1,
         CASE WHEN i % 60 = 0 THEN $now - 400 * $day ELSE $now END FROM n;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
EOF

# probe PORT: one message every 10 ms on one connection for $seconds; prints JSON.
probe() {
  python3 - "$1" "$seconds" "$work/oru.hl7" <<'EOF'
import json, socket, sys, time
port, seconds, template = int(sys.argv[1]), float(sys.argv[2]), open(sys.argv[3], "rb").read()
s = socket.create_connection(("127.0.0.1", port))
began = time.monotonic()
lat, slow, codes, n, end = [], [], {}, 0, began + seconds
while time.monotonic() < end:
    n += 1
    msg = template.replace(b"|X|P|", b"|RS%07d|P|" % n, 1)
    t = time.monotonic()
    s.sendall(b"\x0b" + msg + b"\x1c\x0d")
    buf = b""
    while b"\x1c\x0d" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise SystemExit("the agent closed the connection")
        buf += chunk
    lat.append((time.monotonic() - t) * 1000)
    if lat[-1] > 50:
        slow.append([round(t - began, 2), round(lat[-1])])
    code = buf.split(b"MSA|", 1)[1][:2].decode() if b"MSA|" in buf else "none"
    codes[code] = codes.get(code, 0) + 1
    time.sleep(max(0.0, 0.01 - (time.monotonic() - t)))
lat.sort()
pct = lambda q: round(lat[min(len(lat) - 1, int(q * len(lat)))], 2)
print(json.dumps({"sent": n, "codes": codes, "p50_ms": pct(0.5), "p99_ms": pct(0.99),
                  "max_ms": round(lat[-1], 1), "over_100ms": sum(1 for x in lat if x > 100),
                  "over_50ms_at_s_ms": slow}))
EOF
}

run() { # name binary
  local dir="$work/$1" p
  mkdir -p "$dir/terminal"
  cp -r "$work/data" "$dir/data"
  p="$(free_port)"
  sed "s/127.0.0.1:$port/127.0.0.1:$p/" "$work/tsunagi.toml" >"$dir/tsunagi.toml"
  local began; began="$(date +%s.%N)"
  TSUNAGI_LOG=info "$2" run --config "$dir/tsunagi.toml" 2>"$dir/agent.log" &
  local agent=$!
  ( until grep -q 'table="*patient' "$dir/agent.log"; do sleep 0.1; done
    date +%s.%N >"$dir/round-ended" ) &
  wait_port "$p" || { echo "the agent did not listen"; exit 1; }
  local out; out="$(probe "$p")"
  for _ in $(seq 3000); do [[ -f "$dir/round-ended" ]] && break; sleep 0.1; done
  kill -TERM "$agent"; wait "$agent" 2>/dev/null || true
  local round="null"
  [[ -f "$dir/round-ended" ]] && round="$(python3 -c "print(round($(cat "$dir/round-ended") - $began, 2))")"
  local pruned
  pruned="$(grep -o 'table="*[a-z]*"* count=[0-9]*' "$dir/agent.log" | tr -d '"' | tr '\n' ' ' || true)"
  echo "{\"build\":\"$1\",\"held\":$held,\"patients\":$patients,\"probe\":$out,\"pruned\":\"$pruned\",\"round_s\":$round}"
  rm -rf "$dir"
}

if [[ -n "${TSUNAGI_BIN_BEFORE:-}" ]]; then run tsunagi-before "$TSUNAGI_BIN_BEFORE"; fi
run tsunagi "$bin"
