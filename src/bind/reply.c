/*
 * decode_reply(body, secret) -> reply, verified | nil, err (kind "protocol"); raises when memory
 * runs out
 *
 * A JustClick reply is JSON: {"error_code": int, "error_text": string, "result": ..., "hash":
 * md5(code::text::secret)}. It is decoded with a private lua-cjson instance (strict: no NaN,
 * Infinity or hex numbers), its fields are checked, its hash is verified in C, and integral
 * numbers become Lua integers: cjson gives floats for every JSON number under Lua 5.4.
 * JSON null stays cjson.null, which is justclick.null.
 *
 * verify_reply(reply, secret) -> boolean: md5(error_code . "::" . error_text . "::" . secret) ==
 * reply.hash, compared in constant time.
 */
#include <math.h>
#include <lauxlib.h>
#include "../pure/limits.h"
#include "../pure/md5.h"
#include "../pure/phpfmt.h"
#include "support.h"
#include "reply.h"

/* The text PHP's "$code::$text" interpolation gives a decoded JSON scalar. cjson decodes every
   number as a float in Lua 5.4 ("error_code": 0 arrives as 0.0), while PHP's json_decode keeps
   integers as ints: integral values are therefore written as integers. Returns 0 for values PHP
   would not interpolate as scalars. */
static int php_text(lua_State *L, int idx, char num[JC_NUMBUF], jc_slice *out) {
  switch (lua_type(L, idx)) {
    case LUA_TNIL:
      out->p = "";
      out->n = 0;
      return 1;
    case LUA_TLIGHTUSERDATA: /* justclick.null is PHP's null: "" */
      out->p = "";
      out->n = 0;
      return lua_touserdata(L, idx) == NULL;
    case LUA_TBOOLEAN:
      out->p = "1";
      out->n = lua_toboolean(L, idx) ? 1 : 0;
      return 1;
    case LUA_TSTRING:
      out->p = lua_tolstring(L, idx, &out->n);
      return 1;
    case LUA_TNUMBER: {
      lua_Number d = lua_tonumber(L, idx);
      out->p = num;
      if (lua_isinteger(L, idx)) {
        out->n = jc_fmt_integer(lua_tointeger(L, idx), num);
      } else if (d == floor(d) && d >= -JC_INTEGER_BOUND && d < JC_INTEGER_BOUND) {
        out->n = jc_fmt_integer((lua_Integer)d, num);
      } else {
        out->n = jc_fmt_double(d, num);
      }
      return 1;
    }
    default:
      return 0;
  }
}

static int reply_verified(lua_State *L, int reply, const char *secret, size_t secret_len) {
  char code_num[JC_NUMBUF], text_num[JC_NUMBUF];
  jc_slice code, text;
  const char *given;
  size_t given_len;
  int ok;
  reply = lua_absindex(L, reply);
  lua_getfield(L, reply, "error_code");
  lua_getfield(L, reply, "error_text");
  lua_getfield(L, reply, "hash");
  given = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &given_len) : NULL;
  ok = given != NULL && given_len == JC_MD5_HEX && php_text(L, -3, code_num, &code) &&
       php_text(L, -2, text_num, &text);
  if (ok) {
    char hex[JC_MD5_HEX];
    jc_md5_joined(code, text, (jc_slice){secret, secret_len}, hex);
    ok = jc_md5_same(hex, given);
  }
  lua_pop(L, 3);
  return ok;
}

/* verify_reply(reply, secret) -> boolean, compared in constant time */
static int l_verify_reply(lua_State *L) {
  size_t secret_len;
  const char *secret;
  luaL_checktype(L, 1, LUA_TTABLE);
  secret = luaL_checklstring(L, 2, &secret_len);
  lua_pushboolean(L, reply_verified(L, 1, secret, secret_len));
  return 1;
}

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
  return jc_push_error(L, "protocol", message);
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
    return jc_push_errorf(L, "protocol", "the reply is not JSON (%s)", lua_tostring(L, -1));
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
  lua_pushboolean(L, reply_verified(L, 3, secret, secret_len));
  return 2;
}

static const luaL_Reg functions[] = {
  {"verify_reply", l_verify_reply},
  {"decode_reply", l_decode_reply},
  {NULL, NULL},
};

int jc_open_reply(lua_State *L) {
  jc_add_functions(L, functions);
  return 0;
}
