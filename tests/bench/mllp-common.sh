# What the MLLP benchmark scripts share (sourced by mllp-compare.sh, mllp-backlog.sh and
# mllp-soak.sh; not run by itself).
#
# Sets `here` (the checkout), `tools` (../shared/tools, or exits 0 with "skipped" when absent),
# `bin` (TSUNAGI_BIN, else a release agent built now) and `work` (a scratch folder removed on
# exit, with every background job), and defines the helpers below.

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tools="${TSUNAGI_SHARED:-$here/../shared}/tools"
if [[ ! -f "$tools/mllp-load.py" ]]; then
  echo "skipped: $tools/mllp-load.py not found (../shared absent)"
  exit 0
fi
if [[ -z "${TSUNAGI_BIN:-}" ]]; then
  cargo build --release -p tsunagi --quiet --manifest-path "$here/Cargo.toml"
fi
bin="${TSUNAGI_BIN:-${CARGO_TARGET_DIR:-$here/target}/release/tsunagi}"
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

# oru_template FILE [SEGMENT...]: an ORU^R01 with Japanese text and one OBX, plus SEGMENTs,
# ISO-2022-JP as SS-MIX2 and most Japanese EHRs send it.
oru_template() {
  local file="$1"; shift
  printf '%s\r' \
    'MSH|^~\&|LAB|HOSP|TSUNAGI|CLINS|20250401120000||ORU^R01^ORU_R01|X|P|2.5||||||~ISO IR87||ISO 2022-1994' \
    'PID|1||8800000001^^^^PI||試験^太郎^^^^^L^I||19600203|M|||東京都千代田区1-1^^^^1000001' \
    'PV1|1|O|01^内科' \
    'ORC|RE|ORD0001|||||||20250401100000' \
    'OBR|1|ORD0001||3A015000001827101^総蛋白^JC10|||20250401093000' \
    'OBX|1|NM|3A015000001827101^総蛋白^JC10||7.1|g/dL|6.5-8.0|N|||F' \
    "$@" \
    | python3 -c 'import sys; sys.stdout.buffer.write(sys.stdin.read().encode("iso2022_jp"))' \
    > "$file"
}

# compare_template FILE: the ORU^R01 of mllp-compare.sh (four OBX, one of them local-coded),
# shared by the scripts whose figures are read beside its own (wal-frames.sh,
# mllp-instructions.sh).
compare_template() {
  oru_template "$1" \
    'OBX|2|NM|3A010000002327101^アルブミン^JC10||4.3|g/dL|3.8-5.2|N|||F' \
    'OBX|3|NM|3H015000002326101^グルコース^JC10||98|mg/dL|70-109|N|||F' \
    'OBX|4|ST|9Z999^所見^99LAB||溶血なし||||||F'
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
status_kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; } # PID FIELD

# agent_config DIR PORT: DIR/tsunagi.toml for one MLLP listener on PORT, no masters, the
# shared-folder uplink into DIR/terminal (no platform needed).
agent_config() {
  mkdir -p "$1/terminal"
  cat >"$1/tsunagi.toml" <<EOF
[agent]
data_dir = "data"
institution_number = "1318814790"
disk_reserve_mb = 0
department = ["01", "内科"]

[[source.mllp]]
name = "lab"
listen = "127.0.0.1:$2"
max_connections = 256

[uplink]
route = "shared-folder"
[uplink.shared_folder]
dir = "terminal"
EOF
}

# inputs_received DATA_DIR: stored inputs the processor has not handled yet.
inputs_received() {
  "$bin" status --json --data "$1" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin).get("inputs_received", 0))'
}
