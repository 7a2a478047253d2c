#!/usr/bin/env bash
# The specs under each Lua in turn (make test LUA_VERSION=...), then one line for them all:
# "N passed, N failed", the sum of each run's own last line. Fails when any run failed.
set -uo pipefail
passed=0 failed=0 status=0
for v in "$@"; do
  echo "== Lua $v"
  log=$(mktemp)
  make --no-print-directory LUA_VERSION="$v" test 2>&1 | tee "$log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
  rm -f "$log"
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
