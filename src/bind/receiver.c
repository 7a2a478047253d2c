/*
 * The notification receiver behind `justclick serve`: libmicrohttpd threads take POSTs, check
 * them (pure/notice.c, on pure/form.c's parse, without Lua), store the verified ones in the inbox
 * (pure/store.c, SQLite: committed before the reply) and answer; the Lua thread takes the stored
 * events one by one (bind/store.c's methods of the same object) and runs the shop's handler
 * (lua/justclick/serve.lua).
 *
 *   local inbox = receiver.inbox(path)        -- nil, err when it cannot be opened or is in use
 *   local inbox = receiver.inbox(path, "r")   -- read-only: an existing inbox ("no inbox at PATH"),
 *                                             -- no lock; parked, counts, events, trim, close only
 *   inbox:listen{host =, port =, secret =, max_body = 65536, timeout = 10, connections = 64} --> true
 *                                             -- or nil, err: "input" for a value out of range
 *                                             -- (named) or a host not an IP address, "io" with
 *                                             -- errno when the machine refuses (in_use: true
 *                                             -- for a port in use); trust_proxy = {ADDR, ...}
 *                                             -- (at most 16): their X-Forwarded-For names the
 *                                             -- client in the log;
 *                                             -- the inbox stays open. Raises for a wrong type,
 *                                             -- a second listen, a closed or read-only inbox
 *   inbox:port()                              -- the port it listens on (port 0: a free one)
 *   inbox:next, begin, handled, failed, replay, parked, counts, events, trim: bind/store.c
 *   inbox:stopping()                          -- SIGTERM or SIGINT came: finish and close
 *   inbox:close()                             -- also __close and __gc
 *
 * Each request gets one line on stderr: time, remote, kind, id, status, milliseconds.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include <lauxlib.h>
#include "../pure/buffer.h"
#include "../pure/form.h"
#include "../pure/inbox.h"
#include "../pure/notice.h"
#include "../pure/sys.h"
#include "inboxud.h"
#include "support.h"
#include "receiver.h"

/* What listen takes (lua/justclick/serve.lua's parse_args checks the same bounds). */
#define JC_LISTEN_MAX_PORT 65535
#define JC_LISTEN_MAX_TIMEOUT 3600
#define JC_LISTEN_MAX_CONNECTIONS 1024
#define JC_LISTEN_MAX_BODY (1 << 24)
/* The most proxies listen's trust_proxy takes: a few are the case (a load balancer, a local
   nginx); a fixed array needs no release path. */
#define JC_MAX_TRUSTED 16

/* An address to compare: IPv4 (an IPv4-mapped IPv6 address is taken as its IPv4) or IPv6. */
typedef struct {
  int family;
  unsigned char bytes[16];
} jc_addr;

typedef struct {
  jc_inbox_ud ud; /* first: the store's binding (bind/store.c) sees only this */
  struct MHD_Daemon *daemon;
  char *secret;
  size_t secret_len, max_body;
  struct sigaction old_term, old_int;
  int signals_set;
  jc_addr trusted[JC_MAX_TRUSTED]; /* listen's trust_proxy: set before the daemon starts */
  int ntrusted;
} receiver;

/* Set by SIGTERM and SIGINT while a receiver listens. */
static volatile sig_atomic_t stop_requested = 0;

/* The first stops the receiver between handlers; a second, when a handler will not end, ends
   the process at once: the event in hand is then tried again on the next start. */
static void on_stop_signal(int sig) {
  if (stop_requested) _exit(128 + sig);
  stop_requested = 1;
}

/* ---- one request ---- */

typedef struct {
  char *body;
  size_t len, cap;
  int too_big, refused; /* refused: answered already (a wrong method or type) */
  double started;
  const receiver *rv; /* for log_line: the proxies it trusts */
} request;

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

