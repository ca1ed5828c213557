#!/usr/bin/env bash
# The Debian package end to end, as hospital IT would live it: build the .deb (one release
# build), lint it, install it, check the user, ownership and modes, verify and rate the unit,
# run the agent the way tsunagi.service runs it (its ExecStartPre and ExecStart, as the service
# user, without capabilities, umask 0077) against the platform simulator until a bundle is
# delivered, reload it as `systemctl reload` would (ExecReload) and find what it re-read in its
# log, upgrade to a newer build whose packaged config changed too and find the data and the
# hand-edited config intact (dpkg asks; without a terminal it stops, and --force-confold keeps
# the hospital's file and puts the new one beside it as .dpkg-dist), then remove (data and
# config stay), install again (it resumes) and purge (nothing stays).
#
# Run by .ci/run as root. Prints "skipped: ..." and exits 0 when not root or when dpkg or
# cargo-deb is missing. It refuses to touch a tsunagi package or user that it did not install.
# Env: CARGO_DEB (default target/tools/bin/cargo-deb, else cargo-deb on PATH), CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

skip() {
	echo "skipped: $*"
	exit 0
}
[ "$(id -u)" = 0 ] || skip "tests/packaging/deb.sh needs root (dpkg -i)"
command -v dpkg >/dev/null || skip "dpkg absent"
CARGO_DEB=${CARGO_DEB:-$ROOT/target/tools/bin/cargo-deb}
[ -x "$CARGO_DEB" ] || CARGO_DEB=$(command -v cargo-deb || true)
[ -n "$CARGO_DEB" ] || skip "cargo-deb absent (.ci/run installs it into target/tools)"
if dpkg-query -W -f='${Status}' tsunagi 2>/dev/null | grep -q "installed\|config-files"; then
	skip "a tsunagi package is already on this machine; deb.sh installs and purges its own only"
fi
getent passwd tsunagi >/dev/null && skip "a user tsunagi exists; deb.sh creates and deletes its own only"

TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=$(mktemp -d /tmp/tsunagi-deb.XXXXXX)
chmod 0755 "$WORK" # the service user walks through it to the inbox
PASSED=0
FAILED=0
AGENT=""
SIM=""

