/* build_query for Lua: the encoder (encode.c) run through the call protocol (support.c). */
#include <lauxlib.h>
#include "encode.h"
#include "support.h"
#include "query.h"

static void build_query_body(lua_State *L, jc_query *q, void *ud) {
  jc_query_encode(L, q, 1, *(const size_t *)ud, 0);
  lua_pushlstring(L, q->out.data, q->out.len);
}

static int build_query_call(lua_State *L, int safe) {
  size_t max_vars;
  luaL_checktype(L, 1, LUA_TTABLE);
  max_vars = jc_query_options(L, 2);
  return jc_query_call(L, 1, build_query_body, &max_vars, safe) ? 1 : jc_query_refused(L);
}

/* build_query(params [, options]) -> string */
static int l_build_query(lua_State *L) {
  return build_query_call(L, 0);
}

/* safe.build_query(params [, options]) -> string | nil, problem */
static int l_safe_build_query(lua_State *L) {
  return build_query_call(L, 1);
}

static const luaL_Reg functions[] = {
  {"build_query", l_build_query},
  {NULL, NULL},
};

static const luaL_Reg safe_functions[] = {
  {"build_query", l_safe_build_query},
  {NULL, NULL},
};

int jc_open_query(lua_State *L) {
  jc_add_functions(L, functions);
  jc_add_safe_functions(L, safe_functions);
  return 0;
}