/* The address in text[0..len) (spaces around it dropped): 1, or 0 when it is not an IP address. */
static int parse_addr(const char *text, size_t len, jc_addr *out) {
  char buf[INET6_ADDRSTRLEN];
  while (len > 0 && (*text == ' ' || *text == '\t')) text++, len--;
  while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t')) len--;
  if (len == 0 || len >= sizeof buf) return 0;
  memcpy(buf, text, len);
  buf[len] = '\0';
  memset(out, 0, sizeof *out);
  if (inet_pton(AF_INET, buf, out->bytes) == 1) {
    out->family = AF_INET;
    return 1;
  }
  if (inet_pton(AF_INET6, buf, out->bytes) != 1) return 0;
  out->family = AF_INET6;
  if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)(const void *)out->bytes)) {
    out->family = AF_INET;
    memmove(out->bytes, out->bytes + 12, 4);
    memset(out->bytes + 4, 0, 12);
  }
  return 1;
}

static int trusted(const receiver *rv, const jc_addr *a) {
  for (int i = 0; rv != NULL && i < rv->ntrusted; i++)
    if (rv->trusted[i].family == a->family && memcmp(rv->trusted[i].bytes, a->bytes, 16) == 0) return 1;
  return 0;
}

/* The values of the X-Forwarded-For headers, in their order (the last JC_MAX_FORWARDED). */
#define JC_MAX_FORWARDED 8
typedef struct {
  const char *values[JC_MAX_FORWARDED];
  int n;
} forwarded;

static enum MHD_Result collect_forwarded(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
  forwarded *f = cls;
  (void)kind;
  if (key == NULL || value == NULL || strcasecmp(key, "X-Forwarded-For") != 0) return MHD_YES;
  if (f->n == JC_MAX_FORWARDED) {
    memmove(f->values, f->values + 1, sizeof f->values - sizeof f->values[0]);
    f->n--;
  }
  f->values[f->n++] = value;
  return MHD_YES;
}

/* The client behind a trusted proxy: X-Forwarded-For read from the right, each proxy adding the
   address it got the request from; the right-most entry that is not itself a trusted proxy is
   the first address no one we trust vouches for beyond: anything left of it may be forged by
   the client. A malformed entry stops the walk at the last trusted hop. */
static void forwarded_client(struct MHD_Connection *c, const receiver *rv, jc_addr *peer) {
  forwarded f;
  f.n = 0;
  MHD_get_connection_values(c, MHD_HEADER_KIND, collect_forwarded, &f);
  for (int h = f.n - 1; h >= 0; h--) {
    const char *v = f.values[h];
    size_t end = strlen(v);
    while (trusted(rv, peer)) {
      size_t start = end;
      jc_addr next;
      while (start > 0 && v[start - 1] != ',') start--;
      if (!parse_addr(v + start, end - start, &next)) return;
      *peer = next;
      if (start == 0) break; /* this header is done: the one before it goes on */
      end = start - 1;
    }
    if (!trusted(rv, peer)) return;
  }
}

static void log_line(struct MHD_Connection *c, const request *r, const char *kind, long long id, unsigned status) {
  const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  char remote[INET6_ADDRSTRLEN] = "-";
  char when[32];
  time_t now = time(NULL);
  struct tm tm;
  if (info && info->client_addr) {
    const struct sockaddr *a = info->client_addr;
    jc_addr peer;
    memset(&peer, 0, sizeof peer);
    if (a->sa_family == AF_INET) {
      peer.family = AF_INET;
      memcpy(peer.bytes, &((const struct sockaddr_in *)(const void *)a)->sin_addr, 4);
    } else if (a->sa_family == AF_INET6) {
      char text[INET6_ADDRSTRLEN];
      inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)a)->sin6_addr, text, sizeof text);
      parse_addr(text, strlen(text), &peer); /* an IPv4-mapped peer compares as IPv4 */
    }
    /* X-Forwarded-For is anyone's to write: only a trusted proxy's is read. */
    if (peer.family != 0 && trusted(r->rv, &peer)) forwarded_client(c, r->rv, &peer);
    if (peer.family != 0) inet_ntop(peer.family, peer.bytes, remote, sizeof remote);
  }
  gmtime_r(&now, &tm);
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  pthread_mutex_lock(&log_lock);
  if (id > 0)
    fprintf(stderr, "justclick serve: %s %s %s %lld %u %.0fms\n", when, remote, kind, id, status,
            (jc_clock(CLOCK_MONOTONIC) - r->started) * 1000);
  else
    fprintf(stderr, "justclick serve: %s %s %s - %u %.0fms\n", when, remote, kind, status,
            (jc_clock(CLOCK_MONOTONIC) - r->started) * 1000);
  fflush(stderr);
  pthread_mutex_unlock(&log_lock);
}