cleanup() {
	[ -n "$AGENT" ] && kill "$AGENT" 2>/dev/null || true
	[ -n "$SIM" ] && kill "$SIM" 2>/dev/null || true
	wait 2>/dev/null || true
	if dpkg-query -W -f='${Status}' tsunagi 2>/dev/null | grep -q "installed\|config-files"; then
		dpkg --purge tsunagi >/dev/null 2>&1 || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

# ok, bad, expect DESCRIPTION COMMAND...
. tests/packaging/checks.sh
# owned PATH OWNER:GROUP MODE
owned() {
	local got
	got=$(stat -c '%U:%G %a' "$1" 2>/dev/null || echo "missing")
	if [ "$got" = "$2 $3" ]; then ok "$1 is $2 $3"; else bad "$1 is $got, want $2 $3"; fi
}
absent() {
	if [ -e "$1" ]; then bad "$1 still there"; else ok "$1 gone"; fi
}
# wait_for SECONDS DESCRIPTION COMMAND...
wait_for() {
	local secs=$1 what=$2
	shift 2
	for _ in $(seq $((secs * 5))); do
		if "$@"; then
			ok "$what"
			return 0
		fi
		sleep 0.2
	done
	bad "$what (waited ${secs}s)"
	return 1
}

echo "== build the .deb (cargo deb -p tsunagi: one release build)"
start=$(date +%s)
"$CARGO_DEB" -p tsunagi --output "$WORK/v1.deb" >"$WORK/build.log" 2>&1 || {
	cat "$WORK/build.log"
	exit 1
}
echo "  build took $(($(date +%s) - start)) s"
V1=$(dpkg-deb -f "$WORK/v1.deb" Version)
V2="$V1.1" # sorts after V1: the upgrade
"$CARGO_DEB" -p tsunagi --no-build --deb-version "$V2" --output "$WORK/v2.deb" >>"$WORK/build.log" 2>&1
expect "v2 ($V2) is newer than v1 ($V1)" dpkg --compare-versions "$V2" gt "$V1"
# v2's packaged config differs from v1's (a new comment line), as a release that documents a new
# setting would: the upgrade then meets a conffile changed on both sides, and dpkg must decide.
# Repacked with dpkg-deb, so the source tree is never touched.
NEW_CONF_LINE="# added in $V2: a release that documents a new setting (deb.sh)"
dpkg-deb -R "$WORK/v2.deb" "$WORK/v2"
echo "$NEW_CONF_LINE" >>"$WORK/v2/etc/tsunagi/tsunagi.toml"
if [ -f "$WORK/v2/DEBIAN/md5sums" ]; then # cargo-deb 3.8 writes none; keep it true if one is there
	(cd "$WORK/v2" && sed -i "s|^[0-9a-f]*  etc/tsunagi/tsunagi.toml\$|$(md5sum etc/tsunagi/tsunagi.toml)|" DEBIAN/md5sums)
fi
dpkg-deb --root-owner-group -Zxz -b "$WORK/v2" "$WORK/v2.deb" >/dev/null
expect "v2's packaged config has the new line" sh -c "dpkg-deb --fsys-tarfile '$WORK/v2.deb' | tar -xOf - ./etc/tsunagi/tsunagi.toml | grep -qxF '$NEW_CONF_LINE'"
echo "  footprint: .deb $(stat -c %s "$WORK/v1.deb") bytes;" \
	"/usr/bin/tsunagi $(dpkg-deb --fsys-tarfile "$WORK/v1.deb" | tar -tvf - ./usr/bin/tsunagi | awk '{print $3}') bytes;" \
	"Installed-Size $(dpkg-deb -f "$WORK/v1.deb" Installed-Size) KiB"

if command -v lintian >/dev/null; then
	echo "== lintian"
	if lintian --fail-on error "$WORK/v1.deb" >"$WORK/lintian.log" 2>&1; then
		ok "lintian: no errors"
	else
		bad "lintian found errors"
	fi
	sed 's/^/  /' "$WORK/lintian.log"
else
	echo "  lintian absent: not linted"
fi

echo "== install"
dpkg -i "$WORK/v1.deb" </dev/null >"$WORK/install.log" 2>&1 || {
	cat "$WORK/install.log"
	exit 1
}
expect "install says it is not started yet (English)" grep -q "not started" "$WORK/install.log"
expect "install says it is not started yet (Japanese)" grep -q "まだ起動していません" "$WORK/install.log"
owned /usr/bin/tsunagi root:root 755
owned /etc/tsunagi root:tsunagi 750
owned /etc/tsunagi/tsunagi.toml root:tsunagi 640
owned /var/lib/tsunagi tsunagi:tsunagi 700
owned /var/log/tsunagi tsunagi:tsunagi 700
owned /usr/share/tsunagi/package-managed root:root 644
expect "tsunagi.toml is a conffile" sh -c "dpkg-query -W -f='\${Conffiles}' tsunagi | grep -q ' /etc/tsunagi/tsunagi.toml '"
IFS=: read -r _ _ uid _ _ home shell < <(getent passwd tsunagi)
expect "tsunagi is a system user (uid $uid)" test "$uid" -lt 1000
expect "tsunagi has no login shell ($shell)" test "$shell" = /usr/sbin/nologin
expect "tsunagi's home is /var/lib/tsunagi" test "$home" = /var/lib/tsunagi
expect "the unit is enabled" test -L /etc/systemd/system/multi-user.target.wants/tsunagi.service
UNIT=/lib/systemd/system/tsunagi.service
if command -v systemd-analyze >/dev/null; then
	expect "systemd-analyze verify $UNIT" systemd-analyze verify "$UNIT"
	exposure=$(systemd-analyze security --offline=true "$UNIT" 2>/dev/null | sed -n 's/.*Overall exposure level for tsunagi.service: \([0-9.]*\).*/\1/p')
	expect "exposure $exposure <= 2.0" awk -v e="$exposure" 'BEGIN { exit !(e != "" && e <= 2.0) }'
else
	echo "  systemd-analyze absent: unit not verified"
fi
expect "check-config refuses the shipped config" sh -c "! runuser -u tsunagi -- tsunagi check-config /etc/tsunagi/tsunagi.toml >/dev/null"

echo "== the platform simulator"
SIMBIN=$TARGET/debug/tsunagi-platform-sim
[ -x "$SIMBIN" ] || cargo build -q -p tsunagi-sim --bin tsunagi-platform-sim
"$SIMBIN" --listen 127.0.0.1:0 --data "$WORK/platform" >"$WORK/sim.out" 2>"$WORK/sim.err" &
SIM=$!
wait_for 60 "simulator listens" grep -q "^listening https://" "$WORK/sim.out"
PORT=$(sed -n 's|^listening https://127.0.0.1:\([0-9]*\)$|\1|p' "$WORK/sim.out")
install -d -o root -g tsunagi -m 0750 /etc/tsunagi/pki
install -o root -g tsunagi -m 0640 "$WORK/platform/pki/ca.pem" /etc/tsunagi/pki/platform-ca.pem
install -o root -g tsunagi -m 0640 "$WORK/platform/pki/client.pem" /etc/tsunagi/pki/client.pem
install -o root -g tsunagi -m 0640 "$WORK/platform/pki/client.key" /etc/tsunagi/pki/client-key.pem

echo "== configure by hand (institution, uplink, an input folder)"
INBOX=$WORK/inbox
install -d -o tsunagi -g tsunagi -m 0700 "$INBOX"
CONF=/etc/tsunagi/tsunagi.toml
sed -e 's/^institution_number = ""/institution_number = "1318814790"/' \
	-e "s|^url = \"\"|url = \"https://localhost:$PORT/clins/v1/bundles\"|" \
	-e 's/^disk_reserve_mb = 512/disk_reserve_mb = 16/' "$CONF" >"$WORK/edited.toml"
cat >>"$WORK/edited.toml" <<EOF

# edited by hand on this hospital's server (deb.sh)
[[source.folder]]
name = "ehr"
format = "fhir-json"
path = "$INBOX"
mode = "move"
stable_ms = 200
EOF
cat "$WORK/edited.toml" >"$CONF" # in place: same file, same owner and mode
expect "update apply refuses: the package owns the binary" sh -c "tsunagi update apply --config $CONF 2>&1 | grep -q 'comes as a package'"
expect "check-config accepts the edited config" runuser -u tsunagi -- tsunagi check-config "$CONF"
EDITED_SUM=$(sha256sum <"$CONF")

# Runs the unit's ExecStartPre, then its ExecStart in the background, the way systemd would:
# as User=/Group=, UMask=0077, no capabilities, NoNewPrivileges, in WorkingDirectory. The
# subshell execs, so $AGENT is the agent's own pid.
SETPRIV=(setpriv --reuid=tsunagi --regid=tsunagi --init-groups --no-new-privs
	--inh-caps=-all --bounding-set=-all --)
start_like_unit() {
	local pre exec_start
	pre=$(sed -n 's/^ExecStartPre=//p' "$UNIT")
	exec_start=$(sed -n 's/^ExecStart=//p' "$UNIT")
	# The unit's command lines are split on spaces, as systemd does (they hold no quotes).
	# shellcheck disable=SC2086
	if (umask 0077 && cd /var/lib/tsunagi && exec "${SETPRIV[@]}" $pre) >"$WORK/pre.log" 2>&1; then
		ok "ExecStartPre passes: $pre"
	else
		bad "ExecStartPre: $pre"
		cat "$WORK/pre.log"
		return 1
	fi
	# shellcheck disable=SC2086
	(umask 0077 && cd /var/lib/tsunagi && exec "${SETPRIV[@]}" $exec_start) >>"$WORK/agent.err" 2>&1 &
	AGENT=$!
	wait_for 60 "the agent is ready" sh -c "cat /var/log/tsunagi/* 2>/dev/null | grep -q 'tsunagi started'"
}
# Runs the unit's ExecReload as systemd would for `systemctl reload` ($MAINPID: the agent, the
# same user and restrictions) and looks for the one line that says what was re-read.
reload_like_unit() {
	local reload
	reload=$(sed -n 's/^ExecReload=//p' "$UNIT")
	reload=${reload//\$MAINPID/$AGENT}
	# shellcheck disable=SC2086
	if (exec "${SETPRIV[@]}" $reload) >"$WORK/reload.log" 2>&1; then
		ok "ExecReload runs: $reload"
	else
		bad "ExecReload: $reload"
		cat "$WORK/reload.log"
		return 1
	fi
	wait_for 30 "the agent logs what it re-read and that the config needs a restart" sh -c \
		"cat /var/log/tsunagi/* | grep 'reload: re-read the masters, the mapping table and the loaded FHIR package' | grep 'mapping_rows' | grep -q 'configuration changes need a restart'"
	expect "the agent still runs after SIGHUP" kill -0 "$AGENT"
}
stop_agent() {
	kill -TERM "$AGENT"
	if wait "$AGENT"; then ok "the agent drained and exited 0 on SIGTERM"; else bad "the agent's exit status on SIGTERM"; fi
	AGENT=""
}
accepted() {
	[ "$(find "$WORK/platform/accepted" -name '*.json' 2>/dev/null | wc -l)" -ge "$1" ]
}
drop() {
	cp "$ROOT/config-examples/samples/$1" "$INBOX/.$1" # hidden while written: not taken
	mv "$INBOX/.$1" "$INBOX/$1"
}

echo "== run as the unit would, deliver a bundle"
start_like_unit
drop 01-conditions-bundle.json
wait_for 60 "a bundle delivered to the simulator" accepted 1
wait_for 30 "the input moved to processed/" test -f "$INBOX/processed/01-conditions-bundle.json"
reload_like_unit
stop_agent
owned /var/lib/tsunagi/tsunagi.db tsunagi:tsunagi 600
for f in /var/log/tsunagi/*; do owned "$f" tsunagi:tsunagi 600; done
STORE_ID=$(cat /var/lib/tsunagi/store.id)

echo "== upgrade to $V2 (its packaged config changed too)"
# Without a terminal dpkg cannot ask which config to keep: it stops before configuring, with the
# package unpacked and the hospital's file untouched (the new one waits as .dpkg-new).
if dpkg -i "$WORK/v2.deb" </dev/null >"$WORK/upgrade-asked.log" 2>&1; then
	bad "dpkg -i without a terminal stops at the conffile question"
else
	expect "dpkg -i without a terminal stops at the conffile question" grep -q "end of file on stdin at conffile prompt" "$WORK/upgrade-asked.log"
fi
expect "meanwhile the hand-edited config is untouched" test "$(sha256sum <"$CONF")" = "$EDITED_SUM"
# What an unattended upgrade passes (apt-get -o Dpkg::Options::=--force-confold): keep ours.
dpkg --configure --force-confold tsunagi </dev/null >"$WORK/upgrade.log" 2>&1 || {
	cat "$WORK/upgrade-asked.log" "$WORK/upgrade.log"
	exit 1
}
expect "installed version is $V2" test "$(dpkg-query -W -f='${Version} ${Status}' tsunagi)" = "$V2 install ok installed"
expect "the hand-edited config is intact" test "$(sha256sum <"$CONF")" = "$EDITED_SUM"
expect "v2's config is beside it as tsunagi.toml.dpkg-dist" grep -qxF "$NEW_CONF_LINE" "$CONF.dpkg-dist"
expect "no .dpkg-new is left" test ! -e "$CONF.dpkg-new"
echo "  $CONF.dpkg-dist: $(stat -c '%U:%G %a' "$CONF.dpkg-dist")"
expect "the upgrade sees a ready config (no 'not started')" sh -c "! grep -q 'not started' '$WORK/upgrade.log'"
expect "the store is the same (store.id)" test "$(cat /var/lib/tsunagi/store.id)" = "$STORE_ID"
owned /var/lib/tsunagi tsunagi:tsunagi 700
owned /etc/tsunagi/tsunagi.toml root:tsunagi 640
start_like_unit
drop 02-allergy.json
wait_for 60 "the upgraded agent delivers on the same store" accepted 2
stop_agent
expect "status (as tsunagi) counts both deliveries" sh -c \
	"runuser -u tsunagi -- tsunagi status --config $CONF 2>'$WORK/status.err' | grep -q ' delivered 2'"
# grep -q may close the pipe at its match before status has written its last lines (it did in
# the full .ci/run of stops 31 and 32, and status panicked); then status must end quietly.
expect "status ends quietly when its reader closes the pipe early" \
	sh -c "! grep -q . '$WORK/status.err'"

echo "== remove: data, logs, config and the user stay"
dpkg -r tsunagi </dev/null >"$WORK/remove.log" 2>&1 || {
	cat "$WORK/remove.log"
	exit 1
}
absent /usr/bin/tsunagi
absent "$UNIT"
expect "config stays" test -f "$CONF"
expect "data stays" test -f /var/lib/tsunagi/tsunagi.db
expect "logs stay" test -d /var/log/tsunagi
expect "the user stays" sh -c "getent passwd tsunagi >/dev/null"

echo "== install again after remove: it picks up where it was"
dpkg -i "$WORK/v2.deb" </dev/null >"$WORK/reinstall.log" 2>&1 || {
	cat "$WORK/reinstall.log"
	exit 1
}
expect "the unit is not left masked" sh -c "[ ! -L /etc/systemd/system/tsunagi.service ]"
expect "the unit is enabled again" test -L /etc/systemd/system/multi-user.target.wants/tsunagi.service
expect "the store is the same (store.id)" test "$(cat /var/lib/tsunagi/store.id)" = "$STORE_ID"
expect "the hand-edited config is still intact" test "$(sha256sum <"$CONF")" = "$EDITED_SUM"

echo "== purge: nothing stays"
dpkg -P tsunagi </dev/null >"$WORK/purge.log" 2>&1 || {
	cat "$WORK/purge.log"
	exit 1
}
absent /etc/tsunagi
absent /var/lib/tsunagi
absent /var/log/tsunagi
absent /etc/systemd/system/multi-user.target.wants/tsunagi.service
expect "the user is gone" sh -c "! getent passwd tsunagi"
expect "the group is gone" sh -c "! getent group tsunagi"
expect "dpkg forgot the package" sh -c "! dpkg-query -W tsunagi 2>/dev/null"

echo "deb: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
