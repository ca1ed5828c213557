#!/usr/bin/env bash
# Instructions per message, by thread, under the MLLP load (issue 9, part 3): a figure that does
# not move with the machine's noise, for changes smaller than what msg/s and CPU time can show
# on a shared two-core VM (±15-25 % there between runs).
#
#   bash tests/bench/mllp-instructions.sh [MESSAGES] [CONNS]   # default 2000 8
#
# The release agent runs under `valgrind --tool=callgrind --separate-threads=yes` and takes
# MESSAGES ORU^R01 (the load of mllp-compare.sh) over CONNS connections; once every input is
# processed it is stopped. Prints one JSON line per build: instructions per message for each
# thread that ran more than a trace (named by what it ran: the main thread, the writer, the
# processor, the tokio worker), and for the whole agent (start-up and the quiet spell included, the same for
# every build). Batches form as the slowed agent's timing allows, so compare builds by the
# writer's and processor's figures, measured with the same MESSAGES and CONNS.
# Environment: TSUNAGI_BIN, TSUNAGI_BIN_BEFORE (a second build, measured after the first).
set -euo pipefail
total="${1:-2000}"
conns="${2:-8}"
source "$(dirname "$0")/mllp-common.sh"
command -v valgrind >/dev/null || { echo "skipped: valgrind not installed"; exit 0; }

compare_template "$work/oru.hl7"

measure() { # binary label
  local port dir; port="$(free_port)"; dir="$work/$2"
  agent_config "$dir" "$port"
  mkdir -p "$dir/cg"
  TSUNAGI_LOG=warn valgrind --tool=callgrind --separate-threads=yes \
    --callgrind-out-file="$dir/cg/out" "$1" run --config "$dir/tsunagi.toml" 2>"$dir/agent.log" &
  local pid=$!
  for _ in $(seq 600); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done
  sleep 15 # past the start-up under valgrind
  local out
  out="$(python3 "$tools/mllp-load.py" 127.0.0.1 "$port" --conns "$conns" \
    --per-conn $((total / conns)) --template "$work/oru.hl7" --encoding iso2022_jp)"
  for _ in $(seq 1200); do
    [[ "$(bin="$1" inputs_received "$dir/data")" == "0" ]] && break
    sleep 0.5
  done
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  python3 - "$dir/cg" "$out" "$2" <<'PY'
import glob, json, re, subprocess, sys
d, out, label = sys.argv[1:]
load = json.loads(out)
msgs = max(1, load["aa"])
def annotate(path):
    return subprocess.run(["callgrind_annotate", "--inclusive=yes", path],
                          capture_output=True, text=True, check=True).stdout
# The main thread first: it also builds the processor and the runtime.
names = [("main", "tsunagi::main"), ("writer", "tsunagi::store::writer::run"),
         ("processor", "tsunagi::pipeline::Processor"), ("tokio worker", "tokio::runtime::scheduler")]
threads, whole = {}, 0
for path in sorted(glob.glob(f"{d}/out-*")):
    text = annotate(path)
    m = re.search(r"^([\d,]+) .*PROGRAM TOTALS", text, re.M)
    total = int(m.group(1).replace(",", "")) if m else 0
    whole += total
    if total < 10 * msgs:
        continue
    name = next((n for n, marker in names if marker in text), "other")
    threads[name] = threads.get(name, 0) + total
print(json.dumps({"build": label, "load": load,
                  "instructions_per_message": {n: round(t / msgs) for n, t in sorted(threads.items())},
                  "agent_per_message": round(whole / msgs)}))
PY
}

measure "$bin" tsunagi
if [[ -n "${TSUNAGI_BIN_BEFORE:-}" ]]; then
  measure "$TSUNAGI_BIN_BEFORE" tsunagi-before
fi
