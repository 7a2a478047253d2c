/*
 * The inbox's store for Lua: the methods the Lua thread calls on the object receiver.inbox
 * returns (bind/receiver.c makes it, and gives it listen, port, stopping and close), over
 * pure/store.c (SQLite). No HTTP here.
 *
 *   local ev = inbox:next(seconds)            -- {key, kind, id, body, attempts, at, crashed = true|nil}
 *                                             -- or nil
 *                                             -- (none due, or stopping), or nil, err (a read error)
 *   inbox:begin(key) --> true                 -- a try of the handler begins (before running it),
 *                                             -- once its row says so; false: no row to handle has
 *                                             -- that key (changed by hand): no try, no handler
 *   inbox:handled(key) --> true
 *   inbox:failed(key, retry_after, max_attempts [, why]) --> "parked" | "retry"
 *   inbox:replay(key) --> true | false        -- any stored event pending again; false: no such event
 *     (these four: nil, err when the store refuses; a full disk fails begin, see inbox.h;
 *     while begin fails for want of room, POSTs get 503 and GET /health 503 with "blocked")
 *   inbox:parked() --> {{key =, attempts =}...};  inbox:counts() --> {stored, handled, parked, pending}
 *   inbox:events([state]) --> {{key, kind, bill_id, state, received, tries, attempts, last_error}...}
 *   inbox:trim(days) --> how many handled (and duplicate) events it deleted (a read-only inbox's)
 *   inbox:store(key, body) --> "stored" | "known"   -- as a notification is (a parked one pending
 *                                             -- again); key kind-id-rest, else raises
 *   inbox:store_many({{key =, body =}, ...}) --> how many stored (known ones not counted): all
 *                                             -- in one transaction, one fsync
 *   inbox:duplicate(key, of_key) --> true | false -- a second event of a payment handled as
 *                                             -- of_key: 'duplicate', its handler never runs;
 *                                             -- false: no row to handle has that key
 *     (these three: nil, err when the store refuses)
 *   inbox:payment(bill_id) --> {{key =, state =}, ...} -- the bill's paid events, in arrival
 *                                             -- order, then its trimmed ones (state "trimmed");
 *                                             -- a read-only inbox's too; nil, err
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <lauxlib.h>
#include "../pure/buffer.h"
#include "../pure/inbox.h"
#include "../pure/notice.h"
#include "../pure/sys.h"
#include "inboxud.h"
#include "support.h"
#include "store.h"

/* nil, err {kind = "io", message = "justclick: cannot write the inbox: ...", errno} for a failed
   inbox call. */
static int write_failed(lua_State *L) {
  int saved = errno;
  jc_push_errorf(L, "io", "justclick: cannot write the inbox: %s", strerror(saved));
  lua_pushinteger(L, saved);
  lua_setfield(L, -2, "errno");
  return 2;
}

/* inbox:next(seconds) -> {key, kind, id, body, attempts, at[, crashed = true]} | nil | nil, err. Due by
   the monotonic clock: a wall clock stepped by NTP or by hand does not move retries. */
static int l_next(lua_State *L) {
  jc_inbox_ud *rv = jc_inbox_check(L, 1);
  double seconds = luaL_optnumber(L, 2, 0), until = jc_clock(CLOCK_MONOTONIC) + seconds;
  jc_inbox_event ev;
  for (;;) {
    double wait;
    int rc;
    if ((rv->stop && *rv->stop) || jc_interrupted) break;
    rc = jc_inbox_next(rv->inbox, jc_clock(CLOCK_MONOTONIC), &ev, &wait);
    if (rc < 0) {
      int saved = errno;
      jc_push_errorf(L, "io", "justclick: cannot read the inbox: %s", strerror(saved));
      lua_pushinteger(L, saved);
      lua_setfield(L, -2, "errno");
      return 2;
    }
    if (rc > 0) {
      lua_createtable(L, 0, 7);
      lua_pushlstring(L, ev.body, ev.len);
      free(ev.body);
      lua_setfield(L, -2, "body");
      size_t key_len = strlen(ev.key), kind_len;
      long long id;
      lua_pushlstring(L, ev.key, key_len);
      lua_setfield(L, -2, "key");
      /* The key is the receiver's check made text (pure/notice.c): kind and bill id come from it,
         not from a second check of the body. An id past what this Lua holds exactly stays out. */
      if (jc_notice_key_parts(ev.key, key_len, &kind_len, &id)) {
        lua_pushlstring(L, ev.key, kind_len);
        lua_setfield(L, -2, "kind");
        if (id <= JC_LUA_INTEGER_MAX) {
          lua_pushinteger(L, (lua_Integer)id);
          lua_setfield(L, -2, "id");
        }
      }
      lua_pushinteger(L, ev.attempts);
      lua_setfield(L, -2, "attempts");
      lua_pushnumber(L, ev.at);
      lua_setfield(L, -2, "at");
      if (ev.crashed) {
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "crashed");
      }
      return 1;
    }
    double left = until - jc_clock(CLOCK_MONOTONIC);
    if (left <= 0) break;
    if (wait >= 0 && wait < left) left = wait;
    jc_inbox_wait(rv->inbox, left < 0.25 ? left : 0.25); /* a signal is noticed within 0.25 s */
  }
  lua_pushnil(L);
  return 1;
}

