#!/usr/bin/env bash
# What each commit writes during the standard MLLP load, by table and index: the WAL's frames
# read one by one (issue 9, part 3: the writer's cost is per dirty page).
#
#   bash tests/bench/wal-frames.sh [CONNS] [MESSAGES] [AT_SECONDS]   # default 32 20000 2.5
#
# The release agent takes MESSAGES ORU^R01 (the load of mllp-compare.sh) over CONNS connections;
# AT_SECONDS after the load starts the WAL is copied, and once every input is processed the
# database is copied too. Each frame of the copied WAL's current generation (its salts) is
# attributed to the table or index owning its page in the database (SQLite's `dbstat`; pointer-
# map pages by position), and frames are grouped into commits (a frame carrying the database
# size ends one). A commit that writes `outbox` or `item_code` pages is the processor's, one
# that writes only `inbox` pages and their indexes an acknowledged intake commit. Prints, per
# kind, the commits seen, frames per commit, and frames per commit by owner.
# Environment: TSUNAGI_BIN (else a release agent built now). Needs python3 with sqlite3's dbstat.
set -euo pipefail
conns="${1:-32}"
total="${2:-20000}"
at="${3:-2.5}"
source "$(dirname "$0")/mllp-common.sh"

compare_template "$work/oru.hl7"
port="$(free_port)"
agent_config "$work" "$port"
TSUNAGI_LOG=warn "$bin" run --config "$work/tsunagi.toml" 2>"$work/agent.log" &
pid=$!
wait_port "$port"
sleep 2
python3 "$tools/mllp-load.py" 127.0.0.1 "$port" --conns "$conns" --per-conn $((total / conns)) \
  --template "$work/oru.hl7" --encoding iso2022_jp >"$work/load.json" &
loader=$!
sleep "$at"
cp "$work/data/tsunagi.db-wal" "$work/copy.wal"
wait "$loader"
cat "$work/load.json"
for _ in $(seq 600); do
  [[ "$(inputs_received "$work/data")" == "0" ]] && break
  sleep 0.5
done
kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
cp "$work/data/tsunagi.db" "$work/copy.db"

python3 - "$work/copy.wal" "$work/copy.db" <<'PY'
import collections, json, sqlite3, struct, sys
wal, db = sys.argv[1:]
data = open(wal, "rb").read()
_, _, page_size, _, salt1, salt2, _, _ = struct.unpack(">8I", data[:32])
owner = dict((p, n) for n, p in sqlite3.connect(f"file:{db}?mode=ro", uri=True)
             .execute("SELECT name, pageno FROM dbstat"))
# auto_vacuum: pointer-map pages are page 2 and every (usable size / 5 + 1) pages after it.
ptrmap_every = page_size // 5 + 1
def who(page):
    if page in owner:
        return owner[page]
    return "(pointer map)" if page >= 2 and (page - 2) % ptrmap_every == 0 else "(free or other)"
commits, current, off = [], [], 32
while off + 24 + page_size <= len(data):
    page, db_size, s1, s2 = struct.unpack(">4I", data[off:off + 16])
    if (s1, s2) != (salt1, salt2):
        break
    current.append(who(page))
    if db_size:
        commits.append(current)
        current = []
    off += 24 + page_size
kinds = collections.defaultdict(list)
for names in commits:
    if any(n.startswith(("outbox", "item_code")) for n in names):
        kinds["processing"].append(names)
    elif any(n.startswith("inbox") for n in names):
        kinds["intake"].append(names)
    else:
        kinds["other"].append(names)
out = {}
for kind, seen in sorted(kinds.items()):
    by = collections.Counter(n for names in seen for n in names)
    out[kind] = {"commits": len(seen),
                 "frames_per_commit": round(sum(by.values()) / len(seen), 1),
                 "by_owner": {n: round(c / len(seen), 2) for n, c in by.most_common(12)}}
print(json.dumps(out, ensure_ascii=False))
PY