static enum MHD_Result answer(struct MHD_Connection *c, unsigned status, const char *text) {
  struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
  enum MHD_Result rc;
  if (resp == NULL) return MHD_NO;
  MHD_add_response_header(resp, "Content-Type", text[0] == '{' ? "application/json" : "text/plain");
  if (status == 405) MHD_add_response_header(resp, "Allow", "POST");
  rc = MHD_queue_response(c, status, resp);
  MHD_destroy_response(resp);
  return rc;
}

/* The whole body is in: check it, store it, answer. */
static enum MHD_Result finish(receiver *rv, struct MHD_Connection *c, request *r) {
  jc_form_limits limits = JC_FORM_LIMITS_DEFAULT;
  jc_form *f;
  jc_notice n;
  int rc;
  if (stop_requested) { /* stopping: take nothing more; the sender sends it again later */
    log_line(c, r, "stopping", 0, 503);
    return answer(c, 503, "stopping; send it again later\n");
  }
  if (r->too_big) {
    log_line(c, r, "too-large", 0, 413);
    char text[80];
    snprintf(text, sizeof text, "a notification is at most %zu bytes (max_body)\n", rv->max_body);
    return answer(c, 413, text);
  }
  f = jc_form_parse(r->body ? r->body : "", r->len, &limits);
  if (f == NULL) {
    log_line(c, r, "out-of-memory", 0, 503);
    return answer(c, 503, "out of memory\n");
  }
  rc = jc_form_dropped(f) > 0 ? JC_NOTICE_INPUT : jc_notice_check(f, rv->secret, rv->secret_len, &n);
  jc_form_free(f);
  if (rc == JC_NOTICE_FORGED) {
    log_line(c, r, "forged", 0, 403);
    return answer(c, 403, "forged: the hash does not verify\n");
  }
  if (rc != JC_NOTICE_OK) {
    log_line(c, r, "malformed", 0, 400);
    return answer(c, 400, "not a notification\n");
  }
  /* No handler can begin (no room for its outcome): what room comes goes to that first, and
     the sender sends this again later. */
  if ((rc = jc_inbox_blocked(rv->ud.inbox)) != 0) {
    char text[160];
    snprintf(text, sizeof text, "no room in the inbox for a handler's outcome (%s); send it again later\n",
             strerror(rc));
    log_line(c, r, n.kind, n.id, 503);
    return answer(c, 503, text);
  }
  /* Stored, fsynced, before the 200: an acknowledged notification survives kill -9. */
  if (jc_inbox_store(rv->ud.inbox, n.key, r->body ? r->body : "", r->len, jc_clock(CLOCK_REALTIME)) < 0) {
    log_line(c, r, n.kind, n.id, 503);
    return answer(c, 503, "cannot store it now; send it again later\n");
  }
  log_line(c, r, n.kind, n.id, 200);
  return answer(c, 200, "OK\n");
}

