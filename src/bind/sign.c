/*
 * Request hash: md5(http_build_query(params) . "::" . user . "::" . secret).
 * Reply check:  md5(error_code . "::" . error_text . "::" . secret) == reply.hash.
 * The secret is only ever fed to the digest: it is never copied into a buffer or a message.
 */
#include <math.h>
/* MD5_Init and friends are deprecated since OpenSSL 3.0 in favour of EVP, but they are still
   there, and EVP costs about 1,000 instructions a digest more (a provider's dispatch, a context
   to reset): an eighth of what the whole sign() costs now (make bench). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/md5.h>
#include <lauxlib.h>
#include "core.h"
#include "limits.h"
#include "phpfmt.h"
#include "sign.h"

void jc_md5_hex(const jc_slice *parts, size_t nparts, char hex[JC_MD5_HEX]) {
  static const char digits[] = "0123456789abcdef";
  unsigned char raw[MD5_DIGEST_LENGTH];
  MD5_CTX ctx;
  MD5_Init(&ctx);
  for (size_t i = 0; i < nparts; i++) MD5_Update(&ctx, parts[i].p, parts[i].n);
  MD5_Final(raw, &ctx);
  for (size_t i = 0; i < MD5_DIGEST_LENGTH; i++) {
    hex[2 * i] = digits[raw[i] >> 4];
    hex[2 * i + 1] = digits[raw[i] & 15];
  }
}

/* md5(a .. "::" .. b .. "::" .. secret) as hex: the shape of both the request hash and the
   reply hash. */
static void md5_joined(jc_slice a, jc_slice b, jc_slice secret, char hex[JC_MD5_HEX]) {
  const jc_slice sep = {"::", 2};
  const jc_slice parts[5] = {a, sep, b, sep, secret};
  jc_md5_hex(parts, 5, hex);
}

typedef struct {
  jc_slice user, secret;
  size_t max_vars;
  int body; /* signed_body: the query and its hash field; else sign: the hash alone */
} sign_job;

/* Runs in jc_query_call: encodes the params at 1 into q, signs them, and pushes the result. */
static void sign_body(lua_State *L, jc_query *q, void *ud) {
  const sign_job *job = (const sign_job *)ud;
  char hex[JC_MD5_HEX];
  jc_query_encode(L, q, 1, job->max_vars, 1);
  md5_joined((jc_slice){q->out.data, q->out.len}, job->user, job->secret, hex);
  if (!job->body) {
    lua_pushlstring(L, hex, JC_MD5_HEX);
    return;
  }
  if (q->out.len > 0) jc_buf_addc(L, &q->out, '&');
  jc_buf_add(L, &q->out, "hash=", 5);
  jc_buf_add(L, &q->out, hex, JC_MD5_HEX);
  lua_pushlstring(L, q->out.data, q->out.len);
}

/* sign and signed_body: the params at 1 signed with user (2) and secret (3), leaving `reserved`
   of the options' (4) max_input_vars for fields added later. */
static int sign_call(lua_State *L, int body, size_t reserved, int safe) {
  sign_job job;
  luaL_checktype(L, 1, LUA_TTABLE);
  job.user.p = luaL_checklstring(L, 2, &job.user.n);
  job.secret.p = luaL_checklstring(L, 3, &job.secret.n);
  job.max_vars = jc_query_options(L, 4);
  if (job.max_vars != 0 && job.max_vars <= reserved) {
    if (!safe) return luaL_error(L, "justclick: max_input_vars leaves no room for the hash");
    lua_pushliteral(L, "max_input_vars leaves no room for the hash");
    return jc_query_refused(L);
  }
  if (job.max_vars != 0) job.max_vars -= reserved;
  job.body = body;
  return jc_query_call(L, 1, sign_body, &job, safe) ? 1 : jc_query_refused(L);
}

/* sign(params, user, secret [, options]) -> 32 hex digits */
static int l_sign(lua_State *L) {
  return sign_call(L, 0, 0, 0);
}

/* safe.sign(params, user, secret [, options]) -> 32 hex digits | nil, problem */
static int l_safe_sign(lua_State *L) {
  return sign_call(L, 0, 0, 1);
}

/* signed_body(params, user, secret [, options]) -> the request body: the query and its hash
   field, encoded once and hashed once. The hash field counts towards max_input_vars. */
static int l_signed_body(lua_State *L) {
  return sign_call(L, 1, 1, 0);
}

/* safe.signed_body(params, user, secret [, options]) -> body | nil, problem: what the Lua layer
   turns into an input error, with no message to take apart. */
static int l_safe_signed_body(lua_State *L) {
  return sign_call(L, 1, 1, 1);
}

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

int jc_reply_verified(lua_State *L, int reply, const char *secret, size_t secret_len) {
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
    md5_joined(code, text, (jc_slice){secret, secret_len}, hex);
    ok = CRYPTO_memcmp(hex, given, JC_MD5_HEX) == 0;
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
  lua_pushboolean(L, jc_reply_verified(L, 1, secret, secret_len));
  return 1;
}

/* md5(s) -> 32 hex digits; the floor that benchmarks compare sign() with. */
static int l_md5(lua_State *L) {
  jc_slice part;
  char hex[JC_MD5_HEX];
  part.p = luaL_checklstring(L, 1, &part.n);
  jc_md5_hex(&part, 1, hex);
  lua_pushlstring(L, hex, JC_MD5_HEX);
  return 1;
}

static const luaL_Reg functions[] = {
  {"sign", l_sign},
  {"signed_body", l_signed_body},
  {"verify_reply", l_verify_reply},
  {"md5", l_md5},
  {NULL, NULL},
};

static const luaL_Reg safe_functions[] = {
  {"sign", l_safe_sign},
  {"signed_body", l_safe_signed_body},
  {NULL, NULL},
};

int jc_open_sign(lua_State *L) {
  jc_add_functions(L, functions);
  jc_add_safe_functions(L, safe_functions);
  return 0;
}
