#!/usr/bin/env bash
# Installs PostGraphile 4.14.1 from the npm registry under .bench/postgraphile
# (git-ignored), once. Needs node and npm (Debian: apt-get install nodejs npm).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dest="$root/.bench/postgraphile"
if [ -f "$dest/node_modules/postgraphile/package.json" ] &&
   grep -q '"version": "4.14.1"' "$dest/node_modules/postgraphile/package.json"; then
  exit 0
fi
command -v npm >/dev/null || { echo "bench-http: npm not found (apt-get install nodejs npm)" >&2; exit 1; }
mkdir -p "$dest"
cp "$root/bench/postgraphile/package.json" "$dest/package.json"
cd "$dest"
npm install --no-audit --no-fund --omit=dev --loglevel=error
