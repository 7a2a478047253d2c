/*
 * Request hash: md5(http_build_query(params) . "::" . user . "::" . secret).
 * The secret is only ever fed to the digest: it is never copied into a buffer or a message.
 */
#include <lauxlib.h>
#include "../pure/md5.h"
#include "encode.h"
#include "support.h"
#include "sign.h"

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
  jc_md5_joined((jc_slice){q->out.data, q->out.len}, job->user, job->secret, hex);
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

static const luaL_Reg functions[] = {
  {"sign", l_sign},
  {"signed_body", l_signed_body},
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
