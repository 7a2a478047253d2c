#!/usr/bin/env bash
# The specs under each Lua given (make test LUA_VERSION=...), then one line for them all:
# "N passed, N failed", the sum of each run's own last line. Fails when any run failed.
# Every build is made first; then the runs of all but the last Lua go at once (they wait on
# PHP, nginx and the network far more than on the CPU), and the last one runs alone, after them.
set -uo pipefail
passed=0 failed=0 status=0
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

for v in "$@"; do
  make --no-print-directory LUA_VERSION="$v" all > "$logs/build-$v" 2>&1 || { cat "$logs/build-$v"; exit 1; }
done
make --no-print-directory jit-module > "$logs/build-jit-module" 2>&1 || { cat "$logs/build-jit-module"; exit 1; }

run() { make --no-print-directory LUA_VERSION="$1" test > "$logs/$1" 2>&1; echo $? > "$logs/$1.status"; }
last=${!#}
for v in "$@"; do
  [ "$v" = "$last" ] || run "$v" &
done
wait
run "$last"

for v in "$@"; do
  echo "== Lua $v"
  cat "$logs/$v"
  [ "$(cat "$logs/$v.status")" -eq 0 ] || status=1
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$logs/$v" | tail -n 1)
  if [ -z "$line" ]; then
    echo "Lua $v: the specs did not finish" >&2
    status=1
    continue
  fi
  read -r p _ f _ <<< "$line"
  passed=$((passed + p))
  failed=$((failed + f))
done
echo "$passed passed, $failed failed"
exit $status
