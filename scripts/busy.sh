#!/usr/bin/env bash
# scripts/busy.sh COMMAND...: runs COMMAND while BUSY_HOGS shells (default 1: one of two cores)
# spin on the CPU at the tests' own priority, as other work on the machine would; its exit
# status is COMMAND's. The spinners are stopped however it ends (failure, Ctrl-C, TERM), and
# end by themselves within a fraction of a second should this script be killed outright.
set -u
hogs=()
stop() {
  [ ${#hogs[@]} -gt 0 ] && kill "${hogs[@]}" 2> /dev/null
  hogs=()
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for ((i = 0; i < ${BUSY_HOGS:-1}; i++)); do
  # spins while this script lives (a look every 100000 turns)
  sh -c 'while kill -0 "$1" 2> /dev/null; do i=0; while [ $i -lt 100000 ]; do i=$((i + 1)); done; done' sh $$ &
  hogs+=($!)
done
echo "busy: ${#hogs[@]} spinning shell(s) on $(nproc) cores while: $*"
"$@"
