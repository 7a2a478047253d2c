/* The module's shared state and the Lua functions each file registers. */
#ifndef JC_CORE_H
#define JC_CORE_H

#include <signal.h>
#include <time.h>
#include "compat.h"
#include "query.h"
#include "sign.h"

#define JC_VERSION "0.2.0"

/* One per loaded module, passed to every function as upvalue 1. It holds scratch space and the
   digest context, so that calls in the steady state allocate nothing. A finalizer may call the
   core while a call is under way (any Lua allocation may run one), so a call claims `query`
   through jc_query_call (`busy`). The md5 context needs no claim: it is used from
   EVP_DigestInit to EVP_DigestFinal with no Lua call in between. After the state's own
   finalizer, `busy` stays set and md5.ctx is NULL: finalizers that run later, as the Lua state
   closes, work with scratch and a context of their own. */
typedef struct {
  jc_query query;
  jc_md5 md5;
  int busy;
} jc_state;

jc_state *jc_state_of(lua_State *L);

int luaopen_justclick_core(lua_State *L);

/* preload.c, in programs with justclick inside: package.preload for justclick.core and for the
   embedded justclick module. */
void jc_preload(lua_State *L);

/* query.c */
int jc_l_build_query(lua_State *L);
/* Reads the options table at `idx` (absent, nil or a table) and returns max_input_vars. */
size_t jc_query_options(lua_State *L, int idx);
/* Frees scratch buffers that one large call left oversized. */
void jc_query_trim(jc_query *q);

/* form.c: parse_query(body [, options]) -> table, dropped */
int jc_l_parse_query(lua_State *L);

/* sign.c */
int jc_l_sign(lua_State *L);
int jc_l_signed_body(lua_State *L);
int jc_l_verify_reply(lua_State *L);
int jc_l_md5(lua_State *L);
/* Whether the reply table at `reply` carries a valid hash, as verify_reply tells. */
int jc_reply_verified(lua_State *L, int reply, const char *secret, size_t secret_len);

/* journal.c */
int jc_l_append_durably(lua_State *L);
/* Opens path with flags, making it (mode 0600) when it is missing and fsyncing its directory
   then. -1 and errno on failure. */
int jc_open_durably(const char *path, size_t len, int flags);
int jc_l_isatty(lua_State *L);
int jc_l_lock(lua_State *L);
int jc_l_truncate_durably(lua_State *L);
int jc_l_realpath(lua_State *L);
int jc_l_boottime(lua_State *L);

/* secret.c: the secret from a file, at most JC_SECRET_MAX bytes and a line end. */
enum { JC_SECRET_MAX = 4096, JC_SECRET_BUF = JC_SECRET_MAX + 3 /* "\r\n", and a byte to tell it is longer */ };
/* Reads it into buf (JC_SECRET_BUF bytes) without the line end: 0, or -1 after printing why. */
int jc_read_secret_file(const char *path, char *buf, size_t *len);
int jc_l_read_secret_file(lua_State *L);
/* Wipes a buffer that held the secret. */
void jc_wipe(void *p, size_t n);

/* reply.c */
int jc_l_decode_reply(lua_State *L);

/* serve.c: adds core.inbox to the module table on top of the stack. notify.c: notification_check. */
int jc_open_serve(lua_State *L);
int jc_l_notification_check(lua_State *L);

/* http.c: adds core.session and the session type to the module table on top of the stack. */
int jc_open_http(lua_State *L);
/* Set by the host's SIGINT handler: transfers in flight stop at once. */
extern volatile sig_atomic_t jc_interrupted;

/* Seconds on a clock, with a fraction: the monotonic one (durations, and when a retry is due),
   and the wall clock (times kept or shown). */
static inline double jc_clock(clockid_t which) {
  struct timespec t;
  clock_gettime(which, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

#endif
