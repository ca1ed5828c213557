#!/usr/bin/env bash
# The Windows installer, checked on Linux (nothing here runs Windows): builds the .msi with
# installer/build-msi.sh and reads it back with msitools. Checks the service (ServiceInstall:
# name, automatic start, the command line), its control (stop and remove on uninstall, start
# again after an upgrade only), the major upgrade (Upgrade, RemoveExistingProducts, the
# downgrade refusal), the per-machine install to Program Files and the config in ProgramData
# placed once and never removed (Component attributes and condition, RegLocator), that the
# embedded files are byte for byte the exe and the example config, and that the exe is PE32+
# x86-64. Prints the sizes of the .msi and the exe.
#
#   tests/packaging/msi.sh [EXE]   EXE (or TSUNAGI_EXE): package this tsunagi.exe (CI: its debug
#                                  cross-build); default: build-msi.sh cross-builds the release
#
# Prints "skipped: ..." and exits 0 when wixl or msitools are missing.
set -euo pipefail
cd "$(dirname "$0")/../.."

skip() {
	echo "skipped: $*"
	exit 0
}
for tool in wixl msiinfo msiextract msibuild; do
	command -v "$tool" >/dev/null || skip "msi: $tool absent (Debian: apt-get install wixl msitools gcab)"
done

