/*
 * libcurl sessions. A session holds one easy handle, reused so that its connection stays
 * alive; a multi session holds several, driven together through curl's multi interface.
 *
 *   local s = core.session{timeout = 30, connect_timeout = 10, ca_file = nil, max_reply = 8 MiB,
 *                          keep_alive = true}
 *   local status, body = s:post(url, body [, once [, timeout]])  -- an HTTP reply, whatever its status
 *   local nil_, failure = s:post(url, body ...)  -- {kind = "transport", code, name, message, sent,
 *                                                   too_big}: curl failed
 *   s:stats() --> {connects = n, requests = n};  s:close()  (also __close and __gc)
 *
 *   local m = core.multi(options, jobs)        -- the same options; up to `jobs` at once
 *   m:start(key, url, body [, once [, timeout]])  -- key: an integer naming the request
 *   for _, done in ipairs(m:wait([seconds])) do ... end -- {key, status, body} or {key, failure}
 *   m:running(), m:stats(), m:close()
 *
 * `once`: the body goes out at most once. libcurl re-sends a request by itself when a reused
 * connection dies before the reply; for a write that would repeat it. So a `once` body is fed
 * through a read callback that hands each byte to libcurl at most once and refuses to rewind:
 * the transfer fails instead, with `sent = true`. `timeout`: seconds for this request, in place
 * of the session's.
 *
 * TLS peer and host verification are always on; redirects are never followed; only http and
 * https are spoken. The callbacks never raise: the write callback records an oversized reply or
 * a failed allocation and stops the transfer, and the outcome is reported after curl returns.
 * A transfer that SIGINT stopped (the host sets jc_interrupted) raises "interrupted" once curl
 * has returned, and none starts after it. After core.forbid_network() (a dry run) none starts at
 * all.
 */
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <lauxlib.h>
#include "../pure/limits.h"
#include "../pure/sys.h"
#include "../pure/version.h"
#include "support.h"
#include "http.h"

#define JC_SESSION_TYPE "justclick.session"
#define JC_MULTI_TYPE "justclick.multi"
static int network_forbidden = 0; /* core.forbid_network(): a dry run; never undone */

/* ---- one transfer: an easy handle and the reply it is reading ---- */

typedef struct {
  CURL *curl;
  jc_buf reply;
  size_t max_reply;
  long timeout_ms;   /* the session's timeout, when a request gives none */
  jc_buf copy;       /* multi: the body, which must outlive the Lua call that starts it */
  const char *body;  /* a `once` body, fed by on_body_read */
  size_t body_len, body_pos;
  int rewound;       /* libcurl asked to send the `once` body again, and was refused */
  int too_big;       /* the reply passed max_reply, and the transfer was stopped */
  int out_of_memory; /* the reply could not be stored, and the transfer was stopped */
  int busy;          /* multi: a request is under way */
  lua_Integer key;   /* multi: the caller's name for it */
  char error[CURL_ERROR_SIZE];
} jc_transfer;

typedef struct {
  long timeout_ms, connect_ms;
  const char *ca_file;
  size_t max_reply;
  int keep_alive;
} jc_http_options;

/* Stops a transfer once the host program has caught SIGINT: a call waiting on the network
   would otherwise keep Ctrl-C waiting for its timeout. */
static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
  (void)userdata, (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
  return jc_interrupted != 0;
}

static size_t on_reply_data(char *data, size_t size, size_t count, void *userdata) {
  jc_transfer *t = userdata;
  size_t n = size * count;
  if (n > t->max_reply - t->reply.len) {
    t->too_big = 1;
    return 0; /* curl stops with CURLE_WRITE_ERROR */
  }
  if (!jc_buf_try_add(&t->reply, data, n)) {
    t->out_of_memory = 1;
    return 0;
  }
  return n;
}

/* A `once` body: each byte is handed to libcurl at most once, so no retry inside libcurl can
   send the request twice. */
static size_t on_body_read(char *buffer, size_t size, size_t count, void *userdata) {
  jc_transfer *t = userdata;
  size_t n = size * count, left = t->body_len - t->body_pos;
  if (n > left) n = left;
  memcpy(buffer, t->body + t->body_pos, n);
  t->body_pos += n;
  return n;
}

