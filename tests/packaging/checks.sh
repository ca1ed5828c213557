# Sourced by the packaging tests (deb.sh, msi.sh): counted checks.
# ok/bad WHAT: count and print one result; expect WHAT COMMAND...: the command must succeed.
# The caller prints "<name>: $PASSED passed, $FAILED failed" at the end and exits non-zero on
# a failure.
PASSED=${PASSED:-0}
FAILED=${FAILED:-0}
ok() {
	PASSED=$((PASSED + 1))
	echo "  ok: $*"
}
bad() {
	FAILED=$((FAILED + 1))
	echo "  FAILED: $*"
}
expect() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}