# ok, bad, expect DESCRIPTION COMMAND...
. tests/packaging/checks.sh
WORK=$(mktemp -d /tmp/tsunagi-msi.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

exe=${1:-${TSUNAGI_EXE:-}}
if [ -z "$exe" ]; then
	exe=${CARGO_TARGET_DIR:-target}/x86_64-pc-windows-gnu/windows/tsunagi.exe
	msi=$(bash installer/build-msi.sh | tail -1)
else
	msi=$(bash installer/build-msi.sh "$exe" | tail -1)
fi
version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\([^"]*\)"/\1/p' Cargo.toml)
UPGRADE_CODE="{7B4625EB-2A3F-4940-8825-58C9B332963A}"
expect "$msi is named by the version" test "$msi" = "target/msi/tsunagi-$version-x64.msi"

# row TABLE: the table's rows, tab-separated, without msiinfo's three header lines.
row() { msiinfo export "$msi" "$1" | tail -n +4 | tr -d '\r'; }
# has TABLE AWK-CONDITION: some row matches (fields $1, $2, … in the table's column order).
has() { row "$1" | awk -F'\t' "$2 { found = 1 } END { exit !found }"; }

echo "== tables"
tables=$(msiinfo tables "$msi")
for t in ServiceInstall ServiceControl Upgrade File Component Directory Property RegLocator AppSearch LaunchCondition; do
	expect "table $t" grep -qx "$t" <<<"$tables"
done

echo "== the service"
# ServiceInstall: ServiceInstall Name DisplayName ServiceType StartType ErrorControl LoadOrderGroup
#                 Dependencies StartName Password Arguments Component_ Description
expect "service tsunagi, own process (16), automatic start (2), normal errors (1), LocalSystem" \
	has ServiceInstall '$2 == "tsunagi" && $4 == 16 && $5 == 2 && $6 == 1 && $9 == "" && $12 == "Agent"'
expect "its command line: run --service --config %ProgramData%\\tsunagi\\tsunagi.toml" \
	has ServiceInstall '$11 == "run --service --config \"[CommonAppDataFolder]tsunagi\\tsunagi.toml\""'
# ServiceControl: ServiceControl Name Event Arguments Wait Component_
# Event bits: 0x2 stop on install, 0x20 stop on uninstall, 0x80 remove on uninstall, 0x1 start on install.
expect "stopped at install/upgrade and uninstall, removed at uninstall (0xA2), waited for" \
	has ServiceControl '$2 == "tsunagi" && $3 == 162 && $5 == 1 && $6 == "Agent"'
expect "started again after an upgrade only (component StartAfterUpgrade), not waited for" \
	has ServiceControl '$2 == "tsunagi" && $3 == 1 && $5 == 0 && $6 == "StartAfterUpgrade"'
expect "StartAfterUpgrade is installed only on an upgrade" \
	has Component '$1 == "StartAfterUpgrade" && $5 == "WIX_UPGRADE_DETECTED"'
seq=$(row InstallExecuteSequence | cut -f1)
for a in AppSearch FindRelatedProducts RemoveExistingProducts StopServices DeleteServices InstallServices StartServices; do
	expect "InstallExecuteSequence runs $a" grep -qx "$a" <<<"$seq"
done

echo "== upgrades"
# Upgrade: UpgradeCode VersionMin VersionMax Language Attributes Remove ActionProperty
expect "older versions under the stable UpgradeCode are upgraded (WIX_UPGRADE_DETECTED)" \
	has Upgrade "\$1 == \"$UPGRADE_CODE\" && \$3 == \"$version\" && \$7 == \"WIX_UPGRADE_DETECTED\""
expect "a newer installed version is detected (WIX_DOWNGRADE_DETECTED)" \
	has Upgrade "\$1 == \"$UPGRADE_CODE\" && \$2 == \"$version\" && \$7 == \"WIX_DOWNGRADE_DETECTED\""
expect "and refused" has LaunchCondition '$1 == "NOT WIX_DOWNGRADE_DETECTED"'
expect "Property UpgradeCode is the stable one" has Property "\$1 == \"UpgradeCode\" && \$2 == \"$UPGRADE_CODE\""
expect "ProductVersion is Cargo.toml's ($version)" has Property "\$1 == \"ProductVersion\" && \$2 == \"$version\""
expect "per machine (ALLUSERS=1)" has Property '$1 == "ALLUSERS" && $2 == "1"'
expect "the package is x64" sh -c "msiinfo suminfo '$msi' | grep -q 'Template: x64;'"

echo "== files and folders"
# Directory: Directory Directory_Parent DefaultDir; Component: Component ComponentId Directory_
# Attributes Condition KeyPath; File: File Component_ FileName FileSize Version Language Attributes Sequence
expect "INSTALLDIR is Program Files\\tsunagi (64-bit)" has Directory '$1 == "INSTALLDIR" && $2 == "ProgramFiles64Folder" && $3 ~ /tsunagi$/'
expect "HOMEDIR is ProgramData\\tsunagi" has Directory '$1 == "HOMEDIR" && $2 == "CommonAppDataFolder" && $3 ~ /tsunagi$/'
expect "tsunagi.exe in INSTALLDIR (component Agent, 64-bit)" has Component '$1 == "Agent" && $3 == "INSTALLDIR" && int($4 / 256) % 2 == 1 && $6 == "TsunagiExe"'
expect "File tsunagi.exe" has File '$1 == "TsunagiExe" && $2 == "Agent" && $3 ~ /tsunagi\.exe$/'
expect "the config in HOMEDIR, permanent (0x10), only if never placed" \
	has Component '$1 == "Config" && $3 == "HOMEDIR" && int($4 / 16) % 2 == 1 && $5 == "NOT TSUNAGI_CONFIG_PLACED" && $6 == "Config"'
expect "File tsunagi.toml" has File '$1 == "Config" && $2 == "Config" && $3 ~ /tsunagi\.toml$/'
expect "the marker is searched in HKLM\\SOFTWARE\\tsunagi (64-bit view)" \
	has RegLocator '$2 == 2 && $3 == "SOFTWARE\\tsunagi" && $4 == "ConfigPlaced" && int($5 / 16) % 2 == 1'
expect "and written by the config's component" has Registry '$2 == 2 && $3 == "SOFTWARE\\tsunagi" && $4 == "ConfigPlaced" && $6 == "Config"'
expect "an example config and the README beside the exe" has File '$1 == "ExampleConfig" && $2 == "Docs"'
expect "the package-managed marker beside the exe (update apply refuses)" has File '$1 == "PackageManaged" && $2 == "Agent" && $3 ~ /package-managed$/'

echo "== the embedded files"
msiextract -C "$WORK/x" "$msi" >/dev/null
got_exe=$(find "$WORK/x" -name tsunagi.exe | head -1)
got_cfg=$(find "$WORK/x" -name tsunagi.toml | head -1)
expect "the embedded exe is the one given" cmp -s "$got_exe" "$exe"
expect "the embedded config is config-examples/windows.toml" cmp -s "$got_cfg" config-examples/windows.toml

echo "== the exe"
desc=$(file -b "$exe")
echo "file: $desc"
expect "PE32+ executable" grep -q "PE32+ executable" <<<"$desc"
expect "x86-64" grep -q "x86-64" <<<"$desc"
if command -v objdump >/dev/null; then
	expect "objdump: pei-x86-64" sh -c "objdump -f '$exe' | grep -q 'file format pei-x86-64'"
fi

msi_bytes=$(stat -c %s "$msi")
exe_bytes=$(stat -c %s "$exe")
echo "size: msi $msi_bytes bytes ($((msi_bytes / 1024)) KiB), exe $exe_bytes bytes ($((exe_bytes / 1024)) KiB): $exe"
echo "msi: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
