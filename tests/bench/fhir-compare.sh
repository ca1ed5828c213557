#!/usr/bin/env bash
# FHIR over HTTP beside MLLP (issue 16): accepted requests per second, C clients each waiting
# for its answer, one resource (FHIR: a Condition, POST [base]/Condition) or one message (MLLP:
# an ADT^A08) per request, fsync on (synchronous=FULL), answers only after the commit. Both
# sources run in the same agent, measured one after the other, with the same load generator
# (tests/bench/fhir_load.py, Python threads).
#
#   bash tests/bench/fhir-compare.sh [REQUESTS] [CLIENTS]     # default 8000, 8
#
# TSUNAGI_BIN=target/debug/tsunagi measures another build (default: a release build, built here).
# The agent uses the shared-folder uplink into a scratch folder (no platform needed). Prints one
# JSON line per source.
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
total="${1:-8000}"
conns="${2:-8}"
if [[ -z "${TSUNAGI_BIN:-}" ]]; then
  cargo build --release -p tsunagi --quiet --manifest-path "$here/Cargo.toml"
fi
bin="${TSUNAGI_BIN:-$here/target/release/tsunagi}"
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 300); do (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

fhir_port="$(free_port)"; mllp_port="$(free_port)"
mkdir -p "$work/terminal"
cat >"$work/tsunagi.toml" <<EOT
[agent]
data_dir = "agent"
institution_number = "1318814790"
disk_reserve_mb = 0

[[source.fhir]]
name = "bench-fhir"
listen = "127.0.0.1:$fhir_port"

[[source.mllp]]
name = "bench-mllp"
listen = "127.0.0.1:$mllp_port"

[ops]
listen = ""

[uplink]
route = "shared-folder"
[uplink.shared_folder]
dir = "terminal"
EOT
"$bin" run --config "$work/tsunagi.toml" 2>"$work/agent.log" &
wait_port "$fhir_port"
wait_port "$mllp_port"
per=$((total / conns))
for kind in fhir mllp; do
  port="$fhir_port"; [[ "$kind" == mllp ]] && port="$mllp_port"
  out="$(python3 "$here/tests/bench/fhir_load.py" "$kind" 127.0.0.1 "$port" --conns "$conns" --per-conn "$per")"
  echo "{\"source\":\"$kind\",\"conns\":$conns,\"load\":$out}"
done
