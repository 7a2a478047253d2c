/* luaopen_justclick_core: the shared state and the registration of every C function. */
#include <string.h>
#include <lauxlib.h>
#include "core.h"

#define JC_STATE_TYPE "justclick.state"

jc_state *jc_state_of(lua_State *L) {
  return (jc_state *)lua_touserdata(L, lua_upvalueindex(1));
}

static int state_gc(lua_State *L) {
  jc_state *s = (jc_state *)luaL_checkudata(L, 1, JC_STATE_TYPE);
  jc_query_free(&s->query);
  jc_md5_close(&s->md5);
  s->busy = 1; /* for good: calls from later finalizers take scratch of their own */
  return 0;
}

static const luaL_Reg functions[] = {
  {"build_query", jc_l_build_query},
  {"parse_query", jc_l_parse_query},
  {"sign", jc_l_sign},
  {"signed_body", jc_l_signed_body},
  {"verify_reply", jc_l_verify_reply},
  {"decode_reply", jc_l_decode_reply},
  {"md5", jc_l_md5},
  {"append_durably", jc_l_append_durably},
  {"isatty", jc_l_isatty},
  {"lock", jc_l_lock},
  {"truncate_durably", jc_l_truncate_durably},
  {"realpath", jc_l_realpath},
  {"read_secret_file", jc_l_read_secret_file},
  {"notification_check", jc_l_notification_check},
  {"boottime", jc_l_boottime},
  {NULL, NULL},
};

int luaopen_justclick_core(lua_State *L) {
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
  if (!jc_md5_open(&s->md5)) return luaL_error(L, "justclick: OpenSSL provides no MD5");
  luaL_setfuncs(L, functions, 1);
  lua_pushlightuserdata(L, NULL); /* the same value as cjson.null */
  lua_setfield(L, -2, "null");
  lua_pushliteral(L, JC_VERSION);
  lua_setfield(L, -2, "_VERSION");
  jc_open_http(L);
  jc_open_serve(L);
  return 1;
}
