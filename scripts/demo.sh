#!/usr/bin/env bash
# make demo: on a fresh Debian or Ubuntu machine, installs what is missing, builds, starts the
# sandbox on a free port, runs examples/demo.lua with the host against it, and stops the
# sandbox, even when something fails.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
make --no-print-directory all

work=$(mktemp -d)
pid=""
cleanup() {
  [ -n "$pid" ] && kill -TERM -- "-$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

JUSTCLICK_SANDBOX_DB="$work/sandbox.sqlite" setsid php sandbox/server.php 0 > "$work/log" 2>&1 &
pid=$!
url=""
for _ in $(seq 100); do
  url=$(sed -n 's/^sandbox listening on //p' "$work/log")
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "demo: the sandbox did not start:" >&2; cat "$work/log" >&2; exit 1; }

echo "demo: sandbox at $url"
JUSTCLICK_USER=demo JUSTCLICK_SECRET=sandbox-secret JUSTCLICK_API_URL="$url/api" \
  build/bin/justclick examples/demo.lua
