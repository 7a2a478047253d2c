/* For bench/sign.lua: the cost of reading a Lua table through the C API alone (lua_next, the
   type of each key and value, their bytes), the least any C encoder of a Lua table must pay. */
#include <lua.h>
#include <lauxlib.h>

static size_t walk(lua_State *L, int t) {
  size_t n = 0, len;
  luaL_checkstack(L, 3, NULL);
  lua_pushnil(L);
  while (lua_next(L, t)) {
    if (lua_type(L, -2) == LUA_TSTRING) n += lua_tolstring(L, -2, &len) != NULL;
    if (lua_type(L, -1) == LUA_TTABLE) n += walk(L, lua_gettop(L));
    else if (lua_type(L, -1) == LUA_TSTRING) n += lua_tolstring(L, -1, &len) != NULL;
    lua_pop(L, 1);
  }
  return n;
}

static int l_walk(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_pushinteger(L, (lua_Integer)walk(L, 1));
  return 1;
}

int luaopen_bench_walk(lua_State *L) {
  lua_newtable(L);
  lua_pushcfunction(L, l_walk);
  lua_setfield(L, -2, "walk");
  return 1;
}
