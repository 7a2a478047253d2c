#!/usr/bin/env bash
# make nginx-example: runs examples/nginx (a checkout page inside nginx) against the sandbox,
# with nothing installed: builds the module for LuaJIT (nginx's Lua), starts the sandbox, makes
# an nginx prefix of its own (logs/, temp/, the example's files, the work tree's module linked
# in, justclick-api.conf pointing at the sandbox), starts nginx in the foreground, prints what
# to try, and stops everything on Ctrl-C.
#
#   scripts/nginx-example.sh            # PORT=8080 by default: where the shop listens
#   scripts/nginx-example.sh --check    # runs a checkout and its payment through it, and exits:
#                                       # 0 once the payment is granted, 1 otherwise
#
# Needs nginx with lua-nginx-module (Debian: nginx libnginx-mod-http-lua; scripts/deps.sh
# installs them) or OpenResty (NGINX=openresty), and php and curl for the sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
check=""
case "${1:-}" in
  --check) check=yes ;;
  "") ;;
  *) echo "usage: scripts/nginx-example.sh [--check]" >&2; exit 2 ;;
esac
port=${PORT:-8080}
nginx=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
say() { echo "nginx-example: $*"; }
[ -x "$nginx" ] || command -v "$nginx" > /dev/null || { say "no nginx ($nginx): run scripts/deps.sh" >&2; exit 1; }
# Whether something listens on the shop's port: then whatever answers there is not the example
# (another program, or a second run of this script), and nginx would not start.
port_taken() { (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null; }
in_use() { say "port $port is in use: stop what holds it, or choose another with PORT=N (make nginx-example PORT=N)" >&2; }
port_taken && { in_use; exit 1; }

make --no-print-directory LUA_VERSION=jit all > /dev/null # justclick/core.so for nginx's LuaJIT

work=$(mktemp -d)
chmod 755 "$work" # nginx reads the prefix, whoever it runs as
sandbox=""
server=""
# A watchdog for a SIGKILL of this script, which runs no trap: once the script is gone it stops
# what the script started (their pids are in $work), and removes $work. The cleanup below ends
# the watchdog first, so that it never signals a pid that a stopped process has given back.
( trap '' INT HUP
  while kill -0 $$ 2> /dev/null; do sleep 1; done
  [ -s "$work/nginx.pid" ] && kill -QUIT "$(cat "$work/nginx.pid")" 2> /dev/null
  [ -s "$work/sandbox.pid" ] && kill -TERM -- "-$(cat "$work/sandbox.pid")" 2> /dev/null
  rm -rf "$work" ) < /dev/null > /dev/null 2>&1 &
watchdog=$!
cleanup() {
  kill "$watchdog" 2> /dev/null || true
  if [ -n "$server" ]; then kill -QUIT "$server" 2> /dev/null || true; wait "$server" 2> /dev/null || true; fi
  if [ -n "$sandbox" ]; then kill -TERM -- "-$sandbox" 2> /dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# The sandbox, on a free port, in a session of its own (its processes stop together). Its log
# is made first: the background job opens it only once it runs, and the sed below, under set -e,
# would end this script on a log not there yet (seen with three spec runs at once).
: > "$work/sandbox.log"
JUSTCLICK_SANDBOX_DB="$work/sandbox.sqlite" setsid php sandbox/server.php 0 > "$work/sandbox.log" 2>&1 &
sandbox=$!
echo "$sandbox" > "$work/sandbox.pid"
api=""
for _ in $(seq 150); do
  api=$(sed -n 's/^sandbox listening on //p' "$work/sandbox.log")
  [ -n "$api" ] && break
  kill -0 "$sandbox" 2> /dev/null || break
  sleep 0.1
done
[ -n "$api" ] || { say "the sandbox did not start:" >&2; cat "$work/sandbox.log" >&2; exit 1; }

# The prefix: the example as it is, but for the port it listens on; where JustClick is; the
# work tree's module, laid out as installed, where "$prefix/?.lua" and "$prefix/?.so" look.
prefix=$work/nginx
mkdir -p "$prefix/logs" "$prefix/temp" "$prefix/justclick"
grep -c '^        listen 8080;$' examples/nginx/nginx.conf | grep -qx 1 \
  || { say "examples/nginx/nginx.conf: no one line 'listen 8080;'" >&2; exit 1; }
sed "s/^        listen 8080;\$/        listen 127.0.0.1:$port;/" examples/nginx/nginx.conf > "$prefix/nginx.conf"
if [ ! -f /usr/lib/nginx/modules/ngx_http_lua_module.so ]; then # OpenResty: the module is built in
  sed -i '/^load_module /d' "$prefix/nginx.conf"
fi
cp examples/nginx/checkout.lua "$prefix/"
cp lua/justclick/nginx-upstream.conf "$prefix/"
echo "proxy_pass $api/api/;   # the sandbox (make nginx-example)" > "$prefix/justclick-api.conf"
ln -s "$root/lua/justclick.lua" "$prefix/justclick.lua"
ln -s "$root"/lua/justclick/* "$prefix/justclick/"
ln -s "$root/build-jit/lua/justclick/core.so" "$prefix/justclick/core.so"

# The shop's notification URL, for every event; then nginx, one process in the foreground.
curl -sf -o /dev/null -d "url=http://127.0.0.1:$port/justclick/paid" "$api/__sandbox/notify"
JUSTCLICK_USER=demo JUSTCLICK_SECRET=sandbox-secret "$nginx" -p "$prefix/" -c nginx.conf \
  -e "$prefix/logs/error.log" -g 'daemon off; master_process off;' > "$work/nginx.out" 2>&1 &
server=$!
echo "$server" > "$work/nginx.pid"
up=""
for _ in $(seq 150); do
  # taken since the check above: nginx cannot bind, and what answers is not it
  if grep -qs 'bind() to .* failed' "$prefix/logs/error.log" "$work/nginx.out"; then in_use; exit 1; fi
  if curl -s -o /dev/null "http://127.0.0.1:$port/"; then up=yes; break; fi
  kill -0 "$server" 2> /dev/null || break
  sleep 0.1
done
[ -n "$up" ] || { say "nginx did not start:" >&2; cat "$work/nginx.out" "$prefix/logs/error.log" >&2 || true; exit 1; }

shop=http://127.0.0.1:$port
if [ -z "$check" ]; then
  cat <<EOF
nginx-example: the shop (examples/nginx) at $shop, the sandbox standing in for JustClick at $api
Try:
  curl -si -d email=buyer@example.com -d product=course $shop/checkout   # 303 to the bill's payment link
  curl -d bill_id=100001 $api/__sandbox/pay      # the buyer pays; JustClick notifies $shop/justclick/paid
  grep justclick: $prefix/logs/error.log      # "justclick: granted bill 100001 to buyer@example.com: course ..."
Ctrl-C stops nginx and the sandbox.
EOF
  wait "$server"
  exit
fi

# --check: a buyer's checkout, then the payment, through the example.
status=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -d email=buyer@example.com -d product=course "$shop/checkout")
say "checkout: $status"
[ "${status%% *}" = 303 ] || { say "the checkout was not redirected to a payment link" >&2; cat "$prefix/logs/error.log" >&2; exit 1; }
bill=$(curl -s "$api/__sandbox/orders" | grep -o '"id":[0-9]*' | head -n 1 | cut -d: -f2)
[ -n "$bill" ] || { say "the sandbox holds no order" >&2; exit 1; }
say "pay: $(curl -s -d "bill_id=$bill" "$api/__sandbox/pay")"
for _ in $(seq 150); do
  grep -q "justclick: granted bill $bill " "$prefix/logs/error.log" && break
  sleep 0.1
done
if ! grep -q "justclick: granted bill $bill " "$prefix/logs/error.log"; then
  say "no grant of bill $bill in nginx's error log:" >&2
  cat "$prefix/logs/error.log" >&2
  exit 1
fi
grep -o "justclick: .*" "$prefix/logs/error.log" | sed 's/ while .*//; s/, client: .*//; s/^/nginx-example: log: /'
say "ok: bill $bill created through nginx, paid, its notification confirmed and granted"
