/* The module entries: each makes its module's table from the bindings' jc_open_* functions, and
   is the one name its shared object exports (JC_EXPORT). */
#ifndef JC_MODULES_H
#define JC_MODULES_H

#include <lua.h>

/* Everything is built with -fvisibility=hidden; this marks the exceptions. */
#if defined(__GNUC__)
#define JC_EXPORT __attribute__((visibility("default")))
#else
#define JC_EXPORT
#endif

/* justclick.core: the library, for every Lua (libcurl and OpenSSL). */
JC_EXPORT int luaopen_justclick_core(lua_State *L);
/* justclick.receiver: the notification receiver, for Lua 5.4 (libmicrohttpd and threads). */
JC_EXPORT int luaopen_justclick_receiver(lua_State *L);
/* justclick.bench: hooks for benchmarks and specs only (cpu); never installed. */
JC_EXPORT int luaopen_justclick_bench(lua_State *L);

#endif
