/* Clocks, and the SIGINT flag that the host sets and long waits check: no Lua here. */
#ifndef JC_SYS_H
#define JC_SYS_H

#include <signal.h>
#include <time.h>

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
