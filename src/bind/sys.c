/* What the module needs of the system: time, sleep, whether a file is a terminal. */
#define _GNU_SOURCE /* nanosleep, fileno, CLOCK_BOOTTIME */
#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <lauxlib.h>
#include "compat.h"
#include "../pure/sys.h"
#include "support.h"
#include "sys.h"

/* sleep(seconds): the pause between attempts, at most an hour. Another signal only interrupts
   it; SIGINT in the host (jc_interrupted, checked before each wait) ends it. */
static int l_sleep(lua_State *L) {
  lua_Number seconds = luaL_checknumber(L, 1);
  struct timespec t, left;
  if (!(seconds > 0)) return 0;
  if (seconds > 3600) seconds = 3600;
  t.tv_sec = (time_t)seconds;
  t.tv_nsec = (long)((seconds - (lua_Number)t.tv_sec) * 1e9);
  while (!jc_interrupted && nanosleep(&t, &left) != 0 && errno == EINTR) t = left;
  return 0;
}

/* now() -> seconds on a monotonic clock, for measuring calls. */
static int l_now(lua_State *L) {
  lua_pushnumber(L, (lua_Number)jc_clock(CLOCK_MONOTONIC));
  return 1;
}

/* time() -> seconds since the epoch, with a fraction: when a request went out, for the import's
   journal, whose times are compared with the server's. */
static int l_time(lua_State *L) {
  lua_pushnumber(L, (lua_Number)jc_clock(CLOCK_REALTIME));
  return 1;
}

/* boottime() -> seconds since the machine booted, suspensions included (CLOCK_BOOTTIME), and
   the boot's id: a clock that no step of the wall clock moves, the same in every process of one
   boot. The import times its waits and reads the server's clock with it. */
static int l_boottime(lua_State *L) {
  static char id[64]; /* read once: a process lives within one boot */
  static size_t id_len;
  static int id_read;
  struct timespec t;
  if (clock_gettime(CLOCK_BOOTTIME, &t) != 0) return 0;
  if (!id_read) {
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (f) {
      id_len = fread(id, 1, sizeof id, f);
      fclose(f);
    }
    while (id_len > 0 && (id[id_len - 1] == '\n' || id[id_len - 1] == ' ')) id_len--;
    id_read = 1;
  }
  lua_pushnumber(L, (lua_Number)t.tv_sec + (lua_Number)t.tv_nsec / 1e9);
  lua_pushlstring(L, id, id_len);
  return 2;
}

/* isatty(file) -> whether the Lua file (io.stderr, say) is a terminal. */
static int l_isatty(lua_State *L) {
  FILE *f = jc_compat_tofile(L, 1);
  lua_pushboolean(L, f != NULL && isatty(fileno(f)));
  return 1;
}

static const luaL_Reg functions[] = {
  {"sleep", l_sleep},
  {"now", l_now},
  {"time", l_time},
  {"boottime", l_boottime},
  {"isatty", l_isatty},
  {NULL, NULL},
};

int jc_open_sys(lua_State *L) {
  luaL_setfuncs(L, functions, 0);
  return 0;
}
