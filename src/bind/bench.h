/* Benchmark hooks for Lua: cpu. */
#ifndef JC_BIND_BENCH_H
#define JC_BIND_BENCH_H

#include <lua.h>

/* Adds cpu to the table on top of the stack. */
int jc_open_bench(lua_State *L);

#endif
