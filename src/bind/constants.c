/* core.limits and core.null: see constants.h. */
#include "../pure/limits.h"
#include "support.h"
#include "constants.h"

int jc_open_constants(lua_State *L) {
  lua_pushlightuserdata(L, NULL); /* the same value as cjson.null */
  lua_setfield(L, -2, "null");
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
  lua_setfield(L, -2, "limits");
  return 0;
}
