/* read_secret_file for Lua: the secret file as the host reads it (pure/secretfile.c). */
#include <lauxlib.h>
#include "../pure/secretfile.h"
#include "support.h"
#include "secret.h"

/* read_secret_file(path) -> secret, warning | nil, err. warning: the text to show people when
   others can read the file (else nil); err {kind = "io", message, path[, errno]}: why there is
   no secret. Neither holds the secret's bytes; this prints nothing. */
static int l_read_secret_file(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  char buf[JC_SECRET_BUF], text[JC_SECRET_TEXT];
  size_t len = 0;
  jc_secret_outcome outcome;
  int failed = jc_read_secret_file(path, buf, &len, &outcome) != 0;
  if (!failed) lua_pushlstring(L, buf, len); /* copies before it can raise: nothing of the secret leaks */
  jc_wipe(buf, sizeof buf);
  jc_secret_text(&outcome, path, text, sizeof text);
  if (failed) {
    jc_push_error(L, "io", text);
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "path");
    if (outcome.status == JC_SECRET_UNREADABLE) {
      lua_pushinteger(L, outcome.errnum);
      lua_setfield(L, -2, "errno");
    }
    return 2;
  }
  if (text[0] == '\0') return 1;
  lua_pushstring(L, text);
  return 2;
}

static const luaL_Reg functions[] = {
  {"read_secret_file", l_read_secret_file},
  {NULL, NULL},
};

int jc_open_secret(lua_State *L) {
  luaL_setfuncs(L, functions, 0);
  return 0;
}
