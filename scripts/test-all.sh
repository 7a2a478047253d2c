#!/usr/bin/env bash
# The specs under each Lua given (make test LUA_VERSION=...), then one line for them all:
# "N passed, N failed", the sum of each run's own last line. Fails when any run failed.
# Every build is made first; then the runs of all but the last Lua go at once (they wait on
# PHP, nginx and the network far more than on the CPU), and the last one runs alone, after them.
# It says what runs as it goes, and a line as each run ends: its counts and how long it took.
# Each run's whole output is kept in TEST_LOGS (build/test-logs); a failed run's is printed.
set -uo pipefail
logs=${TEST_LOGS:-build/test-logs}
mkdir -p "$logs" || exit 1
rm -f "$logs"/*
passed=0 failed=0 status=0 start=$SECONDS
runs=()

# Stops the runs still going (and, through their busted, their sandboxes) on Ctrl-C or TERM.
stop() {
  trap - INT TERM
  echo "test-all: stopped; the logs so far are in $logs/" >&2
  for pid in "${runs[@]}"; do kill -TERM -- -"$pid" 2> /dev/null; done
  wait
  exit 130
}
trap stop INT TERM

echo "== building for Lua $*"
for v in "$@"; do
  make --no-print-directory LUA_VERSION="$v" all > "$logs/build-$v" 2>&1 || { cat "$logs/build-$v"; exit 1; }
done
make --no-print-directory jit-module > "$logs/build-jit-module" 2>&1 || { cat "$logs/build-jit-module"; exit 1; }

# The counts line of a run's log ("N passed, N failed"), or nothing when it did not finish.
counts() { grep -E '^[0-9]+ passed, [0-9]+ failed' "$logs/$1" | tail -n 1; }

# One Lua's run: its output to its log, then one line that says how it went.
run() {
  local v=$1 began=$SECONDS code
  make --no-print-directory LUA_VERSION="$v" test > "$logs/$v" 2>&1
  code=$?
  echo "$code" > "$logs/$v.status"
  echo "   Lua $v: $(counts "$v" || echo "did not finish (exit $code)") in $((SECONDS - began)) s"
}

# Runs at once the given Lua's runs, each in a process group of its own that stop() can end
# whole, and waits for them (a wait that a signal interrupts, unlike a command's).
at_once() {
  local v
  for v in "$@"; do
    set -m
    run "$v" &
    set +m
    runs+=($!)
  done
  wait
  runs=()
}

last=${!#}
others=()
for v in "$@"; do [ "$v" = "$last" ] || others+=("$v"); done
if [ ${#others[@]} -gt 0 ]; then
  echo "== specs under Lua ${others[*]}, at once"
  at_once "${others[@]}"
fi
echo "== specs under Lua $last"
at_once "$last"

for v in "$@"; do
  line=$(counts "$v")
  if [ "$(cat "$logs/$v.status")" -ne 0 ] || [ -z "$line" ]; then
    status=1
    echo "== Lua $v failed; its whole output ($logs/$v):"
    cat "$logs/$v"
  fi
  [ -n "$line" ] || continue
  read -r p _ f _ <<< "$line"
  passed=$((passed + p))
  failed=$((failed + f))
done
echo "== all runs took $((SECONDS - start)) s; each one's output is in $logs/"
echo "$passed passed, $failed failed"
exit $status
