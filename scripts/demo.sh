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
serve=""
cleanup() {
  if [ -n "$serve" ]; then kill -TERM "$serve" 2>/dev/null || true; fi
  if [ -n "$pid" ]; then kill -TERM -- "-$pid" 2>/dev/null || true; fi
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

# The shop's side: justclick serve with examples/on_paid.lua, on a free port; the sandbox
# notifies it of every event.
export JUSTCLICK_USER=demo JUSTCLICK_SECRET=sandbox-secret JUSTCLICK_API_URL="$url/api"
ACCESS_FILE="$work/access.txt" build/bin/justclick serve --listen 127.0.0.1:0 --inbox "$work/inbox" \
  examples/on_paid.lua 2> "$work/serve.log" &
serve=$!
port=""
for _ in $(seq 100); do
  port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/serve.log")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "demo: justclick serve did not start:" >&2; cat "$work/serve.log" >&2; exit 1; }
curl -s -o /dev/null -d "url=http://127.0.0.1:$port/justclick/notify" "$url/__sandbox/notify"
echo "demo: justclick serve on port $port receives the notifications"

build/bin/justclick examples/demo.lua
for _ in $(seq 100); do # the sandbox notifies in the background
  grep -q . "$work/access.txt" 2>/dev/null && break
  sleep 0.1
done
kill -TERM "$serve"
wait "$serve" || true
grep -q . "$work/access.txt" || { echo "demo: no paid event arrived:" >&2; cat "$work/serve.log" >&2; exit 1; }
echo "demo: access granted: $(cut -f2,3 "$work/access.txt")"
