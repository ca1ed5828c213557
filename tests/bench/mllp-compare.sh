#!/usr/bin/env bash
# MLLP ingest, side by side in one run (issue 9, part 3): tsunagi against the durable baseline
# receiver (../shared/tools/mllp-baseline-server.py --mode sqlite: one SQLite transaction per
# message, WAL, synchronous=FULL) and the non-durable one (--mode ack), under the same load
# generator (../shared/tools/mllp-load.py: C connections, each waiting for its ACK).
#
#   bash tests/bench/mllp-compare.sh [MESSAGES]        # default 20000, for 8 and 32 connections
#
# Environment: CONNS="8 32" (connection counts); TSUNAGI_BIN (an agent binary to use instead of
# building one; else $CARGO_TARGET_DIR or target/); TSUNAGI_BIN_BEFORE (a second agent binary,
# e.g. one built from an earlier commit, run in the same run and reported as "tsunagi-before").
#
# For tsunagi it also reports the agent's CPU time per message (utime+stime from /proc, from the
# first message until every stored input is processed into the outbox), its idle RSS before the
# load (12 s after the start, once it has settled), its peak RSS (VmHWM), and per thread name
# the CPU time and voluntary context switches per message (`per_message_by_thread`). The agent runs in release mode with the shared-folder uplink
# into a scratch folder (no platform needed), and no masters (HL7 items are held as unmapped or
# sent uncoded as the defaults say, as in a fresh install). Prints one JSON line per case.
set -euo pipefail
total="${1:-20000}"
source "$(dirname "$0")/mllp-common.sh"

compare_template "$work/oru.hl7"

load() { python3 "$tools/mllp-load.py" 127.0.0.1 "$1" --conns "$2" --per-conn $((total / $2)) --template "$work/oru.hl7" --encoding iso2022_jp; }
cpu_ticks() { awk '{print $14, $15}' "/proc/$1/stat"; } # utime stime
# threads PID: one line per live thread, "tid name utime+stime voluntary-switches" (a name may
# hold spaces, so it comes from `comm` with them replaced).
threads() {
  local t
  for t in /proc/"$1"/task/*; do
    echo "${t##*/} $(tr ' ' '_' <"$t/comm") $(awk '{print $14 + $15}' "$t/stat") $(awk '$1 == "voluntary_ctxt_switches:" {print $2}' "$t/status")"
  done 2>/dev/null
}

baseline() { # mode conns
  local port; port="$(free_port)"
  python3 "$tools/mllp-baseline-server.py" "$port" --mode "$1" --db "$work/baseline-$1-$2.db" &
  local pid=$!
  wait_port "$port"
  local out; out="$(load "$port" "$2")"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "{\"receiver\":\"baseline-$1\",\"conns\":$2,\"load\":$out}"
}

agent() { # conns [binary label]
  local bin="${2:-$bin}" label="${3:-tsunagi}"
  local port dir; port="$(free_port)"; dir="$work/$label-$1"
  agent_config "$dir" "$port"
  TSUNAGI_LOG=warn "$bin" run --config "$dir/tsunagi.toml" 2>"$dir/agent.log" &
  local pid=$!
  wait_port "$port"
  # Past the agent's first quiet spell (`hand_back::QUIET`, 10 s): idle RSS is the settled
  # agent's, and handing memory back does not fall inside the measured load.
  sleep 12
  local idle_kib; idle_kib="$(status_kib "$pid" VmRSS)"
  local t0; t0="$(cpu_ticks "$pid")"
  threads "$pid" >"$dir/threads0"
  local out; out="$(load "$port" "$1")"
  # Until every stored input is processed (the processor's CPU counts too).
  for _ in $(seq 600); do
    [[ "$(inputs_received "$dir/data")" == "0" ]] && break
    sleep 0.5
  done
  local t1; t1="$(cpu_ticks "$pid")"
  threads "$pid" >"$dir/threads1"
  local peak_kib; peak_kib="$(status_kib "$pid" VmHWM)"
  local db_bytes; db_bytes="$(du -cb "$dir/data"/tsunagi.db* | tail -1 | cut -f1)"
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  local hz; hz="$(getconf CLK_TCK)"
  python3 - "$out" "$t0" "$t1" "$hz" "$idle_kib" "$peak_kib" "$db_bytes" "$1" "$label" "$dir" <<'PY'
import json, sys
out, t0, t1, hz, idle, peak, db, conns, label, d = sys.argv[1:]
load = json.loads(out)
(u0, s0), (u1, s1) = (map(int, t.split()) for t in (t0, t1))
msgs = max(1, load["aa"])
per_msg = lambda ticks: round(1e6 * ticks / int(hz) / msgs, 1)
def threads(name):
    with open(f"{d}/{name}") as f:
        return {tid: (comm, int(ticks), int(sw)) for tid, comm, ticks, sw in (l.split() for l in f)}
# Per thread name (threads of one name summed), for threads alive at both ends of the load:
# CPU µs and voluntary context switches per message.
before, after = threads("threads0"), threads("threads1")
by_thread = {}
for tid, (comm, ticks, sw) in after.items():
    t, s = before.get(tid, (comm, 0, 0))[1:]
    cpu, switches = by_thread.get(comm, (0, 0))
    by_thread[comm] = (cpu + ticks - t, switches + sw - s)
by_thread = {c: {"cpu_us": per_msg(t), "switches": round(s / msgs, 2)}
             for c, (t, s) in sorted(by_thread.items()) if t > 0}
print(json.dumps({"receiver": label, "conns": int(conns), "load": load,
                  "cpu_us_per_msg": per_msg(u1 - u0 + s1 - s0),
                  "user_us_per_msg": per_msg(u1 - u0), "sys_us_per_msg": per_msg(s1 - s0),
                  "per_message_by_thread": by_thread,
                  "idle_rss_mib": round(int(idle) / 1024, 1), "peak_rss_mib": round(int(peak) / 1024, 1),
                  "db_mib": round(int(db) / 1048576, 1)}))
PY
}

echo "{\"load_average\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
for conns in ${CONNS:-8 32}; do
  baseline ack "$conns"
  baseline sqlite "$conns"
  agent "$conns"
  if [[ -n "${TSUNAGI_BIN_BEFORE:-}" ]]; then
    agent "$conns" "$TSUNAGI_BIN_BEFORE" tsunagi-before
  fi
done
echo "{\"load_average\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
