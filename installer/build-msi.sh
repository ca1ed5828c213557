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
# What Debian 12's wixl cannot say in the .wxs (see its end): the config's component is
# permanent (256 = 64-bit, + 16 = permanent) and placed only once; the restart component is
# installed only by an upgrade.
msibuild "$out" -q "UPDATE Component SET Attributes = 272, Condition = 'NOT TSUNAGI_CONFIG_PLACED' WHERE Component = 'Config'"
msibuild "$out" -q "UPDATE Component SET Condition = 'WIX_UPGRADE_DETECTED' WHERE Component = 'StartAfterUpgrade'"
echo "$out"
