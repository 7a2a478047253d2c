/* For programs that carry justclick inside (the host, the fuzz harnesses): registers
   justclick.core and justclick.receiver, linked in, and the embedded Lua modules (justclick,
   justclick.import...) in package.preload, so that require finds them before any file on the
   paths. */
#include <lauxlib.h>
#include "modules.h"
#include "preload.h"

/* The Lua modules, embedded by the build (build/embedded.c, from tools/embed.lua). */
struct jc_embedded {
  const char *name, *source;
  size_t len;
};
extern const struct jc_embedded jc_embedded_modules[];

static int load_embedded_module(lua_State *L) {
  const struct jc_embedded *m = lua_touserdata(L, lua_upvalueindex(1));
  lua_pushfstring(L, "=%s", m->name);
  if (luaL_loadbufferx(L, m->source, m->len, lua_tostring(L, -1), "t") != LUA_OK) return lua_error(L);
  lua_pushstring(L, m->name);
  lua_call(L, 1, 1);
  return 1;
}

void jc_preload(lua_State *L) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_justclick_core);
  lua_setfield(L, -2, "justclick.core");
  lua_pushcfunction(L, luaopen_justclick_receiver);
  lua_setfield(L, -2, "justclick.receiver");
  for (const struct jc_embedded *m = jc_embedded_modules; m->name != NULL; m++) {
    lua_pushlightuserdata(L, (void *)m);
    lua_pushcclosure(L, load_embedded_module, 1);
    lua_setfield(L, -2, m->name);
  }
  lua_pop(L, 1);
}