/* libcurl rewinds the body to re-send the request on a new connection after a reused one died.
   Before any byte went out that is harmless; after, it would repeat a write: refused, and the
   transfer fails with CURLE_SEND_FAIL_REWIND. */
static int on_body_seek(void *userdata, curl_off_t offset, int origin) {
  jc_transfer *t = userdata;
  if (offset == 0 && origin == SEEK_SET && t->body_pos == 0) return CURL_SEEKFUNC_OK;
  t->rewound = 1;
  return CURL_SEEKFUNC_FAIL;
}

/* Seconds from the options table, as the milliseconds curl takes. */
/* Seconds (at most a day) as the milliseconds curl takes, at least 1. */
static long seconds_ms(lua_State *L, int idx, const char *name) {
  lua_Number seconds = lua_tonumber(L, idx);
  if (lua_type(L, idx) != LUA_TNUMBER || !(seconds > 0 && seconds <= 86400))
    luaL_error(L, "justclick: %s must be a number of seconds from 0.001 to 86400", name);
  return seconds * 1000 < 1 ? 1 : (long)(seconds * 1000);
}

static long option_ms(lua_State *L, int idx, const char *name, long fallback) {
  long ms = fallback;
  lua_getfield(L, idx, name);
  if (!lua_isnil(L, -1)) ms = seconds_ms(L, -1, name);
  lua_pop(L, 1);
  return ms;
}

/* The options table at idx. Strings it points to stay on the stack until the caller returns. */
static void read_options(lua_State *L, int idx, jc_http_options *o) {
  luaL_checktype(L, idx, LUA_TTABLE);
  o->timeout_ms = option_ms(L, idx, "timeout", 30000);
  o->connect_ms = option_ms(L, idx, "connect_timeout", 10000);
  lua_getfield(L, idx, "ca_file");
  o->ca_file = NULL;
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "justclick: ca_file must be a path");
    o->ca_file = lua_tostring(L, -1);
  }
  lua_getfield(L, idx, "keep_alive");
  o->keep_alive = lua_isnil(L, -1) || lua_toboolean(L, -1);
  lua_getfield(L, idx, "max_reply");
  if (lua_isnil(L, -1)) {
    o->max_reply = JC_DEFAULT_MAX_REPLY;
  } else if (lua_tointeger(L, -1) > 0) {
    o->max_reply = (size_t)lua_tointeger(L, -1);
  } else {
    luaL_error(L, "justclick: max_reply must be a positive byte count");
  }
  lua_pop(L, 2);
}

