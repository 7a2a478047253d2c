/* Benchmark hooks: what benchmarks measure the module with. */
#include <sys/resource.h>
#include <lauxlib.h>
#include "compat.h"
#include "bench.h"

/* cpu() -> seconds of CPU this process has used, user and system, as getrusage counts
   them: what the benchmarks compare with PHP's getrusage. */
static int l_cpu(lua_State *L) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  lua_pushnumber(L, (lua_Number)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
                        (lua_Number)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6);
  return 1;
}

static const luaL_Reg functions[] = {
  {"cpu", l_cpu},
  {NULL, NULL},
};

int jc_open_bench(lua_State *L) {
  luaL_setfuncs(L, functions, 0);
  return 0;
}
