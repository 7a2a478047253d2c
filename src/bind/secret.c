/* read_secret_file for Lua: the secret file as the host reads it (pure/secretfile.c). */
#include <lauxlib.h>
#include "../pure/secretfile.h"
#include "support.h"
#include "secret.h"

/* read_secret_file(path) -> secret | nil: nil after printing why on stderr. */
static int l_read_secret_file(lua_State *L) {
  char buf[JC_SECRET_BUF];
  size_t len = 0;
  if (jc_read_secret_file(luaL_checkstring(L, 1), buf, &len) != 0) {
    lua_pushnil(L);
  } else {
    lua_pushlstring(L, buf, len); /* copies before it can raise: nothing of the secret leaks */
  }
  jc_wipe(buf, sizeof buf);
  return 1;
}

static const luaL_Reg functions[] = {
  {"read_secret_file", l_read_secret_file},
  {NULL, NULL},
};

int jc_open_secret(lua_State *L) {
  luaL_setfuncs(L, functions, 0);
  return 0;
}