static int is_form(struct MHD_Connection *c) {
  const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
  static const char form[] = "application/x-www-form-urlencoded";
  return type != NULL && strncasecmp(type, form, sizeof form - 1) == 0 &&
         (type[sizeof form - 1] == '\0' || type[sizeof form - 1] == ';' || type[sizeof form - 1] == ' ');
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **state) {
  receiver *rv = cls;
  request *r = *state;
  (void)version;
  if (r == NULL) { /* the headers are in */
    const char *length;
    r = calloc(1, sizeof *r);
    if (r == NULL) return MHD_NO;
    r->started = jc_clock(CLOCK_MONOTONIC);
    r->rv = rv;
    *state = r;
    if (strcmp(method, "GET") == 0 && strcmp(url, "/health") == 0) {
      jc_inbox_counts k = jc_inbox_count(rv->ud.inbox);
      int blocked = jc_inbox_blocked(rv->ud.inbox);
      char json[320];
      int n = snprintf(json, sizeof json, "{\"stored\":%zu,\"handled\":%zu,\"parked\":%zu,\"pending\":%zu", k.stored,
                       k.handled, k.parked, k.pending);
      /* No handler begins until there is room for its outcome: unhealthy, and why (strerror's
         text has no quote nor backslash). */
      if (blocked)
        snprintf(json + n, sizeof json - (size_t)n, ",\"blocked\":\"no room in the inbox for a handler's outcome: %s\"}\n",
                 strerror(blocked));
      else
        snprintf(json + n, sizeof json - (size_t)n, "}\n");
      r->refused = 1;
      return answer(c, blocked ? 503 : 200, json);
    }
    if (strcmp(method, "POST") != 0) {
      r->refused = 1;
      log_line(c, r, "not-post", 0, 405);
      return answer(c, 405, "POST a notification\n");
    }
    if (!is_form(c)) {
      r->refused = 1;
      log_line(c, r, "not-a-form", 0, 415);
      return answer(c, 415, "a notification is application/x-www-form-urlencoded\n");
    }
    length = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (length != NULL && strtoull(length, NULL, 10) > rv->max_body) r->too_big = 1;
    return MHD_YES;
  }
  if (r->refused) { /* answered already: take in the rest of the body, and drop it */
    *upload_size = 0;
    return MHD_YES;
  }
  if (*upload_size > 0) {
    if (!r->too_big && *upload_size <= rv->max_body - r->len) {
      if (!jc_grow((void **)&r->body, &r->cap, r->len + *upload_size, 1, 4096)) return MHD_NO;
      memcpy(r->body + r->len, upload, *upload_size);
      r->len += *upload_size;
    } else {
      r->too_big = 1;
    }
    *upload_size = 0;
    return MHD_YES;
  }
  r->refused = 1;
  return finish(rv, c, r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode code) {
  request *r = *state;
  (void)cls, (void)c, (void)code;
  if (r) free(r->body);
  free(r);
  *state = NULL;
}

/* ---- the Lua side ---- */

/* The receiver at 1 (its first member is the store's ud), open; writable: not read-only. */
static receiver *check_receiver(lua_State *L) {
  return (receiver *)jc_inbox_check(L, 0);
}

static receiver *check_writable(lua_State *L) {
  return (receiver *)jc_inbox_check(L, 1);
}

static void stop_listening(receiver *rv) {
  if (rv->daemon) {
    MHD_stop_daemon(rv->daemon); /* waits for the requests under way, stored events included */
    rv->daemon = NULL;
  }
  if (rv->signals_set) {
    sigaction(SIGTERM, &rv->old_term, NULL);
    sigaction(SIGINT, &rv->old_int, NULL);
    rv->signals_set = 0;
  }
}

static int l_close(lua_State *L) {
  receiver *rv = luaL_checkudata(L, 1, JC_INBOX_TYPE);
  stop_listening(rv);
  jc_inbox_close(rv->ud.inbox);
  rv->ud.inbox = NULL;
  if (rv->secret) {
    memset(rv->secret, 0, rv->secret_len);
    free(rv->secret);
    rv->secret = NULL;
  }
  return 0;
}

/* receiver.inbox(path [, "r"]) -> inbox | nil, err (kind "io", with the path). "r": read-only, for listing (see above). */
static int l_inbox(lua_State *L) {
  size_t path_len;
  const char *path = luaL_checklstring(L, 1, &path_len);
  const char *mode = luaL_optstring(L, 2, "w");
  char err[512];
  receiver *rv;
  if (strcmp(mode, "r") != 0 && strcmp(mode, "w") != 0) return luaL_argerror(L, 2, "\"r\" or \"w\"");
  if (strlen(path) != path_len) return luaL_argerror(L, 1, "a path without NUL bytes");
  rv = lua_newuserdatauv(L, sizeof *rv, 0);
  memset(rv, 0, sizeof *rv);
  luaL_setmetatable(L, JC_INBOX_TYPE);
  rv->ud.readonly = mode[0] == 'r';
  rv->ud.stop = &stop_requested; /* next returns at once on SIGTERM or SIGINT */
  rv->ud.inbox = jc_inbox_open(path, rv->ud.readonly ? JC_INBOX_READONLY : 0, err, sizeof err);
  if (rv->ud.inbox == NULL) {
    jc_push_error(L, "io", err);
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "path");
    return 2;
  }
  return 1;
}

