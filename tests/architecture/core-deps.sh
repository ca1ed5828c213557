#!/usr/bin/env bash
# The pure core (tsunagi-clins: map -> build -> validate) must not depend on I/O crates
# (ARCHITECTURE.md, "clins/"). Its Cargo.toml leaves them out; this check fails CI when one
# arrives transitively too, through any normal dependency.
# Usage: bash tests/architecture/core-deps.sh [package]   (default: tsunagi-clins)
set -euo pipefail
cd "$(dirname "$0")/../.."

package="${1:-tsunagi-clins}"
forbidden='^(rusqlite|tokio|reqwest|hyper|axum) '

tree="$(cargo tree -p "$package" -e normal --locked --offline --prefix none)"
found="$(printf '%s\n' "$tree" | sed 's/ (\*)$//' | grep -E "$forbidden" | sort -u || true)"
if [ -n "$found" ]; then
  echo "core-deps: $package depends on crates the pure core forbids:" >&2
  printf '%s\n' "$found" | sed 's/^/  /' >&2
  echo "  (see: cargo tree -p $package -e normal -i <crate>)" >&2
  exit 1
fi
echo "core-deps: $package has none of rusqlite, tokio, reqwest, hyper, axum"
