#!/usr/bin/env bash
# scripts/memcheck-serve.sh "VALGRIND COMMAND" HOST: `justclick serve` under valgrind, given
# notifications verified, forged, oversized, sent again and a second of one payment, a failing
# handler, /health, then SIGTERM. Fails on any definite leak or invalid access (valgrind's exit status), or when the
# receiver does not answer as it should. --no-confirm: no API here to read the bills back from.
set -euo pipefail
valgrind=$1 host=$2
work=$(mktemp -d)
trap 'kill -KILL "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
secret=memcheck-secret
cat > "$work/handler.lua" <<'LUA'
return function(event) if event.id == 7 then return nil, "refused" end return true end
LUA
JUSTCLICK_USER=memcheck JUSTCLICK_SECRET=$secret $valgrind "$host" serve --listen 127.0.0.1:0 \
  --inbox "$work/inbox" --attempts 2 --no-confirm "$work/handler.lua" 2> "$work/log" &
pid=$!
for _ in $(seq 300); do
  port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/log")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat "$work/log" >&2; exit 1; }
post() { curl -s -o /dev/null -w '%{http_code}' --data-binary "$1" "http://127.0.0.1:$port/notify"; }
sign() { printf '%s' "$1" | md5sum | cut -d' ' -f1; }
paid="2026-11-23 10:00:00"
ok="id=5&email=a%40b.c&paid=2026-11-23+10%3A00%3A00&items%5B0%5D%5Bid%5D=x&hash=$(sign "5a@b.c$paid$secret")"
bad="id=7&email=a%40b.c&paid=2026-11-23+10%3A00%3A00&hash=$(sign "7a@b.c$paid$secret")"
expect() { [ "$1" = "$2" ] || { echo "memcheck-serve: got $1, expected $2" >&2; cat "$work/log" >&2; exit 1; }; }
expect "$(post "$ok")" 200
expect "$(post "$ok")" 200
expect "$(post "$bad")" 200
# the same payment again with another sum: another event of bill 5, settled as a duplicate
expect "$(post "id=5&email=a%40b.c&paid=2026-11-23+10%3A00%3A00&last_payment_sum=1&hash=$(sign "5a@b.c$paid$secret")")" 200
expect "$(post "${ok/hash=/hash=0}")" 403
expect "$(post "nothing=here")" 400
expect "$(head -c 70000 /dev/zero | tr '\0' a | curl -s -o /dev/null -w '%{http_code}' --data-binary @- "http://127.0.0.1:$port/")" 413
expect "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health")" 200
sleep 3 # the failing handler: tried, then parked
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
[ "$status" -eq 0 ] || { echo "memcheck-serve: exit status $status" >&2; cat "$work/log" >&2; exit 1; }
grep -q "parked paid-7-" "$work/log" || { cat "$work/log" >&2; exit 1; }
grep -q "bill 5's payment was handled already" "$work/log" || { cat "$work/log" >&2; exit 1; }
echo "memcheck-serve: clean"
