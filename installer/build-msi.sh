#!/usr/bin/env bash
# Builds the Windows installer on Linux with wixl (Debian: apt-get install wixl msitools gcab):
#
#   installer/build-msi.sh [EXE]      -> target/msi/tsunagi-<version>-x64.msi
#
# EXE (or TSUNAGI_EXE): a tsunagi.exe to package as it is (CI passes its debug cross-build to
# save a second build). Without it the production agent is cross-built first: release, no demo,
# stripped (the `windows` profile of Cargo.toml), for x86_64-pc-windows-gnu (rustup target and
# Debian's gcc-mingw-w64-x86-64). The version is the workspace's (Cargo.toml); the installer's
# source is installer/tsunagi.wxs, its config config-examples/windows.toml.
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\([^"]*\)"/\1/p' Cargo.toml)
[ -n "$version" ] || { echo "build-msi: no version in Cargo.toml [workspace.package]" >&2; exit 2; }
exe=${1:-${TSUNAGI_EXE:-}}
if [ -z "$exe" ]; then
  cargo build --locked -p tsunagi --no-default-features --profile windows --target x86_64-pc-windows-gnu
  exe=${CARGO_TARGET_DIR:-target}/x86_64-pc-windows-gnu/windows/tsunagi.exe
fi
[ -f "$exe" ] || { echo "build-msi: $exe not found" >&2; exit 2; }

# wixl takes sources by relative path only: stage them.
stage=target/msi/stage
rm -rf "$stage"
mkdir -p "$stage"
cp "$exe" "$stage/tsunagi.exe"
cp config-examples/windows.toml "$stage/tsunagi.toml"
cp installer/README.md "$stage/README.md"
cp installer/package-managed "$stage/package-managed"
out=target/msi/tsunagi-$version-x64.msi
wixl --arch x64 \
  -D Version="$version" \
  -D Exe="$stage/tsunagi.exe" \
  -D Config="$stage/tsunagi.toml" \
  -D Readme="$stage/README.md" \
  -D Marker="$stage/package-managed" \
  -o "$out" installer/tsunagi.wxs
# What Debian 12's wixl cannot say in the .wxs (the note at its end lists it), written with
# msibuild's SQL into the tables Windows Installer reads. tests/packaging/msi.sh reads them back.
sql() { msibuild "$out" -q "$1"; }

# The config's component is permanent (256 = 64-bit, + 16 = permanent) and installed only when
# no tsunagi.toml is in %ProgramData%\tsunagi (AppSearch: a file signature in that folder), so a
# hospital's config is never overwritten, whatever its dates; the restart component is installed
# only by an upgrade.
sql "UPDATE Component SET Attributes = 272, Condition = 'NOT TSUNAGI_CONFIG_FOUND' WHERE Component = 'Config'"
sql "UPDATE Component SET Condition = 'WIX_UPGRADE_DETECTED' WHERE Component = 'StartAfterUpgrade'"
sql "INSERT INTO Signature (Signature, FileName) VALUES ('ConfigFileSearch', 'tsunagi.toml')"
sql "CREATE TABLE DrLocator (Signature_ CHAR(72) NOT NULL, Parent CHAR(72), Path CHAR(255), Depth SHORT PRIMARY KEY Signature_, Parent, Path)"
sql "INSERT INTO DrLocator (Signature_, Path, Depth) VALUES ('ConfigFileSearch', '[CommonAppDataFolder]tsunagi', 0)"
sql "INSERT INTO AppSearch (Property, Signature_) VALUES ('TSUNAGI_CONFIG_FOUND', 'ConfigFileSearch')"
# wixl schedules AppSearch only for its own searches (standard place: 50, before the launch
# conditions and costing, where component conditions are decided).
for seq in InstallUISequence InstallExecuteSequence; do
  sql "INSERT INTO $seq (Action, Sequence) VALUES ('AppSearch', 50)"
done

# %ProgramData%\tsunagi locked when the installer creates it (CreateFolders runs before
# InstallFiles puts the config in): the agent's owner-only descriptor (owner_only/sddl.rs).
sql "CREATE TABLE MsiLockPermissionsEx (MsiLockPermissionsEx CHAR(72) NOT NULL, LockObject CHAR(72) NOT NULL, \`Table\` CHAR(32) NOT NULL, SDDLText LONGCHAR NOT NULL, Condition CHAR(255) PRIMARY KEY MsiLockPermissionsEx)"
sql "INSERT INTO MsiLockPermissionsEx (MsiLockPermissionsEx, LockObject, \`Table\`, SDDLText) VALUES ('HomeLock', 'HOMEDIR', 'CreateFolder', 'O:BAD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)')"

# Restart on failure, set by the installer (install and repair: events 1 + 4), the same plan the
# service sets again at each start (agent/src/service/status.rs RESTART_AFTER, reset after a day),
# also on a stop with an error code (SERVICE_CONFIG_FAILURE_ACTIONS_FLAG = 4).
sql "CREATE TABLE MsiServiceConfigFailureActions (MsiServiceConfigFailureActions CHAR(72) NOT NULL, Name CHAR(255) NOT NULL LOCALIZABLE, Event SHORT NOT NULL, ResetPeriod LONG, RebootMessage CHAR(255) LOCALIZABLE, Command CHAR(255) LOCALIZABLE, Actions CHAR(255), DelayActions CHAR(255), Component_ CHAR(72) NOT NULL PRIMARY KEY MsiServiceConfigFailureActions)"
sql "INSERT INTO MsiServiceConfigFailureActions (MsiServiceConfigFailureActions, Name, Event, ResetPeriod, Actions, DelayActions, Component_) VALUES ('TsunagiRestart', 'tsunagi', 5, 86400, '1[~]1[~]1', '10000[~]60000[~]300000', 'Agent')"
sql "CREATE TABLE MsiServiceConfig (MsiServiceConfig CHAR(72) NOT NULL, Name CHAR(255) NOT NULL LOCALIZABLE, Event SHORT NOT NULL, ConfigType LONG NOT NULL, Argument CHAR(255) LOCALIZABLE, Component_ CHAR(72) NOT NULL PRIMARY KEY MsiServiceConfig)"
sql "INSERT INTO MsiServiceConfig (MsiServiceConfig, Name, Event, ConfigType, Argument, Component_) VALUES ('TsunagiFailureFlag', 'tsunagi', 5, 4, '1', 'Agent')"
sql "INSERT INTO InstallExecuteSequence (Action, Condition, Sequence) VALUES ('MsiConfigureServices', 'VersionNT >= 600', 5850)"

# Uninstall keeps %ProgramData%\tsunagi unless asked: msiexec /x ... REMOVEDATA=1 deletes it
# (and the HKLM\SOFTWARE\tsunagi record) after the service is stopped and removed. Deferred, as
# SYSTEM (34 exe in a directory + 64 errors ignored + 1024 deferred + 2048 no impersonation): a
# file that cannot be deleted never rolls the uninstall back, and the log names it. Never during
# the removal of an older version by an upgrade.
sql "INSERT INTO CustomAction (Action, Type, Source, Target) VALUES ('RemoveData', 3170, 'CommonAppDataFolder', '\"[System64Folder]cmd.exe\" /c rmdir /s /q \"[CommonAppDataFolder]tsunagi\" & \"[System64Folder]reg.exe\" delete HKLM\\SOFTWARE\\tsunagi /f')"
sql "INSERT INTO InstallExecuteSequence (Action, Condition, Sequence) VALUES ('RemoveData', 'REMOVE=\"ALL\" AND REMOVEDATA=\"1\" AND NOT UPGRADINGPRODUCTCODE', 3510)"
# Public properties reach the elevated part of the install only when listed here.
sql "UPDATE Property SET Value = 'WIX_DOWNGRADE_DETECTED;WIX_UPGRADE_DETECTED;REMOVEDATA' WHERE Property = 'SecureCustomProperties'"
echo "$out"
