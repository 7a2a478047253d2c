/*
 * decode_reply(body, secret) -> reply, verified | nil, message; raises when memory runs out
 *
 * A JustClick reply is JSON: {"error_code": int, "error_text": string, "result": ..., "hash":
 * md5(code::text::secret)}. It is decoded with a private lua-cjson instance (strict: no NaN,
 * Infinity or hex numbers), its fields are checked, its hash is verified in C, and integral
 * numbers become Lua integers: cjson gives floats for every JSON number under Lua 5.4.
 * JSON null stays cjson.null, which is justclick.null.
 */
#include <math.h>
#include <lauxlib.h>
#include "core.h"
#include "limits.h"
#include "reply.h"
#include "sign.h"

static const char cjson_decode_key = 0; /* registry[&cjson_decode_key]: our decode function */

/* Pushes our cjson instance's decode, loading lua-cjson on first use. */
static void push_decode(lua_State *L) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &cjson_decode_key) != LUA_TNIL) return;
  lua_pop(L, 1);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "cjson");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "new"); /* an instance of our own: the caller's cjson settings stay theirs */
  lua_call(L, 0, 1);
  lua_getfield(L, -1, "decode_invalid_numbers");
  lua_pushboolean(L, 0);
  lua_call(L, 1, 0);
  lua_getfield(L, -1, "decode");
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &cjson_decode_key);
  lua_replace(L, -3);
  lua_pop(L, 1);
}

/* Turns integral floats into integers, through the whole decoded value at `idx`. */
static void integers(lua_State *L, int idx) {
  luaL_checkstack(L, 3, "justclick: reply nested too deeply");
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -1) == LUA_TNUMBER && !lua_isinteger(L, -1)) {
      lua_Number d = lua_tonumber(L, -1);
      if (d == floor(d) && d >= -JC_INTEGER_BOUND && d < JC_INTEGER_BOUND) {
        lua_pushvalue(L, -2);
        lua_pushinteger(L, (lua_Integer)d);
        lua_rawset(L, idx); /* changing the value of an existing key keeps lua_next valid */
      }
    } else if (lua_type(L, -1) == LUA_TTABLE) {
      integers(L, lua_gettop(L));
    }
    lua_pop(L, 1);
  }
}

static int refuse(lua_State *L, const char *message) {
  lua_pushnil(L);
  lua_pushstring(L, message);
  return 2;
}

static int l_decode_reply(lua_State *L) {
  size_t secret_len;
  const char *secret;
  int status;
  luaL_checkstring(L, 1);
  secret = luaL_checklstring(L, 2, &secret_len);
  lua_settop(L, 2);
  push_decode(L);
  lua_pushvalue(L, 1);
  status = lua_pcall(L, 1, 1, 0);
  /* Only cjson's own refusal (a runtime error) means the bytes are not JSON. Running out of
     memory says nothing of the reply: it is raised again, as it would be outside a pcall. */
  if (status == LUA_ERRMEM) return lua_error(L);
  if (status != LUA_OK) {
    lua_pushnil(L);
    lua_pushfstring(L, "the reply is not JSON (%s)", lua_tostring(L, -2));
    return 2;
  }
  if (!lua_istable(L, 3)) return refuse(L, "the reply is not a JSON object");
  integers(L, 3);
  lua_getfield(L, 3, "error_code");
  if (lua_type(L, -1) == LUA_TSTRING && lua_stringtonumber(L, lua_tostring(L, -1))) {
    /* "error_code": "0" reads as 0; PHP hashes the same text either way */
    if (lua_isinteger(L, -1)) lua_setfield(L, 3, "error_code");
    lua_getfield(L, 3, "error_code");
  }
  if (!lua_isinteger(L, -1)) return refuse(L, "the reply has no integer error_code");
  lua_getfield(L, 3, "error_text");
  if (lua_type(L, -1) != LUA_TSTRING) return refuse(L, "the reply has no error_text");
  lua_getfield(L, 3, "hash");
  if (lua_type(L, -1) != LUA_TSTRING) return refuse(L, "the reply has no hash");
  lua_settop(L, 3);
  lua_pushboolean(L, jc_reply_verified(L, 3, secret, secret_len));
  return 2;
}

static const luaL_Reg functions[] = {
  {"decode_reply", l_decode_reply},
  {NULL, NULL},
};

int jc_open_reply(lua_State *L) {
  jc_add_functions(L, functions);
  return 0;
}