/* inbox:begin(key) -> true | false | nil, err: written before the handler runs, so that a handler that
   kills the process is seen (next's crashed) when the inbox opens again. */
static int l_begin(lua_State *L) {
  jc_inbox_ud *rv = jc_inbox_check(L, 1);
  int rc = jc_inbox_begin(rv->inbox, luaL_checkstring(L, 2));
  if (rc < 0) return write_failed(L);
  lua_pushboolean(L, rc == 0); /* false: no row to handle has that key (changed by hand): no try */
  return 1;
}

/* inbox:handled(key) -> true | nil, err */
static int l_handled(lua_State *L) {
  jc_inbox_ud *rv = jc_inbox_check(L, 1);
  if (jc_inbox_handled(rv->inbox, luaL_checkstring(L, 2)) != 0) return write_failed(L);
  lua_pushboolean(L, 1);
  return 1;
}

/* inbox:failed(key, retry_after, max_attempts [, why]) -> "parked" | "retry" | nil, err. why: the
   row's last_error. */
static int l_failed(lua_State *L) {
  jc_inbox_ud *rv = jc_inbox_check(L, 1);
  const char *key = luaL_checkstring(L, 2);
  double retry_after = luaL_checknumber(L, 3);
  int max_attempts = (int)luaL_checkinteger(L, 4);
  const char *why = luaL_optstring(L, 5, NULL);
  int rc = jc_inbox_failed(rv->inbox, key, jc_clock(CLOCK_MONOTONIC), retry_after, max_attempts, why);
  if (rc < 0) return write_failed(L);
  lua_pushstring(L, rc == 1 ? "parked" : "retry");
  return 1;
}

/* inbox:replay(key) -> true | false (no such event) | nil, err: any stored event, a handled one
   included, is pending again */
static int l_replay(lua_State *L) {
  jc_inbox_ud *rv = jc_inbox_check(L, 1);
  int rc = jc_inbox_replay(rv->inbox, luaL_checkstring(L, 2));
  if (rc < 0) return write_failed(L);
  lua_pushboolean(L, rc == 1);
  return 1;
}

/* What is wrong with key as a stored event's key, or NULL: the inbox's characters and length,
   and the form kind-id-rest with the id as the notifications' keys write it (no leading zero),
   so that payment() finds it by its id. */
static const char *key_problem(const char *key, size_t len) {
  size_t kind_len;
  long long id;
  if (!jc_inbox_valid_key(key, len)) return "not a key of 1 to %d letters, digits, - and _";
  if (!jc_notice_key_parts(key, len, &kind_len, &id)) return "not a key kind-id-rest (paid-123-api, say)";
  if (key[kind_len + 1] == '0' && key[kind_len + 2] != '-') return "a key whose bill id has a leading zero";
  return NULL;
}

/* The string at arg, an event's key, and its length (raises as a wrong type does, naming the
   argument). */
static const char *check_key(lua_State *L, int arg, size_t *len) {
  const char *key = luaL_checklstring(L, arg, len), *problem = key_problem(key, *len);
  if (problem) luaL_argerror(L, arg, lua_pushfstring(L, problem, JC_INBOX_KEY_MAX));
  return key;
}

/* inbox:store(key, body) -> "stored" | "known" | nil, err: as the receiver stores a
   notification (catch-up's events: paid-ID-api). Durable when it returns. */
static int l_store(lua_State *L) {
  jc_inbox_ud *rv = jc_inbox_check(L, 1);
  size_t key_len, len;
  const char *key = check_key(L, 2, &key_len), *body = luaL_checklstring(L, 3, &len);
  int rc = jc_inbox_store(rv->inbox, key, body, len, jc_clock(CLOCK_REALTIME));
  if (rc < 0) return write_failed(L);
  lua_pushstring(L, rc == 1 ? "stored" : "known");
  return 1;
}

