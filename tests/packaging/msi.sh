#!/usr/bin/env bash
# The Windows installer, checked on Linux (nothing here runs Windows): builds the .msi with
# installer/build-msi.sh and reads it back with msitools. Checks the service (ServiceInstall:
# name, automatic start, the command line), its control (stop and remove on uninstall, start
# again after an upgrade only), the major upgrade (Upgrade, RemoveExistingProducts, the
# downgrade refusal), the restart-on-failure actions the installer sets, the per-machine install
# to Program Files, %ProgramData%\tsunagi locked at install (MsiLockPermissionsEx), the config
# there placed only where none exists and never removed (Component attributes and condition,
# the file search), the data removed only on REMOVEDATA=1 (the custom action, its condition),
# that the embedded files are byte for byte the exe and the example config, and that the exe is
# PE32+ x86-64. Prints the sizes of the .msi and the exe.
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
# lacks TABLE AWK-CONDITION: no row matches (or there is no such table).
lacks() { ! has "$@"; }

echo "== tables"
tables=$(msiinfo tables "$msi")
for t in ServiceInstall ServiceControl Upgrade File Component Directory Property Signature DrLocator AppSearch \
	LaunchCondition CreateFolder MsiLockPermissionsEx MsiServiceConfigFailureActions MsiServiceConfig CustomAction; do
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
for a in AppSearch FindRelatedProducts RemoveExistingProducts StopServices DeleteServices InstallServices \
	MsiConfigureServices StartServices CreateFolders; do
	expect "InstallExecuteSequence runs $a" grep -qx "$a" <<<"$seq"
done
expect "AppSearch runs in the UI sequence too" has InstallUISequence '$1 == "AppSearch" && $3 < 100'

echo "== restart on failure, set by the installer"
# MsiServiceConfigFailureActions: key Name Event ResetPeriod RebootMessage Command Actions DelayActions Component_
# The service's own plan (agent/src/service/status.rs): restart after 10 s, 60 s, 300 s; reset after a day.
expect "restart (1) after 10 s, 60 s, 300 s, reset after 86400 s, at install and repair (5)" \
	has MsiServiceConfigFailureActions '$2 == "tsunagi" && $3 == 5 && $4 == 86400 && $7 == "1[~]1[~]1" && $8 == "10000[~]60000[~]300000" && $9 == "Agent"'
# MsiServiceConfig: key Name Event ConfigType Argument Component_ (4: SERVICE_CONFIG_FAILURE_ACTIONS_FLAG)
expect "also after a stop with an error code (failure-actions flag on)" \
	has MsiServiceConfig '$2 == "tsunagi" && $3 == 5 && $4 == 4 && $5 == "1" && $6 == "Agent"'
expect "MsiConfigureServices runs between InstallServices and StartServices (Windows Vista and later)" \
	sh -c "msiinfo export '$msi' InstallExecuteSequence | tr -d '\r' | awk -F'\t' '
		\$1 == \"InstallServices\" { i = \$3 } \$1 == \"StartServices\" { s = \$3 }
		\$1 == \"MsiConfigureServices\" { m = \$3; c = \$2 }
		END { exit !(i < m && m < s && c == \"VersionNT >= 600\") }'"

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
expect "the config in HOMEDIR, permanent (0x10), only where no tsunagi.toml is" \
	has Component '$1 == "Config" && $3 == "HOMEDIR" && int($4 / 16) % 2 == 1 && $5 == "NOT TSUNAGI_CONFIG_FOUND" && $6 == "Config"'
expect "File tsunagi.toml" has File '$1 == "Config" && $2 == "Config" && $3 ~ /tsunagi\.toml$/'
# AppSearch: Property Signature_; Signature: Signature FileName …; DrLocator: Signature_ Parent Path Depth
expect "TSUNAGI_CONFIG_FOUND is a file search" has AppSearch '$1 == "TSUNAGI_CONFIG_FOUND" && $2 == "ConfigFileSearch"'
expect "for tsunagi.toml (any version, size, date)" has Signature '$1 == "ConfigFileSearch" && $2 == "tsunagi.toml" && $3 == "" && $5 == ""'
expect "in %ProgramData%\\tsunagi itself (depth 0)" has DrLocator '$1 == "ConfigFileSearch" && $2 == "" && $3 == "[CommonAppDataFolder]tsunagi" && $4 == 0'
expect "the record that an install placed it, written by the config's component" \
	has Registry '$2 == 2 && $3 == "SOFTWARE\\tsunagi" && $4 == "ConfigPlaced" && $6 == "Config"'
expect "no registry search decides it any more" lacks RegLocator '$4 == "ConfigPlaced"'
expect "an example config and the README beside the exe" has File '$1 == "ExampleConfig" && $2 == "Docs"'
expect "the package-managed marker beside the exe (update apply refuses)" has File '$1 == "PackageManaged" && $2 == "Agent" && $3 ~ /package-managed$/'

echo "== %ProgramData%\\tsunagi locked at install"
# CreateFolder: Directory_ Component_; MsiLockPermissionsEx: key LockObject Table SDDLText Condition
expect "HomeLock creates HOMEDIR" has CreateFolder '$1 == "HOMEDIR" && $2 == "HomeLock"'
expect "locked owner Administrators, only SYSTEM and Administrators, protected, inherited inside" \
	has MsiLockPermissionsEx '$2 == "HOMEDIR" && $3 == "CreateFolder" && $4 == "O:BAD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)" && $5 == ""'
expect "the same descriptor the service applies (owner_only/sddl.rs)" \
	grep -qF 'pub const DIRECTORY: &str = "O:BAD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)";' agent/src/owner_only/sddl.rs
expect "the folder is locked before the config is placed in it (CreateFolders before InstallFiles)" \
	sh -c "msiinfo export '$msi' InstallExecuteSequence | tr -d '\r' | awk -F'\t' '
		\$1 == \"CreateFolders\" { c = \$3 } \$1 == \"InstallFiles\" { f = \$3 } END { exit !(c < f) }'"

echo "== uninstall removes the data only when asked (REMOVEDATA=1)"
# CustomAction: Action Type Source Target; 3170 = 34 exe + 64 ignore errors + 1024 deferred + 2048 as SYSTEM
expect "RemoveData: deferred, as SYSTEM, errors ignored, deletes %ProgramData%\\tsunagi and the registry record" \
	has CustomAction '$1 == "RemoveData" && $2 == 3170 && index($4, "rmdir /s /q \"[CommonAppDataFolder]tsunagi\"") && index($4, "delete HKLM\\SOFTWARE\\tsunagi /f")'
expect "only on a full uninstall with REMOVEDATA=1, never from an upgrade" \
	has InstallExecuteSequence '$1 == "RemoveData" && $2 == "REMOVE=\"ALL\" AND REMOVEDATA=\"1\" AND NOT UPGRADINGPRODUCTCODE"'
expect "after the service is stopped and deleted and the files removed" \
	sh -c "msiinfo export '$msi' InstallExecuteSequence | tr -d '\r' | awk -F'\t' '
		\$1 == \"DeleteServices\" { d = \$3 } \$1 == \"RemoveFiles\" { r = \$3 } \$1 == \"RemoveData\" { x = \$3 }
		\$1 == \"InstallFinalize\" { f = \$3 } END { exit !(d < x && r < x && x < f) }'"
expect "REMOVEDATA is a secure public property (reaches the elevated uninstall)" \
	has Property '$1 == "SecureCustomProperties" && ";" $2 ";" ~ /;REMOVEDATA;/'
expect "no default: a plain uninstall keeps the data" lacks Property '$1 == "REMOVEDATA"'

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
