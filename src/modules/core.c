/* luaopen_justclick_core: makes the module table and the shared state, then lets each file add
   its own functions (jc_open_*), as LuaSocket's luasocket.c does. */
#include <string.h>
#include <lauxlib.h>
#include "core.h"
#include "form.h"
#include "http.h"
#include "journal.h"
#include "limits.h"
#include "notify.h"
#include "reply.h"
#include "secret.h"
#include "serve.h"
#include "sys.h"

#define JC_STATE_TYPE "justclick.state"

static const char state_key = 0; /* registry[&state_key]: the state, while the module opens */

jc_state *jc_state_of(lua_State *L) {
  return (jc_state *)lua_touserdata(L, lua_upvalueindex(1));
}

void jc_add_functions(lua_State *L, const luaL_Reg *l) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &state_key);
  luaL_setfuncs(L, l, 1);
}

void jc_add_safe_functions(lua_State *L, const luaL_Reg *l) {
  lua_getfield(L, -1, "safe");
  jc_add_functions(L, l);
  lua_pop(L, 1);
}

void jc_new_type(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction gc) {
  if (luaL_newmetatable(L, name)) {
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__close");
  }
  lua_pop(L, 1);
}

static int state_gc(lua_State *L) {
  jc_state *s = (jc_state *)luaL_checkudata(L, 1, JC_STATE_TYPE);
  jc_query_free(&s->query);
  jc_memo_close(L, &s->memo);
  s->busy = 1; /* for good: calls from later finalizers take scratch of their own */
  return 0;
}

/* core.limits: the limits of limits.h that the Lua side checks against. */
static void push_limits(lua_State *L) {
  lua_createtable(L, 0, 7);
  lua_pushinteger(L, JC_MAX_JOBS);
  lua_setfield(L, -2, "jobs");
  lua_pushinteger(L, JC_DEFAULT_MAX_VARS);
  lua_setfield(L, -2, "max_input_vars");
  lua_pushinteger(L, JC_MAX_DEPTH);
  lua_setfield(L, -2, "max_input_nesting_level");
  lua_pushinteger(L, (lua_Integer)JC_DEFAULT_MAX_REPLY);
  lua_setfield(L, -2, "max_reply");
  lua_pushinteger(L, (lua_Integer)JC_KEEP_BYTES);
  lua_setfield(L, -2, "keep_bytes");
  lua_pushnumber(L, JC_INTEGER_BOUND); /* a float: no Lua integer reaches it */
  lua_setfield(L, -2, "integer_bound");
  lua_pushnumber(L, JC_EXACT_BOUND);
  lua_setfield(L, -2, "exact_bound");
}

JC_EXPORT int luaopen_justclick_core(lua_State *L) {
  jc_state *s;
  lua_newtable(L);
  s = (jc_state *)lua_newuserdatauv(L, sizeof *s, 0);
  memset(s, 0, sizeof *s);
  /* The finalizer is in place before anything is allocated, so nothing leaks on failure. */
  if (luaL_newmetatable(L, JC_STATE_TYPE)) {
    lua_pushcfunction(L, state_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  jc_memo_open(L, &s->memo);
  s->query.memo = &s->memo;
  /* Held in the registry only while the files add their functions: then their upvalues hold it. */
  lua_rawsetp(L, LUA_REGISTRYINDEX, &state_key);
  lua_newtable(L); /* core.safe: functions that return nil and the problem, as cjson.safe's */
  lua_setfield(L, -2, "safe");
  jc_open_query(L);
  jc_open_form(L);
  jc_open_sign(L);
  jc_open_reply(L);
  jc_open_http(L);
  jc_open_journal(L);
  jc_open_sys(L);
  jc_open_secret(L);
  jc_open_notify(L);
  jc_open_serve(L);
  lua_pushnil(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &state_key);
  lua_pushlightuserdata(L, NULL); /* the same value as cjson.null */
  lua_setfield(L, -2, "null");
  push_limits(L);
  lua_setfield(L, -2, "limits");
  lua_pushliteral(L, JC_VERSION);
  lua_setfield(L, -2, "_VERSION");
  return 1;
}