/* inbox:store_many(list) -> how many stored | nil, err: list {{key =, body =}, ...}, all in one
   transaction. The strings are anchored in a table of this call's (pre-sized: no allocation
   after it, so no finalizer can run and change list) while the writer reads them. */
static int l_store_many(lua_State *L) {
  jc_inbox_ud *rv = jc_inbox_check(L, 1);
  size_t n;
  jc_inbox_item *items;
  long long rc;
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  n = (size_t)lua_rawlen(L, 2);
  luaL_argcheck(L, n <= (size_t)INT_MAX / 2 && n <= SIZE_MAX / sizeof *items, 2, "too many events");
  items = lua_newuserdatauv(L, n ? n * sizeof *items : 1, 0); /* 3: freed by the GC, raise or not */
  lua_createtable(L, (int)(2 * n), 0);                        /* 4: the strings' anchor */
  lua_pushliteral(L, "key");                                  /* 5 */
  lua_pushliteral(L, "body");                                 /* 6 */
  for (size_t i = 0; i < n; i++) {
    const char *problem;
    size_t key_len;
    if (lua_rawgeti(L, 2, (lua_Integer)i + 1) != LUA_TTABLE)
      return luaL_argerror(L, 2, lua_pushfstring(L, "item %d: a table {key =, body =} expected", (int)i + 1));
    lua_pushvalue(L, 5);
    if (lua_rawget(L, -2) != LUA_TSTRING)
      return luaL_argerror(L, 2, lua_pushfstring(L, "item %d: key: a string expected", (int)i + 1));
    items[i].key = lua_tolstring(L, -1, &key_len); /* NUL-terminated, and none inside (key_problem) */
    if ((problem = key_problem(items[i].key, key_len)) != NULL) {
      lua_pushfstring(L, "item %d: ", (int)i + 1);
      lua_pushfstring(L, problem, JC_INBOX_KEY_MAX);
      lua_concat(L, 2);
      return luaL_argerror(L, 2, lua_tostring(L, -1));
    }
    lua_rawseti(L, 4, 2 * (lua_Integer)i + 1);
    lua_pushvalue(L, 6);
    if (lua_rawget(L, -2) != LUA_TSTRING)
      return luaL_argerror(L, 2, lua_pushfstring(L, "item %d: body: a string expected", (int)i + 1));
    items[i].body = lua_tolstring(L, -1, &items[i].len);
    lua_rawseti(L, 4, 2 * (lua_Integer)i + 2);
    lua_pop(L, 1);
  }
  rc = jc_inbox_store_many(rv->inbox, items, n, jc_clock(CLOCK_REALTIME));
  if (rc < 0) return write_failed(L);
  lua_pushinteger(L, (lua_Integer)rc);
  return 1;
}

/* inbox:duplicate(key, of_key) -> true | false | nil, err: key's event is a second one of the
   payment handled as of_key: settled without its handler. false: no row to handle has key. */
static int l_duplicate(lua_State *L) {
  jc_inbox_ud *rv = jc_inbox_check(L, 1);
  size_t len, of_len;
  const char *key = luaL_checklstring(L, 2, &len), *of_key = check_key(L, 3, &of_len);
  int rc;
  luaL_argcheck(L, len != of_len || memcmp(key, of_key, len) != 0, 3, "the key of another event than key");
  if (!jc_inbox_valid_key(key, len)) { /* no row has it (a NUL inside would name another) */
    lua_pushboolean(L, 0);
    return 1;
  }
  if ((rc = jc_inbox_duplicate(rv->inbox, key, of_key)) < 0) return write_failed(L);
  lua_pushboolean(L, rc == 0);
  return 1;
}

/* A bill's payment events, copied out of the store before any Lua call. */
typedef struct {
  char **cells; /* 2 a row: key, state */
  size_t n, cap;
  int failed;
} pairs;

static int collect_pair(void *ctx, const char *key, const char *state) {
  pairs *p = ctx;
  if (!jc_grow((void **)&p->cells, &p->cap, 2 * (p->n + 1), sizeof *p->cells, 16)) {
    p->failed = 1;
    return -1;
  }
  p->cells[2 * p->n] = strdup(key);
  p->cells[2 * p->n + 1] = strdup(state);
  p->n++;
  if (p->cells[2 * p->n - 2] == NULL || p->cells[2 * p->n - 1] == NULL) p->failed = 1;
  return p->failed ? -1 : 0;
}