/* The integer options[name] (fallback when nil) into *v: 1, or 0 with nil, err {kind = "input",
   message naming the option} pushed when it is a number out of lo..hi or not whole (a value a user
   may have given). Another type is a programming error: it raises. */
static int int_field(lua_State *L, int idx, const char *name, lua_Integer fallback, lua_Integer lo, lua_Integer hi,
                     lua_Integer *v) {
  int isint;
  lua_Integer n;
  lua_getfield(L, idx, name);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    *v = fallback;
    return 1;
  }
  if (lua_type(L, -1) != LUA_TNUMBER)
    return luaL_error(L, "justclick: listen: %s must be an integer, not a %s", name, luaL_typename(L, -1));
  n = lua_tointegerx(L, -1, &isint);
  lua_pop(L, 1);
  if (!isint || n < lo || n > hi) { /* %I is 5.3's: the bounds fit an int */
    jc_push_errorf(L, "input", "%s must be a whole number from %d to %d", name, (int)lo, (int)hi);
    return 0;
  }
  *v = n;
  return 1;
}

/* inbox:listen{host =, port =, secret =, max_body =, timeout =, connections =} */
static int l_listen(lua_State *L) {
  receiver *rv = check_writable(L);
  struct sockaddr_storage addr;
  socklen_t addr_len;
  const char *host, *secret;
  size_t secret_len, host_len;
  lua_Integer port, timeout, connections, max_body;
  struct sigaction sa;
  luaL_checktype(L, 2, LUA_TTABLE);
  if (rv->daemon) return luaL_error(L, "justclick: the inbox listens already");
  lua_getfield(L, 2, "host");
  host = luaL_optlstring(L, -1, "127.0.0.1", &host_len);
  lua_getfield(L, 2, "secret");
  secret = luaL_checklstring(L, -1, &secret_len);
  /* A value out of range, or a host that is not an IP address: nil, err (kind "input"), before
     anything is set up. */
  if (!int_field(L, 2, "port", 8787, 0, JC_LISTEN_MAX_PORT, &port) ||
      !int_field(L, 2, "timeout", 10, 1, JC_LISTEN_MAX_TIMEOUT, &timeout) ||
      !int_field(L, 2, "connections", 64, 1, JC_LISTEN_MAX_CONNECTIONS, &connections) ||
      !int_field(L, 2, "max_body", 65536, 1, JC_LISTEN_MAX_BODY, &max_body))
    return 2;

  memset(&addr, 0, sizeof addr);
  if (strlen(host) != host_len) {
    return jc_push_error(L, "input", "host must be an IP address, without NUL bytes");
  } else if (inet_pton(AF_INET, host, &((struct sockaddr_in *)(void *)&addr)->sin_addr) == 1) {
    struct sockaddr_in *a = (struct sockaddr_in *)(void *)&addr;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    addr_len = sizeof *a;
  } else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)(void *)&addr)->sin6_addr) == 1) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)(void *)&addr;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    addr_len = sizeof *a;
  } else {
    return jc_push_errorf(L, "input", "host must be an IP address (127.0.0.1, ::1), not '%s'", host);
  }
  (void)addr_len;

  /* trust_proxy: a list of IP addresses; one that is not is nil, err, like the host. */
  lua_getfield(L, 2, "trust_proxy");
  rv->ntrusted = 0;
  if (!lua_isnil(L, -1)) {
    lua_Integer n;
    luaL_argexpected(L, lua_istable(L, -1), 2, "trust_proxy as a list of IP addresses");
    n = (lua_Integer)lua_rawlen(L, -1);
    if (n > JC_MAX_TRUSTED) return jc_push_errorf(L, "input", "trust_proxy takes at most %d addresses", JC_MAX_TRUSTED);
    for (lua_Integer i = 1; i <= n; i++) {
      size_t len;
      const char *text;
      lua_rawgeti(L, -1, i);
      if (lua_type(L, -1) != LUA_TSTRING)
        return luaL_error(L, "justclick: listen: trust_proxy[%d] must be a string, not a %s", (int)i, luaL_typename(L, -1));
      text = lua_tolstring(L, -1, &len);
      if (strlen(text) != len || !parse_addr(text, len, &rv->trusted[rv->ntrusted]))
        return jc_push_errorf(L, "input", "trust_proxy: '%s' is not an IP address", text);
      rv->ntrusted++;
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);

  rv->secret = malloc(secret_len + 1);
  if (rv->secret == NULL) return luaL_error(L, "not enough memory");
  memcpy(rv->secret, secret, secret_len);
  rv->secret_len = secret_len;
  rv->max_body = (size_t)max_body;

  /* SIGTERM and Ctrl-C stop the receiver between handlers, not in the middle of one. */
  stop_requested = 0;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal;
  sa.sa_flags = SA_RESTART; /* a handler's read or write in progress goes on, not EINTR */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, &rv->old_term);
  sigaction(SIGINT, &sa, &rv->old_int);
  rv->signals_set = 1;

  rv->daemon = MHD_start_daemon(
      MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
          (((struct sockaddr *)(void *)&addr)->sa_family == AF_INET6 ? MHD_USE_IPv6 : 0),
      (uint16_t)port, NULL, NULL, on_request, rv,
      MHD_OPTION_SOCK_ADDR, (struct sockaddr *)(void *)&addr,
      MHD_OPTION_CONNECTION_LIMIT, (unsigned int)connections,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)timeout,
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, rv,
      MHD_OPTION_END);
  if (rv->daemon == NULL) { /* the machine refused (a port in use, an address not its own):
                               nil, err {kind = "io", errno}; the inbox stays open, as before */
    int saved = errno;
    stop_listening(rv);
    memset(rv->secret, 0, rv->secret_len);
    free(rv->secret);
    rv->secret = NULL;
    rv->secret_len = 0;
    if (strchr(host, ':') != NULL)
      jc_push_errorf(L, "io", "cannot listen on [%s]:%d: %s", host, (int)port, strerror(saved));
    else
      jc_push_errorf(L, "io", "cannot listen on %s:%d: %s", host, (int)port, strerror(saved));
    lua_pushinteger(L, saved);
    lua_setfield(L, -2, "errno");
    lua_pushboolean(L, saved == EADDRINUSE); /* the one refusal that another process is behind */
    lua_setfield(L, -2, "in_use");
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int l_port(lua_State *L) {
  receiver *rv = check_receiver(L);
  const union MHD_DaemonInfo *info = rv->daemon ? MHD_get_daemon_info(rv->daemon, MHD_DAEMON_INFO_BIND_PORT) : NULL;
  lua_pushinteger(L, info ? info->port : 0);
  return 1;
}

static int l_stopping(lua_State *L) {
  check_receiver(L);
  lua_pushboolean(L, stop_requested);
  return 1;
}

/* The HTTP side's methods; the store's (next, begin, handled, ...) are bind/store.c's, added to
   the same type by jc_open_store. */
static const luaL_Reg inbox_methods[] = {
  {"listen", l_listen}, {"port", l_port}, {"stopping", l_stopping}, {"close", l_close}, {NULL, NULL},
};

int jc_open_receiver(lua_State *L) {
  jc_new_type(L, JC_INBOX_TYPE, inbox_methods, l_close);
  lua_pushcfunction(L, l_inbox);
  lua_setfield(L, -2, "inbox");
  return 0;
}
