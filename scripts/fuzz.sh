#!/usr/bin/env bash
# scripts/fuzz.sh BUILD SECONDS NAME...: runs BUILD/NAME_fuzz for SECONDS each, from the seed
# corpus fuzz/corpus/NAME (new inputs go to BUILD/corpus-NAME, not into the repository), and
# prints executions and coverage. Fails when a harness finds a crash, a hang or a leak.
# make fuzz runs form (the form parser, pure C without Lua), query (the encoder), reply (the reply
# path) and parse_query (the form parser through Lua).
set -uo pipefail
build=$1 seconds=$2
shift 2
status=0
for name in "$@"; do
  work="$build/corpus-$name"
  mkdir -p "$work"
  log="$build/$name.log"
  "$build/${name}_fuzz" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/$name-" "$work" "fuzz/corpus/$name" > "$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  corpus=$(ls "$work" | wc -l)
  echo "fuzz $name: exit $rc, ${execs:-?} executions in ${seconds}s, ${cov:-cov: ?} edges, $corpus new inputs"
  if [ "$rc" -ne 0 ]; then
    grep -E "ERROR|SUMMARY|runtime error|==[0-9]+==" "$log" | head -20
    status=1
  fi
done
exit $status
