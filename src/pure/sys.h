/* What the module needs of the system: clocks, sleeping, CPU time, terminals, SIGINT. */
#ifndef JC_SYS_H
#define JC_SYS_H

#include <signal.h>
#include <time.h>
#include <lua.h>

/* Adds sleep, now, time, boottime, isatty and _bench_cpu to the module table on top of the
   stack. */
int jc_open_sys(lua_State *L);

/* Set by the host's SIGINT handler: transfers in flight stop at once, and sleep ends. */
extern volatile sig_atomic_t jc_interrupted;

/* Seconds on a clock, with a fraction: the monotonic one (durations, and when a retry is due),
   and the wall clock (times kept or shown). */
static inline double jc_clock(clockid_t which) {
  struct timespec t;
  clock_gettime(which, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

#endif
