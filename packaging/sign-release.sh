#!/bin/sh
# Packs and signs a tsunagi release for `tsunagi update`, and writes its manifest entry.
#
#   packaging/sign-release.sh BINARY VERSION TARGET PRIVATE_KEY OUT_DIR [CHANNEL]
#
#   BINARY       the built binary (target/release/tsunagi, or tsunagi.exe for Windows)
#   VERSION      its version (semver, as in Cargo.toml: 0.1.1)
#   TARGET       the Rust target triple it was built for (x86_64-unknown-linux-gnu, x86_64-pc-windows-gnu)
#   PRIVATE_KEY  the zipsign private key file (64 bytes: ed25519 secret + public). The project's
#                release key is kept offline, never in the repository; its public half is
#                packaging/release-key.pub.hex, compiled into tsunagi as the default trusted key.
#   OUT_DIR      where tsunagi-VERSION-TARGET.tar.gz and manifest.json go (an existing
#                manifest.json there gets the release added; other releases stay)
#   CHANNEL      default "stable"
#
# Signing uses the zipsign CLI (crates.io `zipsign`), installed project-locally:
#   cargo install zipsign --version 0.2.2 --locked --root target/tools
# The signature is bound to the archive's file name (zipsign's context): a renamed archive does
# not verify. Check a signed archive with:
#   target/tools/bin/zipsign verify tar OUT_DIR/tsunagi-VERSION-TARGET.tar.gz PUBLIC_KEY_FILE
# (PUBLIC_KEY_FILE: the 32 raw bytes, `xxd -r -p packaging/release-key.pub.hex > release.pub`).
#
# Publish OUT_DIR on the hospital's or vendor's HTTPS mirror; point [update] manifest_url at its
# manifest.json. A new key pair: `zipsign gen-key release.key release.pub`, then
# `xxd -p -c 64 release.pub > packaging/release-key.pub.hex` (old agents trust only the old key:
# sign with both keys during a change, `zipsign sign tar IN old.key new.key`).
set -eu

[ $# -ge 5 ] || { sed -n '2,30p' "$0"; exit 2; }
binary=$1 version=$2 target=$3 key=$4 out=$5 channel=${6:-stable}

zipsign=${ZIPSIGN:-}
if [ -z "$zipsign" ]; then
    here=$(cd "$(dirname "$0")/.." && pwd)
    if [ -x "$here/target/tools/bin/zipsign" ]; then zipsign=$here/target/tools/bin/zipsign
    else zipsign=$(command -v zipsign || true); fi
fi
[ -n "$zipsign" ] || { echo "zipsign not found: cargo install zipsign --version 0.2.2 --locked --root target/tools" >&2; exit 1; }

case $target in *windows*) inner=tsunagi.exe ;; *) inner=tsunagi ;; esac
name=tsunagi-$version-$target.tar.gz
mkdir -p "$out"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp "$binary" "$stage/$inner"
chmod 755 "$stage/$inner"
tar -C "$stage" -czf "$stage/$name" "$inner"
"$zipsign" sign tar -f -c "$name" -o "$out/$name" "$stage/$name" "$key"

size=$(wc -c < "$out/$name" | tr -d ' ')
sha256=$(sha256sum "$out/$name" | cut -d' ' -f1)
python3 - "$out/manifest.json" "$version" "$channel" "$target" "$name" "$sha256" "$size" <<'PY'
import json, os, sys
path, version, channel, target, url, sha256, size = sys.argv[1:]
m = json.load(open(path)) if os.path.exists(path) else {"releases": []}
m["releases"] = [r for r in m["releases"]
                 if not (r["version"] == version and r["channel"] == channel and r["target"] == target)]
m["releases"].append({"version": version, "channel": channel, "target": target,
                      "url": url, "sha256": sha256, "size": int(size)})
json.dump(m, open(path, "w"), indent=2)
PY
echo "signed $out/$name ($size bytes, sha256 $sha256); manifest $out/manifest.json"