/* The list of p (a light userdata at 1), under lua_pcall: a memory error while it is built
   leaves p to be freed. */
static int push_pairs(lua_State *L) {
  const pairs *p = lua_touserdata(L, 1);
  lua_createtable(L, (int)p->n, 0);
  for (size_t i = 0; i < p->n; i++) {
    lua_createtable(L, 0, 2);
    lua_pushstring(L, p->cells[2 * i]);
    lua_setfield(L, -2, "key");
    lua_pushstring(L, p->cells[2 * i + 1]);
    lua_setfield(L, -2, "state");
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

/* inbox:payment(bill_id) -> {{key =, state =}, ...} | nil, err: the bill's events of kind paid in
   arrival order, then the keys of those trimmed (state "trimmed"). Read-only inboxes too. */
static int l_payment(lua_State *L) {
  jc_inbox_ud *rv = jc_inbox_check(L, 0);
  lua_Integer id = luaL_checkinteger(L, 2);
  pairs p = {NULL, 0, 0, 0};
  char err[256];
  int rc;
  luaL_argcheck(L, id >= 0, 2, "a bill id, 0 or more");
  luaL_checkstack(L, 4, NULL);
  rc = jc_inbox_payment(rv->inbox, (long long)id, collect_pair, &p, err, sizeof err);
  if (rc == 0 && !p.failed) {
    lua_pushcfunction(L, push_pairs); /* a light C function and a light userdata: no allocation */
    lua_pushlightuserdata(L, &p);
    rc = lua_pcall(L, 1, 1, 0) == LUA_OK ? 0 : 1;
  }
  for (size_t i = 0; i < 2 * p.n; i++) free(p.cells[i]);
  free(p.cells);
  if (rc == 1) return lua_error(L); /* as it came: memory, most likely */
  if (p.failed) return jc_push_error(L, "io", "justclick: not enough memory to read the inbox");
  if (rc < 0) return jc_push_errorf(L, "io", "justclick: %s", err);
  return 1;
}

typedef struct {
  char (*keys)[JC_INBOX_KEY_MAX + 1];
  int *attempts;
  size_t n, keys_cap, attempts_cap;
} parked_list;

static void collect_parked(void *ctx, const char *key, int attempts) {
  parked_list *p = ctx;
  if (!jc_grow((void **)&p->keys, &p->keys_cap, p->n + 1, sizeof *p->keys, 16) ||
      !jc_grow((void **)&p->attempts, &p->attempts_cap, p->n + 1, sizeof *p->attempts, 16))
    return;
  snprintf(p->keys[p->n], sizeof p->keys[p->n], "%s", key); /* bounded, whatever the store gives */
  p->attempts[p->n++] = attempts;
}

/* inbox:parked() -> {{key =, attempts =}, ...} in arrival order */
static int l_parked(lua_State *L) {
  jc_inbox_ud *rv = jc_inbox_check(L, 0);
  parked_list p = {NULL, NULL, 0, 0, 0};
  jc_inbox_parked(rv->inbox, collect_parked, &p); /* copied out: no Lua call under the inbox's lock */
  lua_createtable(L, (int)p.n, 0);
  for (size_t i = 0; i < p.n; i++) {
    lua_createtable(L, 0, 2);
    lua_pushstring(L, p.keys[i]);
    lua_setfield(L, -2, "key");
    lua_pushinteger(L, p.attempts[i]);
    lua_setfield(L, -2, "attempts");
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  free(p.keys);
  free(p.attempts);
  return 1;
}

static int l_counts(lua_State *L) {
  jc_inbox_ud *rv = jc_inbox_check(L, 0);
  jc_inbox_counts k = jc_inbox_count(rv->inbox);
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, (lua_Integer)k.stored);
  lua_setfield(L, -2, "stored");
  lua_pushinteger(L, (lua_Integer)k.handled);
  lua_setfield(L, -2, "handled");
  lua_pushinteger(L, (lua_Integer)k.parked);
  lua_setfield(L, -2, "parked");
  lua_pushinteger(L, (lua_Integer)k.pending);
  lua_setfield(L, -2, "pending");
  return 1;
}

/* The events' rows, copied out of the store before any Lua call (an allocation may raise). */
typedef struct {
  char **cells; /* 7 a row: key, kind, bill_id, state, received, last_error (NULL), tries */
  long long *numbers; /* 2 a row: tries, attempts */
  size_t n, cells_cap, numbers_cap;
  int failed;
} rows;

static char *dup_or_null(const char *s) {
  return s ? strdup(s) : NULL;
}

static int collect_row(void *ctx, const jc_inbox_row *r) {
  rows *w = ctx;
  char **c;
  if (!jc_grow((void **)&w->cells, &w->cells_cap, 6 * (w->n + 1), sizeof *w->cells, 64) ||
      !jc_grow((void **)&w->numbers, &w->numbers_cap, 2 * (w->n + 1), sizeof *w->numbers, 32)) {
    w->failed = 1;
    return -1;
  }
  c = w->cells + 6 * w->n;
  c[0] = dup_or_null(r->key), c[1] = dup_or_null(r->kind), c[2] = dup_or_null(r->bill_id);
  c[3] = dup_or_null(r->state), c[4] = dup_or_null(r->received), c[5] = dup_or_null(r->last_error);
  w->numbers[2 * w->n] = r->tries;
  w->numbers[2 * w->n + 1] = r->attempts;
  w->n++;
  for (int i = 0; i < 5; i++)
    if (c[i] == NULL) w->failed = 1;
  return w->failed ? -1 : 0;
}

static void free_rows(rows *w) {
  for (size_t i = 0; i < 6 * w->n; i++) free(w->cells[i]);
  free(w->cells);
  free(w->numbers);
}

/* inbox:events([state]) -> {{key, kind, bill_id, state, received, tries, attempts, last_error}...}
   in arrival order | nil, err */
static int l_events(lua_State *L) {
  jc_inbox_ud *rv = jc_inbox_check(L, 0);
  const char *state = luaL_optstring(L, 2, NULL);
  static const char *const names[] = {"key", "kind", "bill_id", "state", "received", "last_error"};
  rows w = {NULL, NULL, 0, 0, 0, 0};
  char err[256];
  if (jc_inbox_list(rv->inbox, state, collect_row, &w, err, sizeof err) != 0 || w.failed) {
    free_rows(&w);
    if (w.failed) return jc_push_error(L, "io", "justclick: not enough memory to list the inbox");
    return jc_push_errorf(L, "io", "justclick: %s", err);
  }
  lua_createtable(L, (int)w.n, 0);
  for (size_t i = 0; i < w.n; i++) {
    lua_createtable(L, 0, 8);
    for (int j = 0; j < 6; j++) {
      if (w.cells[6 * i + j] == NULL) continue;
      lua_pushstring(L, w.cells[6 * i + j]);
      lua_setfield(L, -2, names[j]);
    }
    lua_pushinteger(L, (lua_Integer)w.numbers[2 * i]);
    lua_setfield(L, -2, "tries");
    lua_pushinteger(L, (lua_Integer)w.numbers[2 * i + 1]);
    lua_setfield(L, -2, "attempts");
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  free_rows(&w);
  return 1;
}

/* inbox:trim(days) -> how many handled events it deleted | nil, err. A read-only handle's (the
   receiver may be running: SQLite's own locks, waited on, keep them apart). */
static int l_trim(lua_State *L) {
  jc_inbox_ud *rv = jc_inbox_check(L, 0);
  double days = luaL_checknumber(L, 2);
  char err[256];
  long long n;
  if (!rv->readonly) return luaL_error(L, "justclick: trim an inbox opened read-only (\"r\")");
  n = jc_inbox_trim(rv->inbox, days, err, sizeof err);
  if (n < 0) return jc_push_errorf(L, "io", "justclick: %s", err);
  lua_pushinteger(L, (lua_Integer)n);
  return 1;
}

static const luaL_Reg store_methods[] = {
  {"next", l_next}, {"begin", l_begin}, {"handled", l_handled}, {"failed", l_failed}, {"replay", l_replay},
  {"parked", l_parked}, {"counts", l_counts}, {"events", l_events}, {"trim", l_trim}, {"store", l_store},
  {"store_many", l_store_many}, {"duplicate", l_duplicate}, {"payment", l_payment}, {NULL, NULL},
};

int jc_open_store(lua_State *L) {
  /* The type is the receiver's (jc_open_receiver, first): its methods table gets these. */
  if (luaL_getmetatable(L, JC_INBOX_TYPE) != LUA_TTABLE) return luaL_error(L, "justclick: open the receiver first");
  lua_getfield(L, -1, "__index");
  luaL_setfuncs(L, store_methods, 0);
  lua_pop(L, 2);
  return 0;
}
