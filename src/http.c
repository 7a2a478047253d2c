/*
 * A libcurl session: one easy handle per client, reused so that connections stay alive.
 *
 *   local s = core.session{timeout = 30, connect_timeout = 10, ca_file = nil, max_reply = 8 << 20,
 *                          keep_alive = true}
 *   local status, body = s:post(url, body)     -- an HTTP reply, whatever its status
 *   local nil_, failure = s:post(url, body)    -- {code, message, sent, too_big}: curl failed
 *   s:stats() --> {connects = n, requests = n};  s:close()  (also __close and __gc)
 *
 * TLS peer and host verification are always on; redirects are never followed; only http and
 * https are spoken. The write callback never raises: it records an oversized reply or a failed
 * allocation and stops the transfer, and the outcome is reported after curl_easy_perform.
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <curl/curl.h>
#include <lauxlib.h>
#include "core.h"

#define JC_SESSION_TYPE "justclick.session"

typedef struct {
  CURL *curl;
  struct curl_slist *headers;
  jc_buf reply;
  size_t max_reply;
  int too_big;       /* the reply passed max_reply, and the transfer was stopped */
  int out_of_memory; /* the reply could not be stored, and the transfer was stopped */
  lua_Integer connects, requests;
  char error[CURL_ERROR_SIZE];
} jc_session;

volatile sig_atomic_t jc_interrupted = 0;

/* Stops a transfer once the host program has caught SIGINT: a call waiting on the network
   would otherwise keep Ctrl-C waiting for its timeout. */
static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
  (void)userdata, (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
  return jc_interrupted != 0;
}

static size_t on_reply_data(char *data, size_t size, size_t count, void *userdata) {
  jc_session *s = userdata;
  size_t n = size * count;
  if (n > s->max_reply - s->reply.len) {
    s->too_big = 1;
    return 0; /* curl stops with CURLE_WRITE_ERROR */
  }
  if (!jc_buf_try_add(&s->reply, data, n)) {
    s->out_of_memory = 1;
    return 0;
  }
  return n;
}

/* Frees everything; safe on a half-built session, and twice. */
static void session_release(jc_session *s) {
  if (s->curl) curl_easy_cleanup(s->curl);
  s->curl = NULL;
  curl_slist_free_all(s->headers);
  s->headers = NULL;
  jc_buf_free(&s->reply);
}

static int session_gc(lua_State *L) {
  session_release(luaL_checkudata(L, 1, JC_SESSION_TYPE));
  return 0;
}

static jc_session *open_session(lua_State *L) {
  jc_session *s = luaL_checkudata(L, 1, JC_SESSION_TYPE);
  if (s->curl == NULL) luaL_error(L, "justclick: the session is closed");
  return s;
}

/* Seconds from the options table, as the milliseconds curl takes. */
static long option_ms(lua_State *L, int idx, const char *name, double fallback) {
  double seconds = fallback;
  lua_getfield(L, idx, name);
  if (!lua_isnil(L, -1)) {
    if (!lua_isnumber(L, -1) || lua_tonumber(L, -1) <= 0 || lua_tonumber(L, -1) > 86400)
      luaL_error(L, "justclick: %s must be a number of seconds above 0", name);
    seconds = lua_tonumber(L, -1);
  }
  lua_pop(L, 1);
  return seconds * 1000 < 1 ? 1 : (long)(seconds * 1000);
}

#define SET(opt, value)                                                                     \
  do {                                                                                      \
    if (curl_easy_setopt(s->curl, opt, value) != CURLE_OK)                                  \
      return luaL_error(L, "justclick: libcurl refused %s", #opt);                          \
  } while (0)

/* core.session(options) -> session */
static int l_session(lua_State *L) {
  jc_session *s;
  long timeout_ms, connect_ms;
  const char *ca_file = NULL;

  luaL_checktype(L, 1, LUA_TTABLE);
  timeout_ms = option_ms(L, 1, "timeout", 30);
  connect_ms = option_ms(L, 1, "connect_timeout", 10);
  lua_getfield(L, 1, "ca_file");
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TSTRING) return luaL_error(L, "justclick: ca_file must be a path");
    ca_file = lua_tostring(L, -1);
  }
  lua_getfield(L, 1, "keep_alive");
  int keep_alive = lua_isnil(L, -1) || lua_toboolean(L, -1);
  lua_getfield(L, 1, "max_reply");
  lua_Integer max_reply = lua_isnil(L, -1) ? 8 << 20 : lua_tointeger(L, -1);
  if (max_reply <= 0) return luaL_error(L, "justclick: max_reply must be a positive byte count");

  s = lua_newuserdatauv(L, sizeof *s, 0);
  memset(s, 0, sizeof *s);
  luaL_setmetatable(L, JC_SESSION_TYPE); /* from here on, __gc frees whatever gets built */
  s->max_reply = (size_t)max_reply;
  s->curl = curl_easy_init();
  if (s->curl == NULL) return luaL_error(L, "justclick: libcurl could not make a handle");
  s->headers = curl_slist_append(NULL, "Expect:"); /* no 100-continue round trip */
  if (s->headers == NULL) return luaL_error(L, "justclick: not enough memory");

  SET(CURLOPT_NOSIGNAL, 1L);
  SET(CURLOPT_ERRORBUFFER, s->error);
  SET(CURLOPT_WRITEFUNCTION, on_reply_data);
  SET(CURLOPT_XFERINFOFUNCTION, on_progress);
  SET(CURLOPT_NOPROGRESS, 0L);
  SET(CURLOPT_WRITEDATA, s);
  SET(CURLOPT_HTTPHEADER, s->headers);
  SET(CURLOPT_USERAGENT, "justclick-lua/" JC_VERSION);
  SET(CURLOPT_TIMEOUT_MS, timeout_ms);
  SET(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
  SET(CURLOPT_FOLLOWLOCATION, 0L);
  SET(CURLOPT_SSL_VERIFYPEER, 1L);
  SET(CURLOPT_SSL_VERIFYHOST, 2L);
  SET(CURLOPT_PROTOCOLS_STR, "http,https");
  SET(CURLOPT_TCP_KEEPALIVE, 1L);
  if (!keep_alive) SET(CURLOPT_FORBID_REUSE, 1L); /* a new connection for every request */
  if (ca_file) SET(CURLOPT_CAINFO, ca_file);
  return 1;
}

