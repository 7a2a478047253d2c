/* The module as a whole: its shared state, and how each file adds its functions to the module
   table. Each file's own header declares its jc_open_* and what other files need of it; this one
   declares only what they share. */
#ifndef JC_CORE_H
#define JC_CORE_H

#include "compat.h"
#include "query.h"
#include "sign.h"

#define JC_VERSION "0.2.0"

/* The shared object exports luaopen_justclick_core and nothing else: everything is built with
   -fvisibility=hidden, and this marks the one exception. */
#if defined(__GNUC__)
#define JC_EXPORT __attribute__((visibility("default")))
#else
#define JC_EXPORT
#endif

/* One per loaded module, passed to every function as upvalue 1. It holds scratch space, so
   that calls in the steady state allocate nothing. A finalizer may call the core while a call is
   under way (any Lua allocation may run one), so a call claims `query` through jc_query_call
   (`busy`). After the state's own finalizer, `busy` stays set: finalizers that run later, as the
   Lua state closes, work with scratch of their own. */
typedef struct {
  jc_query query;
  jc_memo memo; /* query's */
  int busy;
} jc_state;

/* Inside a function added by jc_add_functions: the module's state. */
jc_state *jc_state_of(lua_State *L);

/* For the jc_open_* functions, which luaopen_justclick_core calls with the module table on top
   of the stack: adds the functions of l to the table on top of the stack (the module table, or
   a table of it), each with the module's state as upvalue 1, for jc_state_of. */
void jc_add_functions(lua_State *L, const luaL_Reg *l);
/* The same, into the module's `safe` table: the forms that return nil and the problem. */
void jc_add_safe_functions(lua_State *L, const luaL_Reg *l);

/* Makes the metatable `name` of a userdata type (once per Lua state): methods as __index, gc as
   __gc and __close. Leaves the stack as it was. */
void jc_new_type(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction gc);

JC_EXPORT int luaopen_justclick_core(lua_State *L);

/* preload.c, in programs with justclick inside: package.preload for justclick.core and for the
   embedded justclick module. */
void jc_preload(lua_State *L);

#endif
