/* For programs that carry justclick inside (the host, the fuzz harnesses): registers
   justclick.core, linked in, and justclick, the embedded lua/justclick.lua, in package.preload,
   so that require finds them before any file on the paths. */
#include <lauxlib.h>
#include "core.h"

/* lua/justclick.lua, embedded by the build (build/embedded.c, from tools/embed.lua). */
extern const char jc_embedded_module[];
extern const size_t jc_embedded_module_len;

static int load_embedded_module(lua_State *L) {
  if (luaL_loadbufferx(L, jc_embedded_module, jc_embedded_module_len, "=justclick.lua", "t") != LUA_OK)
    return lua_error(L);
  lua_pushstring(L, "justclick");
  lua_call(L, 1, 1);
  return 1;
}

void jc_preload(lua_State *L) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_justclick_core);
  lua_setfield(L, -2, "justclick.core");
  lua_pushcfunction(L, load_embedded_module);
  lua_setfield(L, -2, "justclick");
  lua_pop(L, 1);
}