/* session:post(url, body) -> status, body | nil, {code, message, sent, too_big} */
static int l_post(lua_State *L) {
  jc_session *s = open_session(L);
  size_t url_len, body_len;
  const char *url = luaL_checklstring(L, 2, &url_len);
  const char *body = luaL_checklstring(L, 3, &body_len);
  long status = 0, request_size = 0, connects = 0;
  CURLcode rc;

  if (memchr(url, '\0', url_len)) return luaL_argerror(L, 2, "URL holds a NUL byte");
  s->reply.len = 0;
  s->too_big = s->out_of_memory = 0;
  s->error[0] = '\0';
  SET(CURLOPT_URL, url);
  SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
  SET(CURLOPT_POSTFIELDS, body);

  rc = curl_easy_perform(s->curl);

  SET(CURLOPT_POSTFIELDS, ""); /* the body is a Lua string: hold no pointer to it */
  curl_easy_getinfo(s->curl, CURLINFO_NUM_CONNECTS, &connects);
  curl_easy_getinfo(s->curl, CURLINFO_REQUEST_SIZE, &request_size);
  s->connects += connects;
  s->requests++;
  if (s->out_of_memory) {
    jc_buf_free(&s->reply);
    lua_pushliteral(L, "not enough memory");
    return lua_error(L);
  }
  if (rc != CURLE_OK) {
    if (s->reply.cap > (1u << 20)) jc_buf_free(&s->reply); /* an oversized reply, cut off */
    lua_pushnil(L);
    lua_createtable(L, 0, 4);
    lua_pushinteger(L, rc);
    lua_setfield(L, -2, "code");
    if (s->error[0]) {
      lua_pushfstring(L, "%s (%s)", curl_easy_strerror(rc), s->error);
    } else {
      lua_pushstring(L, curl_easy_strerror(rc));
    }
    lua_setfield(L, -2, "message");
    /* Header bytes went out: the server may have the request. */
    lua_pushboolean(L, request_size > 0);
    lua_setfield(L, -2, "sent");
    lua_pushboolean(L, s->too_big);
    lua_setfield(L, -2, "too_big");
    return 2;
  }
  curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
  lua_pushinteger(L, status);
  lua_pushlstring(L, s->reply.data, s->reply.len);
  if (s->reply.cap > (1u << 20)) jc_buf_free(&s->reply); /* keep no huge buffer around */
  return 2;
}

/* session:stats() -> {connects, requests}: connections opened and requests made so far. */
static int l_stats(lua_State *L) {
  jc_session *s = luaL_checkudata(L, 1, JC_SESSION_TYPE);
  lua_createtable(L, 0, 2);
  lua_pushinteger(L, s->connects);
  lua_setfield(L, -2, "connects");
  lua_pushinteger(L, s->requests);
  lua_setfield(L, -2, "requests");
  return 1;
}

static int l_close(lua_State *L) {
  session_release(luaL_checkudata(L, 1, JC_SESSION_TYPE));
  return 0;
}

static const luaL_Reg session_methods[] = {
  {"post", l_post},
  {"stats", l_stats},
  {"close", l_close},
  {NULL, NULL},
};

/* sleep(seconds): the pause between attempts. A signal ends it early, which only shortens it. */
static int l_sleep(lua_State *L) {
  lua_Number seconds = luaL_checknumber(L, 1);
  struct timespec t;
  if (!(seconds > 0)) return 0;
  if (seconds > 3600) seconds = 3600;
  t.tv_sec = (time_t)seconds;
  t.tv_nsec = (long)((seconds - (lua_Number)t.tv_sec) * 1e9);
  nanosleep(&t, NULL);
  return 0;
}

/* now() -> seconds on a monotonic clock, for measuring calls. */
static int l_now(lua_State *L) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  lua_pushnumber(L, (lua_Number)t.tv_sec + (lua_Number)t.tv_nsec / 1e9);
  return 1;
}

/* cpu() -> seconds of CPU this process has used, user and system, as getrusage counts them:
   what the benchmarks compare with PHP's getrusage. */
static int l_cpu(lua_State *L) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  lua_pushnumber(L, (lua_Number)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
                        (lua_Number)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6);
  return 1;
}

static const luaL_Reg http_functions[] = {
  {"session", l_session},
  {"sleep", l_sleep},
  {"now", l_now},
  {"cpu", l_cpu},
  {NULL, NULL},
};

int jc_open_http(lua_State *L) {
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return luaL_error(L, "justclick: libcurl could not start");
  if (luaL_newmetatable(L, JC_SESSION_TYPE)) {
    luaL_newlib(L, session_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, session_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, session_gc);
    lua_setfield(L, -2, "__close");
  }
  lua_pop(L, 1);
  luaL_setfuncs(L, http_functions, 0);
  return 0;
}