#define SET(curl, opt, value)                                                               \
  do {                                                                                      \
    if (curl_easy_setopt(curl, opt, value) != CURLE_OK)                                     \
      luaL_error(L, "justclick: libcurl refused %s", #opt);                                 \
  } while (0)

/* Makes t's easy handle with the options; raises on failure (transfer_release frees it). */
static void transfer_open(lua_State *L, jc_transfer *t, const jc_http_options *o, struct curl_slist *headers) {
  t->max_reply = o->max_reply;
  t->timeout_ms = o->timeout_ms;
  t->curl = curl_easy_init();
  if (t->curl == NULL) luaL_error(L, "justclick: libcurl could not make a handle");
  SET(t->curl, CURLOPT_NOSIGNAL, 1L);
  SET(t->curl, CURLOPT_ERRORBUFFER, t->error);
  SET(t->curl, CURLOPT_WRITEFUNCTION, on_reply_data);
  SET(t->curl, CURLOPT_WRITEDATA, t);
  SET(t->curl, CURLOPT_READFUNCTION, on_body_read);
  SET(t->curl, CURLOPT_READDATA, t);
  SET(t->curl, CURLOPT_SEEKFUNCTION, on_body_seek);
  SET(t->curl, CURLOPT_SEEKDATA, t);
  SET(t->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  SET(t->curl, CURLOPT_NOPROGRESS, 0L);
  SET(t->curl, CURLOPT_PRIVATE, t);
  SET(t->curl, CURLOPT_HTTPHEADER, headers);
  SET(t->curl, CURLOPT_USERAGENT, "justclick-lua/" JC_VERSION);
  SET(t->curl, CURLOPT_CONNECTTIMEOUT_MS, o->connect_ms);
  SET(t->curl, CURLOPT_FOLLOWLOCATION, 0L);
  SET(t->curl, CURLOPT_SSL_VERIFYPEER, 1L);
  SET(t->curl, CURLOPT_SSL_VERIFYHOST, 2L);
  SET(t->curl, CURLOPT_PROTOCOLS_STR, "http,https");
  SET(t->curl, CURLOPT_TCP_KEEPALIVE, 1L);
  if (!o->keep_alive) SET(t->curl, CURLOPT_FORBID_REUSE, 1L); /* a new connection each time */
  if (o->ca_file) SET(t->curl, CURLOPT_CAINFO, o->ca_file);
}

static void transfer_release(jc_transfer *t) {
  if (t->curl) curl_easy_cleanup(t->curl);
  t->curl = NULL;
  jc_buf_free(&t->reply);
  jc_buf_free(&t->copy);
}

/* Raises "interrupted" once the host has caught SIGINT, and refuses the network on a dry run:
   checked before any request starts. */
static void check_may_send(lua_State *L) {
  if (jc_interrupted) luaL_error(L, "interrupted");
  if (network_forbidden) luaL_error(L, "justclick: a dry run sends nothing, but a request was about to go out");
}

/* Readies t for a POST to url of the body at stack index `body_idx`, with the optional `once`
   and `timeout` arguments after it. `copy`: the body is copied, for a request that outlives the
   Lua call that starts it. */
static void transfer_begin(lua_State *L, jc_transfer *t, int url_idx, int body_idx, int copy) {
  size_t url_len, body_len;
  const char *url = luaL_checklstring(L, url_idx, &url_len);
  const char *body = luaL_checklstring(L, body_idx, &body_len);
  int once = lua_toboolean(L, body_idx + 1);
  long timeout_ms = lua_isnoneornil(L, body_idx + 2) ? t->timeout_ms : seconds_ms(L, body_idx + 2, "timeout");
  if (memchr(url, '\0', url_len)) luaL_error(L, "justclick: the URL holds a NUL byte");
  check_may_send(L);
  if (copy) {
    t->copy.len = 0;
    jc_buf_add(L, &t->copy, body, body_len);
    body = t->copy.data;
  }
  t->reply.len = 0;
  t->too_big = t->out_of_memory = t->rewound = 0;
  t->error[0] = '\0';
  t->body = body;
  t->body_len = body_len;
  t->body_pos = 0;
  SET(t->curl, CURLOPT_URL, url);
  SET(t->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  SET(t->curl, CURLOPT_POST, 1L);
  SET(t->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
  /* postfields can be sent again by libcurl itself; a `once` body only through on_body_read */
  SET(t->curl, CURLOPT_POSTFIELDS, once ? NULL : (body_len ? body : ""));
}

/* After a transfer: forgets the body, which may be a Lua string that is about to go. body_pos
   stays, for push_outcome to tell whether any of it went out. */
static void transfer_end(lua_State *L, jc_transfer *t) {
  t->body = NULL;
  t->body_len = 0;
  SET(t->curl, CURLOPT_POSTFIELDS, "");
  if (t->copy.cap > JC_KEEP_BYTES) jc_buf_free(&t->copy);
}

/* libcurl's codes by number, as the CURLE_* names without the prefix (curl.h of 7.88: a code's
   number never changes, and a retired one is OBSOLETEnn), as Lua-cURL's error objects name
   them. Strings, not the enum's names, so that an older curl.h builds this too. */
static const char *const curl_code_names[] = {
  "OK", "UNSUPPORTED_PROTOCOL", "FAILED_INIT", "URL_MALFORMAT", "NOT_BUILT_IN",
  "COULDNT_RESOLVE_PROXY", "COULDNT_RESOLVE_HOST", "COULDNT_CONNECT", "WEIRD_SERVER_REPLY",
  "REMOTE_ACCESS_DENIED", "FTP_ACCEPT_FAILED", "FTP_WEIRD_PASS_REPLY", "FTP_ACCEPT_TIMEOUT",
  "FTP_WEIRD_PASV_REPLY", "FTP_WEIRD_227_FORMAT", "FTP_CANT_GET_HOST", "HTTP2",
  "FTP_COULDNT_SET_TYPE", "PARTIAL_FILE", "FTP_COULDNT_RETR_FILE", "OBSOLETE20", "QUOTE_ERROR",
  "HTTP_RETURNED_ERROR", "WRITE_ERROR", "OBSOLETE24", "UPLOAD_FAILED", "READ_ERROR",
  "OUT_OF_MEMORY", "OPERATION_TIMEDOUT", "OBSOLETE29", "FTP_PORT_FAILED", "FTP_COULDNT_USE_REST",
  "OBSOLETE32", "RANGE_ERROR", "HTTP_POST_ERROR", "SSL_CONNECT_ERROR", "BAD_DOWNLOAD_RESUME",
  "FILE_COULDNT_READ_FILE", "LDAP_CANNOT_BIND", "LDAP_SEARCH_FAILED", "OBSOLETE40",
  "FUNCTION_NOT_FOUND", "ABORTED_BY_CALLBACK", "BAD_FUNCTION_ARGUMENT", "OBSOLETE44",
  "INTERFACE_FAILED", "OBSOLETE46", "TOO_MANY_REDIRECTS", "UNKNOWN_OPTION", "SETOPT_OPTION_SYNTAX",
  "OBSOLETE50", "OBSOLETE51", "GOT_NOTHING", "SSL_ENGINE_NOTFOUND", "SSL_ENGINE_SETFAILED",
  "SEND_ERROR", "RECV_ERROR", "OBSOLETE57", "SSL_CERTPROBLEM", "SSL_CIPHER",
  "PEER_FAILED_VERIFICATION", "BAD_CONTENT_ENCODING", "OBSOLETE62", "FILESIZE_EXCEEDED",
  "USE_SSL_FAILED", "SEND_FAIL_REWIND", "SSL_ENGINE_INITFAILED", "LOGIN_DENIED", "TFTP_NOTFOUND",
  "TFTP_PERM", "REMOTE_DISK_FULL", "TFTP_ILLEGAL", "TFTP_UNKNOWNID", "REMOTE_FILE_EXISTS",
  "TFTP_NOSUCHUSER", "OBSOLETE75", "OBSOLETE76", "SSL_CACERT_BADFILE", "REMOTE_FILE_NOT_FOUND",
  "SSH", "SSL_SHUTDOWN_FAILED", "AGAIN", "SSL_CRL_BADFILE", "SSL_ISSUER_ERROR", "FTP_PRET_FAILED",
  "RTSP_CSEQ_ERROR", "RTSP_SESSION_ERROR", "FTP_BAD_FILE_LIST", "CHUNK_FAILED",
  "NO_CONNECTION_AVAILABLE", "SSL_PINNEDPUBKEYNOTMATCH", "SSL_INVALIDCERTSTATUS", "HTTP2_STREAM",
  "RECURSIVE_API_CALL", "AUTH_ERROR", "HTTP3", "QUIC_CONNECT_ERROR", "PROXY", "SSL_CLIENTCERT",
  "UNRECOVERABLE_POLL",
};

/* failure.name: "COULDNT_CONNECT" for CURLE_COULDNT_CONNECT; "UNKNOWN" past the table. */
static const char *curl_code_name(CURLcode rc) {
  size_t i = (size_t)rc;
  return i < sizeof curl_code_names / sizeof *curl_code_names ? curl_code_names[i] : "UNKNOWN";
}

/* Runs under lua_pcall: the bytes of the jc_buf at 1 as a Lua string. */
static int push_reply_bytes(lua_State *L) {
  const jc_buf *b = (const jc_buf *)lua_touserdata(L, 1);
  lua_pushlstring(L, b->len ? b->data : "", b->len);
  return 1;
}

/* Pushes what a finished transfer came to: status, body | nil, {kind = "transport", code,
   name, message, sent, too_big}.
   Returns the connections it opened. `closed` is the owner's flag: once a finalizer has closed
   the session (or the multi), t is not touched again, as its memory may be gone. */
static long push_outcome(lua_State *L, jc_transfer *t, CURLcode rc, const int *closed) {
  long status = 0, request_size = 0, connects = 0;
  /* Everything is read off t before the first Lua allocation: that can run a finalizer, which
     can make a request of its own on this session and overwrite t. */
  int sent = t->body_pos > 0 || t->rewound, rewound = t->rewound, too_big = t->too_big;
  char error[CURL_ERROR_SIZE];
  memcpy(error, t->error, sizeof error);
  error[sizeof error - 1] = '\0';
  curl_easy_getinfo(t->curl, CURLINFO_NUM_CONNECTS, &connects);
  curl_easy_getinfo(t->curl, CURLINFO_REQUEST_SIZE, &request_size);
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  sent = sent || request_size > 0; /* header or body bytes went out: the server may have it */
  if (t->out_of_memory) {
    jc_buf_free(&t->reply);
    lua_pushliteral(L, "not enough memory");
    lua_error(L);
  }
  if (rc == CURLE_ABORTED_BY_CALLBACK && jc_interrupted) luaL_error(L, "interrupted");
  if (rc == CURLE_OK) {
    /* The reply is moved out of t while Lua copies it: the copy can run a finalizer first (Lua
       5.1 and LuaJIT collect before they copy), which may post on this session, writing
       t->reply, or close it, freeing t. The copy is protected, so that the reply is freed when
       it raises. Afterwards its buffer goes back to t for the next reply, if t still wants one. */
    jc_buf reply = t->reply;
    int failed;
    memset(&t->reply, 0, sizeof t->reply);
    lua_pushinteger(L, status);
    lua_pushcfunction(L, push_reply_bytes);
    lua_pushlightuserdata(L, &reply);
    failed = lua_pcall(L, 1, 1, 0);
    if (failed || *closed || t->reply.data != NULL || reply.cap > JC_KEEP_BYTES) {
      jc_buf_free(&reply); /* keep no huge buffer around */
    } else {
      reply.len = 0;
      t->reply = reply;
    }
    if (failed) lua_error(L);
    return connects;
  }
  if (rewound) {
    jc_push_error(L, "transport", "the connection died after the request went out, and it is not sent twice");
  } else if (error[0]) {
    jc_push_errorf(L, "transport", "%s (%s)", curl_easy_strerror(rc), error);
  } else {
    jc_push_error(L, "transport", curl_easy_strerror(rc));
  }
  lua_pushinteger(L, rc);
  lua_setfield(L, -2, "code");
  lua_pushstring(L, curl_code_name(rc));
  lua_setfield(L, -2, "name");
  lua_pushboolean(L, sent);
  lua_setfield(L, -2, "sent");
  lua_pushboolean(L, too_big);
  lua_setfield(L, -2, "too_big");
  return connects;
}

static struct curl_slist *standard_headers(lua_State *L) {
  struct curl_slist *h = curl_slist_append(NULL, "Expect:"); /* no 100-continue round trip */
  if (h == NULL) luaL_error(L, "justclick: not enough memory");
  return h;
}

/* ---- session: one transfer ---- */

typedef struct {
  jc_transfer t;
  struct curl_slist *headers;
  lua_Integer connects, requests;
  int closed;
} jc_session;

/* Frees everything; safe on a half-built session, and twice. */
static int session_gc(lua_State *L) {
  jc_session *s = luaL_checkudata(L, 1, JC_SESSION_TYPE);
  transfer_release(&s->t);
  curl_slist_free_all(s->headers);
  s->headers = NULL;
  s->closed = 1;
  return 0;
}

/* core.session(options) -> session */
static int l_session(lua_State *L) {
  jc_http_options o;
  jc_session *s;
  read_options(L, 1, &o);
  s = lua_newuserdatauv(L, sizeof *s, 0);
  memset(s, 0, sizeof *s);
  luaL_setmetatable(L, JC_SESSION_TYPE); /* from here on, __gc frees whatever gets built */
  s->headers = standard_headers(L);
  transfer_open(L, &s->t, &o, s->headers);
  return 1;
}

/* session:post(url, body [, once [, timeout]]) -> status, body | nil, {code, name, message, sent, too_big} */
static int l_post(lua_State *L) {
  jc_session *s = luaL_checkudata(L, 1, JC_SESSION_TYPE);
  CURLcode rc;
  if (s->t.curl == NULL) return luaL_error(L, "justclick: the session is closed");
  transfer_begin(L, &s->t, 2, 3, 0);
  rc = curl_easy_perform(s->t.curl);
  transfer_end(L, &s->t);
  s->requests++;
  s->connects += push_outcome(L, &s->t, rc, &s->closed);
  return 2;
}

static void push_stats(lua_State *L, lua_Integer connects, lua_Integer requests) {
  lua_createtable(L, 0, 2);
  lua_pushinteger(L, connects);
  lua_setfield(L, -2, "connects");
  lua_pushinteger(L, requests);
  lua_setfield(L, -2, "requests");
}

/* session:stats() -> {connects, requests}: connections opened and requests made so far. */
static int l_stats(lua_State *L) {
  jc_session *s = luaL_checkudata(L, 1, JC_SESSION_TYPE);
  push_stats(L, s->connects, s->requests);
  return 1;
}

static const luaL_Reg session_methods[] = {
  {"post", l_post},
  {"stats", l_stats},
  {"close", session_gc},
  {NULL, NULL},
};

/* ---- multi: several transfers at once ---- */

typedef struct {
  CURLM *multi;
  struct curl_slist *headers;
  jc_transfer *t;
  int jobs;
  lua_Integer connects, requests;
  int closed;
} jc_multi;

static int multi_gc(lua_State *L) {
  jc_multi *m = luaL_checkudata(L, 1, JC_MULTI_TYPE);
  for (int i = 0; m->t && i < m->jobs; i++) {
    if (m->t[i].busy && m->multi) curl_multi_remove_handle(m->multi, m->t[i].curl);
    transfer_release(&m->t[i]);
  }
  free(m->t);
  m->t = NULL;
  if (m->multi) curl_multi_cleanup(m->multi);
  m->multi = NULL;
  curl_slist_free_all(m->headers);
  m->headers = NULL;
  m->closed = 1;
  return 0;
}

static jc_multi *open_multi(lua_State *L) {
  jc_multi *m = luaL_checkudata(L, 1, JC_MULTI_TYPE);
  if (m->multi == NULL) luaL_error(L, "justclick: the session is closed");
  return m;
}

/* core.multi(options, jobs) -> multi session */
static int l_multi(lua_State *L) {
  jc_http_options o;
  jc_multi *m;
  lua_Integer jobs = luaL_checkinteger(L, 2);
  if (jobs < 1 || jobs > JC_MAX_JOBS) return luaL_argerror(L, 2, lua_pushfstring(L, "jobs must be from 1 to %d", JC_MAX_JOBS));
  read_options(L, 1, &o);
  m = lua_newuserdatauv(L, sizeof *m, 0);
  memset(m, 0, sizeof *m);
  luaL_setmetatable(L, JC_MULTI_TYPE);
  m->t = calloc((size_t)jobs, sizeof *m->t);
  if (m->t == NULL) return luaL_error(L, "justclick: not enough memory");
  m->jobs = (int)jobs;
  m->multi = curl_multi_init();
  if (m->multi == NULL) return luaL_error(L, "justclick: libcurl could not make a multi handle");
  m->headers = standard_headers(L);
  for (int i = 0; i < m->jobs; i++) transfer_open(L, &m->t[i], &o, m->headers);
  return 1;
}

/* multi:start(key, url, body [, once [, timeout]]): starts a request on a free handle; raises
   when none is free. */
static int l_start(lua_State *L) {
  jc_multi *m = open_multi(L);
  lua_Integer key = luaL_checkinteger(L, 2);
  for (int i = 0; i < m->jobs; i++) {
    jc_transfer *t = &m->t[i];
    if (t->busy) continue;
    transfer_begin(L, t, 3, 4, 1);
    if (curl_multi_add_handle(m->multi, t->curl) != CURLM_OK)
      return luaL_error(L, "justclick: libcurl refused a request");
    t->busy = 1;
    t->key = key;
    m->requests++;
    return 0;
  }
  return luaL_error(L, "justclick: all %d jobs are busy", m->jobs);
}

/* multi:running() -> the requests under way */
static int l_running(lua_State *L) {
  jc_multi *m = open_multi(L);
  int n = 0;
  for (int i = 0; i < m->jobs; i++) n += m->t[i].busy;
  lua_pushinteger(L, n);
  return 1;
}

/* multi:wait([seconds]) -> the requests that finished, at least one while any is under way:
   {key, status, body} or {key, failure}; with `seconds`, none once that long has passed (the
   requests under way are driven meanwhile, so that they go out). A finalizer that closes the
   multi meanwhile (any Lua allocation may run one) ends the wait with the results made so far. */
static int l_wait(lua_State *L) {
  jc_multi *m = open_multi(L);
  int done = 0;
  double seconds = luaL_optnumber(L, 2, -1), until = jc_clock(CLOCK_MONOTONIC) + seconds;
  lua_newtable(L);
  if (m->closed) return luaL_error(L, "justclick: the session is closed"); /* by a finalizer, just now */
  for (;;) {
    int running = 0, left;
    CURLMsg *msg;
    if (curl_multi_perform(m->multi, &running) != CURLM_OK)
      return luaL_error(L, "justclick: libcurl's multi interface failed");
    while ((msg = curl_multi_info_read(m->multi, &left)) != NULL) {
      jc_transfer *t = NULL;
      lua_Integer key;
      if (msg->msg != CURLMSG_DONE) continue;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
      CURLcode rc = msg->data.result;
      curl_multi_remove_handle(m->multi, t->curl);
      t->busy = 0;
      transfer_end(L, t);
      key = t->key;
      m->connects += push_outcome(L, t, rc, &m->closed); /* t is not read after this */
      lua_createtable(L, 0, 3);
      lua_insert(L, -3);
      lua_pushinteger(L, key);
      lua_setfield(L, -4, "key");
      if (lua_isnil(L, -2)) {
        lua_setfield(L, -3, "failure");
        lua_pop(L, 1);
      } else {
        lua_setfield(L, -3, "body");
        lua_setfield(L, -2, "status");
      }
      lua_rawseti(L, -2, ++done);
      if (m->closed) return 1; /* by a finalizer: m->multi is gone */
    }
    if (done > 0 || running == 0) return 1;
    int poll_ms = 1000;
    if (seconds >= 0) {
      double remaining = until - jc_clock(CLOCK_MONOTONIC);
      if (remaining <= 0) return 1;
      if (remaining < 1) poll_ms = (int)(remaining * 1000) + 1;
    }
    if (curl_multi_poll(m->multi, NULL, 0, poll_ms, NULL) != CURLM_OK)
      return luaL_error(L, "justclick: libcurl's multi interface failed");
  }
}

static int l_multi_stats(lua_State *L) {
  jc_multi *m = luaL_checkudata(L, 1, JC_MULTI_TYPE);
  push_stats(L, m->connects, m->requests);
  return 1;
}

static const luaL_Reg multi_methods[] = {
  {"start", l_start},
  {"running", l_running},
  {"wait", l_wait},
  {"stats", l_multi_stats},
  {"close", multi_gc},
  {NULL, NULL},
};

/* ---- the network switch ---- */

/* forbid_network(): from now on no request starts in this process (a dry run). Not undone. */
static int l_forbid_network(lua_State *L) {
  (void)L;
  network_forbidden = 1;
  return 0;
}

/* network_forbidden() -> whether forbid_network() was called. */
static int l_network_forbidden(lua_State *L) {
  lua_pushboolean(L, network_forbidden);
  return 1;
}

static const luaL_Reg http_functions[] = {
  {"session", l_session},
  {"forbid_network", l_forbid_network},
  {"network_forbidden", l_network_forbidden},
  {"multi", l_multi},
  {NULL, NULL},
};

int jc_open_http(lua_State *L) {
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return luaL_error(L, "justclick: libcurl could not start");
  jc_new_type(L, JC_SESSION_TYPE, session_methods, session_gc);
  jc_new_type(L, JC_MULTI_TYPE, multi_methods, multi_gc);
  luaL_setfuncs(L, http_functions, 0);
  return 0;
}
