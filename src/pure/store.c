/* The notification inbox on SQLite; see inbox.h. Two connections: `w`, the writer thread's (and
   open's), and `r`, the handling thread's reads (next, parked, list), so that a read never waits
   for a group's fsync. One mutex guards the queue, the counts, the schedule and the held
   outcome. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "inbox.h"
#include "inbox_v1.h"
#include "durable.h"
#include "notice.h"

#define SCHEMA                                                                                          \
  "CREATE TABLE IF NOT EXISTS events ("                                                                 \
  " seq INTEGER PRIMARY KEY,"                /* arrival order */                                        \
  " key TEXT NOT NULL UNIQUE,"                                                                          \
  " kind TEXT NOT NULL,"                                                                                \
  " bill_id INTEGER,"                                                                                   \
  " state TEXT NOT NULL,"                                                                               \
  " received TEXT NOT NULL,"                 /* ISO-8601 UTC, milliseconds */                           \
  " received_at REAL NOT NULL,"              /* the same, seconds since the epoch */                    \
  " tries INTEGER NOT NULL DEFAULT 0,"       /* tries of its handler begun, ever */                     \
  " attempts INTEGER NOT NULL DEFAULT 0,"    /* failures since it was last made pending */             \
  " last_error TEXT,"                                                                                   \
  " handled TEXT,"                           /* when its outcome 'handled' was recorded */              \
  " handled_at REAL,"                                                                                   \
  " body BLOB NOT NULL);"                                                                               \
  "CREATE INDEX IF NOT EXISTS events_todo ON events(seq) WHERE state IN ('stored','trying');"        \
  /* a bill's payment events (jc_inbox_payment), whichever way each came: made at a writer's open */ \
  "CREATE INDEX IF NOT EXISTS events_paid ON events(bill_id) WHERE kind = 'paid';"                      \
  /* the keys of the events trimmed: a notification sent again after its trim is still known */   \
  "CREATE TABLE IF NOT EXISTS trimmed (key TEXT PRIMARY KEY, handled TEXT) WITHOUT ROWID;"

/* The page of the try in progress (PATH-try). `outcome` is stored last, in one aligned store. */
enum { OUT_NONE, OUT_HANDLED, OUT_FAILED, OUT_PARKED };
typedef struct {
  char magic[8];
  char key[JC_INBOX_KEY_MAX + 8];
  int32_t try_n, attempts;
  int32_t outcome;
} try_page;
#define TRY_MAGIC "JCTRY1\n"
#define PAGE 4096

enum { OP_STORE, OP_BEGIN, OP_HANDLED, OP_FAILED, OP_REPLAY, OP_DUPLICATE };

typedef struct op {
  int type;
  const char *key, *body, *why;
  size_t len;
  double at;
  int attempts, park;
  int rc, err, done;
  int was; /* the state it changed from, for the counts: 0 none, else a state's letter */
  struct op *next;
} op;

typedef struct {
  char key[JC_INBOX_KEY_MAX + 1];
  double next_at;
} sched;

struct jc_inbox {
  sqlite3 *w, *r;
  sqlite3_stmt *payment_st; /* jc_inbox_payment's, on r: prepared once (the handling thread's, each paid event) */
  int readonly, lockfd;
  int dbfd; /* the database file's, flock'd: the lock of its inode, whatever name reached it */
  try_page *page;
  pthread_mutex_t mu;
  pthread_cond_t work, done, arrived; /* work and arrived: on the monotonic clock */
  pthread_t writer;
  int writer_started, stop;
  op *head, *tail;
  int sync_full; /* the writer connection's synchronous setting now */
  /* the outcome of the last try while its row does not have it: written by the writer, again
     each second when it fails, and always before the next try begins */
  int held;
  uint64_t held_gen;
  double held_due;
  op held_op;
  char held_key[JC_INBOX_KEY_MAX + 1], held_why[256];
  int blocked;
  sched *sched;
  size_t nsched, sched_cap;
  struct {
    const char *sql;
    sqlite3_stmt *st;
  } stmts[16];
  size_t nstmts;
  jc_inbox_counts counts;
};

static struct timespec mono_after(double seconds) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  if (seconds < 0) seconds = 0;
  if (seconds > 86400) seconds = 86400;
  t.tv_sec += (time_t)seconds;
  t.tv_nsec += (long)((seconds - (double)(time_t)seconds) * 1e9);
  if (t.tv_nsec >= 1000000000L) {
    t.tv_sec++;
    t.tv_nsec -= 1000000000L;
  }
  return t;
}

static double wall_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* "2026-11-23T10:00:00.125Z": readable in sqlite3, and sorted as the time is. */
static void iso_time(double at, char *out, size_t n) {
  long long ms = at > 0 ? (long long)(at * 1000.0 + 0.5) : 0;
  time_t s = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&s, &tm);
  snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
           tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

int jc_inbox_valid_key(const char *key, size_t n) {
  if (n == 0 || n > JC_INBOX_KEY_MAX) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = key[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
      return 0;
  }
  return 1;
}

static int valid_key(const char *key) {
  return jc_inbox_valid_key(key, strlen(key));
}

/* The errno behind a failed SQLite call: the system's when it has one (ENOSPC, EFBIG, EIO). */
static int sql_errno(sqlite3 *db, int rc) {
  int e = db ? sqlite3_system_errno(db) : 0;
  if (e) return e;
  if ((rc & 0xff) == SQLITE_FULL) return ENOSPC;
  if ((rc & 0xff) == SQLITE_NOMEM) return ENOMEM;
  if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) return EBUSY;
  return EIO;
}

static int exec(sqlite3 *db, const char *sql) {
  return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static int step_done(sqlite3_stmt *st) {
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {}
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* A count from a row (edited by hand, it may be anything), plus more: 0 to INT_MAX. */
static int clamp_count(sqlite3_int64 n, int more) {
  if (n < 0) n = 0;
  return n >= (sqlite3_int64)INT_MAX - more ? INT_MAX : (int)n + more;
}

/* ---- the schedule of retries (memory: a restart makes every event due, as before) ---- */

static sched *sched_find(jc_inbox *b, const char *key) {
  for (size_t i = 0; i < b->nsched; i++)
    if (strcmp(b->sched[i].key, key) == 0) return &b->sched[i];
  return NULL;
}

static void sched_drop(jc_inbox *b, const char *key) {
  sched *s = sched_find(b, key);
  if (s) *s = b->sched[--b->nsched];
}

static int sched_set(jc_inbox *b, const char *key, double at) {
  sched *s = sched_find(b, key);
  if (s == NULL) {
    if (b->nsched == b->sched_cap) {
      size_t cap = b->sched_cap ? 2 * b->sched_cap : 16;
      sched *t = realloc(b->sched, cap * sizeof *t);
      if (t == NULL) return -1;
      b->sched = t;
      b->sched_cap = cap;
    }
    s = &b->sched[b->nsched++];
    snprintf(s->key, sizeof s->key, "%s", key);
  }
  s->next_at = at;
  return 0;
}

/* ---- the writer ---- */

/* The writer connection's statement for sql (a string literal: its address is its name),
   prepared once and kept. */
static int prep(jc_inbox *b, const char *sql, sqlite3_stmt **st) {
  size_t i;
  for (i = 0; i < b->nstmts; i++)
    if (b->stmts[i].sql == sql) {
      *st = b->stmts[i].st;
      return SQLITE_OK;
    }
  if (i == sizeof b->stmts / sizeof b->stmts[0]) return SQLITE_MISUSE; /* more statements than room: raise it */
  if (sqlite3_prepare_v3(b->w, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) return sqlite3_errcode(b->w);
  b->stmts[b->nstmts].sql = sql;
  b->stmts[b->nstmts++].st = *st;
  return SQLITE_OK;
}

static void unprep(sqlite3_stmt *st) {
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
}

/* The state of key's row (its first letter: s t h p d), 0 when there is none, -1 on error. */
static int state_of(jc_inbox *b, const char *key, int *tries) {
  sqlite3_stmt *st;
  int rc, s = 0;
  if (prep(b, "SELECT state, tries FROM events WHERE key = ?", &st) != SQLITE_OK) return -1;
  sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    const unsigned char *t = sqlite3_column_text(st, 0);
    s = t ? t[0] : '?';
    if (tries) *tries = sqlite3_column_int(st, 1);
  } else if (rc != SQLITE_DONE) {
    s = -1;
  }
  unprep(st);
  return s;
}

/* Runs one op inside the writer's transaction: SQLite's code; o->rc and o->was set. */
static int apply(jc_inbox *b, op *o) {
  sqlite3 *db = b->w;
  sqlite3_stmt *st = NULL;
  int rc;
  char when[96];
  o->was = 0;
  o->rc = 0;
  switch (o->type) {
    case OP_STORE: {
      size_t kind_len = 0;
      long long id = 0;
      int parts = jc_notice_key_parts(o->key, strlen(o->key), &kind_len, &id);
      iso_time(o->at, when, sizeof when);
      rc = prep(b, "INSERT OR IGNORE INTO events (key, kind, bill_id, state, received, received_at, body)"
                              " SELECT ?1, ?2, ?3, 'stored', ?4, ?5, ?6"
                              " WHERE NOT EXISTS (SELECT 1 FROM trimmed WHERE key = ?1)", &st);
      if (rc != SQLITE_OK) return rc;
      sqlite3_bind_text(st, 1, o->key, -1, SQLITE_STATIC);
      sqlite3_bind_text(st, 2, o->key, parts ? (int)kind_len : 0, SQLITE_STATIC);
      if (parts) sqlite3_bind_int64(st, 3, id);
      else sqlite3_bind_null(st, 3);
      sqlite3_bind_text(st, 4, when, -1, SQLITE_STATIC);
      sqlite3_bind_double(st, 5, o->at);
      sqlite3_bind_blob64(st, 6, o->body, o->len, SQLITE_STATIC);
      rc = step_done(st);
      unprep(st);
      if (rc != SQLITE_OK) return rc;
      if (sqlite3_changes(db) == 1) {
        o->rc = 1;
        return SQLITE_OK;
      }
      /* Known. Sent again while parked: pending again, as a replay. A forgery of a kind the API
         refused (a cancel_order made from the new order's body) takes the key the real one will
         come with, and is parked before it comes: the real one, taken for its resend, would
         else never be handled. */
      rc = prep(b, "UPDATE events SET state = 'stored', attempts = 0 WHERE key = ? AND state = 'parked'", &st);
      if (rc != SQLITE_OK) return rc;
      sqlite3_bind_text(st, 1, o->key, -1, SQLITE_STATIC);
      rc = step_done(st);
      unprep(st);
      if (rc == SQLITE_OK && sqlite3_changes(db) == 1) o->was = 'p';
      return rc;
    }
    case OP_BEGIN:
      rc = prep(b, "UPDATE events SET state = 'trying', tries = tries + 1 WHERE key = ?"
                              " AND state IN ('stored', 'trying') RETURNING tries", &st);
      if (rc != SQLITE_OK) return rc;
      sqlite3_bind_text(st, 1, o->key, -1, SQLITE_STATIC);
      if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        o->attempts = sqlite3_column_int(st, 0); /* the try's number */
        o->rc = 1;
        rc = step_done(st);
      } else if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
      }
      unprep(st);
      return rc;
    case OP_HANDLED:
    case OP_DUPLICATE: /* a duplicate is settled as a handled one is (counts, --trim); its last error says by what */
    case OP_FAILED:
      if (o->type != OP_FAILED) {
        iso_time(o->at, when, sizeof when);
        rc = prep(b, "UPDATE events SET state = ?, handled = ?, handled_at = ?, last_error = ?"
                                " WHERE key = ? AND state IN ('stored', 'trying')", &st);
        if (rc != SQLITE_OK) return rc;
        sqlite3_bind_text(st, 1, o->type == OP_HANDLED ? "handled" : "duplicate", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, when, -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 3, o->at);
        if (o->type == OP_DUPLICATE) sqlite3_bind_text(st, 4, o->why, -1, SQLITE_STATIC);
        else sqlite3_bind_null(st, 4);
        sqlite3_bind_text(st, 5, o->key, -1, SQLITE_STATIC);
      } else {
        rc = prep(b, "UPDATE events SET state = ?, attempts = ?, last_error = coalesce(?, last_error)"
                                " WHERE key = ? AND state IN ('stored', 'trying')", &st);
        if (rc != SQLITE_OK) return rc;
        sqlite3_bind_text(st, 1, o->park ? "parked" : "stored", -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, o->attempts);
        if (o->why) sqlite3_bind_text(st, 3, o->why, -1, SQLITE_STATIC);
        else sqlite3_bind_null(st, 3);
        sqlite3_bind_text(st, 4, o->key, -1, SQLITE_STATIC);
      }
      rc = step_done(st);
      unprep(st);
      if (rc == SQLITE_OK && sqlite3_changes(db) == 1) o->rc = 1;
      return rc;
    case OP_REPLAY: {
      int s = state_of(b, o->key, NULL);
      if (s < 0) return sqlite3_errcode(db);
      if (s == 's') o->rc = 1;
      /* 't': the process died in its last try. Replayed, it is pending again as the others
         are, and its handler runs now (else the replay only counted the crash). */
      if (s != 'h' && s != 'p' && s != 't' && s != 'd') return SQLITE_OK;
      rc = prep(b, "UPDATE events SET state = 'stored', attempts = 0 WHERE key = ?", &st);
      if (rc != SQLITE_OK) return rc;
      sqlite3_bind_text(st, 1, o->key, -1, SQLITE_STATIC);
      rc = step_done(st);
      unprep(st);
      if (rc == SQLITE_OK) {
        o->rc = 1;
        o->was = s;
      }
      return rc;
    }
  }
  return SQLITE_MISUSE;
}

/* Runs a group of ops (and the held outcome first) in one transaction. SQLITE_OK, or the code
   of what failed: then nothing of it was committed. */
static int run_group(jc_inbox *b, op *list, int held) {
  int rc, full = 0;
  for (op *o = list; o; o = o->next) full |= o->type == OP_STORE;
  /* Events are fsynced before their 200; marks are not (see inbox.h). */
  if (full != b->sync_full) {
    exec(b->w, full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
    b->sync_full = full;
  }
  errno = 0;
  rc = exec(b->w, "BEGIN IMMEDIATE");
  if (rc == SQLITE_OK && held) rc = apply(b, &b->held_op);
  for (op *o = list; rc == SQLITE_OK && o; o = o->next) rc = apply(b, o);
  if (rc == SQLITE_OK) rc = exec(b->w, "COMMIT");
  if (rc != SQLITE_OK) {
    /* SQLite keeps no errno for a short write (EFBIG past a file-size limit): the call's own
       errno, taken before ROLLBACK can change it, says why. */
    int saved = sqlite3_system_errno(b->w), now = errno;
    if (!saved && (rc & 0xff) == SQLITE_IOERR && now) saved = now;
    if (!saved) saved = sql_errno(b->w, rc);
    if (!sqlite3_get_autocommit(b->w)) exec(b->w, "ROLLBACK");
    /* No room at the log's end: a checkpoint lets the next commit start the log over, reusing
       what it holds. SQLite checkpoints only after a commit, and none passes here: a log that
       a reader's long transaction let grow until it filled the disk would, once the reader is
       gone, keep the receiver blocked for good. (Passive: it waits on no reader. Not for a
       file-size limit: the log's size is not what it limits.) */
    if ((rc & 0xff) == SQLITE_FULL || saved == ENOSPC || saved == EDQUOT)
      sqlite3_wal_checkpoint_v2(b->w, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    errno = saved;
  } else {
    errno = 0;
  }
  return rc;
}

/* After a group: the counts, for what it changed (under the mutex). */
static void count(jc_inbox *b, const op *o) {
  if (o->type == OP_STORE && o->rc == 1) {
    b->counts.stored++;
    b->counts.pending++;
  } else if ((o->type == OP_STORE || o->type == OP_REPLAY) && (o->was == 'p' || o->was == 'h' || o->was == 'd')) {
    if (o->was == 'p') b->counts.parked--;
    else b->counts.handled--; /* a duplicate counts as handled */
    b->counts.pending++;
  }
}

static double mono_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* After a group ran (rc): its ops done, the counts and the held outcome settled. Under the mutex. */
static void finish(jc_inbox *b, op *list, int rc, int err, int held, uint64_t gen) {
  int arrived = 0;
  if (held && rc == SQLITE_OK && b->held_gen == gen) b->held = 0;
  else if (held && rc != SQLITE_OK) b->held_due = mono_now() + 1.0; /* again in a second */
  for (op *o = list; o; o = o->next) {
    if (rc == SQLITE_OK) {
      count(b, o);
      arrived |= o->rc == 1 || o->was;
    } else {
      o->rc = -1;
      o->err = err;
    }
    o->done = 1;
  }
  pthread_cond_broadcast(&b->done);
  if (arrived) pthread_cond_broadcast(&b->arrived);
}

/* The writer: what is queued goes in two transactions, the marks first (with the held outcome;
   synchronous=NORMAL, no fsync: a try's begin never waits for the events' fsync that follows),
   then the events (synchronous=FULL: fsynced before their 200s). Each op's caller is woken when
   its transaction ends. */
static void *writer_main(void *arg) {
  jc_inbox *b = arg;
  pthread_mutex_lock(&b->mu);
  for (;;) {
    op *list, *marks = NULL, *stores = NULL, **mt = &marks, **st = &stores;
    int held, rc, err;
    uint64_t gen;
    if (b->head == NULL) {
      double wait;
      if (b->stop) break;
      if (!b->held) {
        pthread_cond_wait(&b->work, &b->mu);
        continue;
      }
      if ((wait = b->held_due - mono_now()) > 0) {
        struct timespec until = mono_after(wait);
        pthread_cond_timedwait(&b->work, &b->mu, &until);
        continue;
      }
    }
    list = b->head;
    b->head = b->tail = NULL;
    for (op *o = list, *next; o; o = next) { /* in order, each kind */
      next = o->next;
      o->next = NULL;
      if (o->type == OP_STORE) *st = o, st = &o->next;
      else *mt = o, mt = &o->next;
    }
    held = b->held;
    gen = b->held_gen;
    if (marks || held) {
      pthread_mutex_unlock(&b->mu);
      rc = run_group(b, marks, held);
      err = errno;
      pthread_mutex_lock(&b->mu);
      finish(b, marks, rc, err, held, gen);
    }
    if (stores) {
      pthread_mutex_unlock(&b->mu);
      rc = run_group(b, stores, 0);
      err = errno;
      pthread_mutex_lock(&b->mu);
      finish(b, stores, rc, err, 0, 0);
    }
  }
  pthread_mutex_unlock(&b->mu);
  return NULL;
}

/* Queues o and waits until the writer ran it (under the mutex). */
static void submit(jc_inbox *b, op *o) {
  o->done = 0;
  o->next = NULL;
  if (b->tail) b->tail->next = o;
  else b->head = o;
  b->tail = o;
  pthread_cond_signal(&b->work);
  while (!o->done) pthread_cond_wait(&b->done, &b->mu);
}

int jc_inbox_store(jc_inbox *b, const char *key, const char *body, size_t len, double at) {
  op o = {0};
  if (b->readonly || !valid_key(key)) {
    errno = b->readonly ? EBADF : EINVAL;
    return -1;
  }
  o.type = OP_STORE;
  o.key = key;
  o.body = body;
  o.len = len;
  o.at = at;
  pthread_mutex_lock(&b->mu);
  submit(b, &o);
  if (o.was == 'p') sched_drop(b, key);
  pthread_mutex_unlock(&b->mu);
  if (o.rc < 0) errno = o.err;
  return o.rc;
}

long long jc_inbox_store_many(jc_inbox *b, const jc_inbox_item *items, size_t n, double at) {
  op *ops;
  long long stored = 0;
  int failed = 0;
  if (b->readonly) {
    errno = EBADF;
    return -1;
  }
  for (size_t i = 0; i < n; i++)
    if (!valid_key(items[i].key)) {
      errno = EINVAL;
      return -1;
    }
  if (n == 0) return 0;
  if ((ops = calloc(n, sizeof *ops)) == NULL) return -1;
  for (size_t i = 0; i < n; i++) {
    ops[i].type = OP_STORE;
    ops[i].key = items[i].key;
    ops[i].body = items[i].body;
    ops[i].len = items[i].len;
    ops[i].at = at;
    ops[i].next = i + 1 < n ? &ops[i + 1] : NULL;
  }
  pthread_mutex_lock(&b->mu);
  /* All queued at once, under the mutex: the writer takes them in one grab, so in one group
     (one transaction, one fsync), as it would n HTTP threads' events. */
  if (b->tail) b->tail->next = ops;
  else b->head = ops;
  b->tail = &ops[n - 1];
  pthread_cond_signal(&b->work);
  for (size_t i = 0; i < n; i++) {
    while (!ops[i].done) pthread_cond_wait(&b->done, &b->mu);
    if (ops[i].rc < 0) {
      failed = ops[i].err;
      continue;
    }
    stored += ops[i].rc == 1;
    if (ops[i].was == 'p') sched_drop(b, ops[i].key);
  }
  pthread_mutex_unlock(&b->mu);
  free(ops);
  if (failed) {
    errno = failed;
    return -1;
  }
  return stored;
}

/* ---- handling ---- */

int jc_inbox_next(jc_inbox *b, double now, jc_inbox_event *ev, double *wait) {
  sqlite3_stmt *st;
  double soonest = -1;
  int rc, found = 0, attempts = 0; /* found 2: the held outcome's event */
  *wait = -1;
  if (b->readonly) {
    errno = EBADF;
    return -1;
  }
  if (sqlite3_prepare_v2(b->r,
                         "SELECT key, state, attempts, received_at, body FROM events"
                         " WHERE state IN ('stored', 'trying') AND typeof(key) = 'text' ORDER BY seq",
                         -1, &st, NULL) != SQLITE_OK) {
    errno = sql_errno(b->r, sqlite3_errcode(b->r));
    return -1;
  }
  pthread_mutex_lock(&b->mu);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *key = (const char *)sqlite3_column_text(st, 0);
    const sched *s;
    /* Only a key the receiver makes: begin's and the marks' UPDATEs find its row by it. One
       edited by hand into another (a NUL inside) would be handled without its try recorded,
       and again at each next, its handler running on and on. */
    if (key == NULL || (size_t)sqlite3_column_bytes(st, 0) != strlen(key) || !valid_key(key)) continue;
    /* Its row is behind its held outcome: handled or parked, it is done; failed, it is as the
       outcome says, once due. */
    if (b->held && strcmp(key, b->held_key) == 0) {
      if (b->held_op.type == OP_HANDLED || b->held_op.park) continue;
      found = 2;
    }
    if ((s = sched_find(b, key)) != NULL && s->next_at > now) {
      if (soonest < 0 || s->next_at - now < soonest) soonest = s->next_at - now;
      found = 0;
      continue;
    }
    if (found == 0) found = 1;
    break;
  }
  if (found == 2) attempts = b->held_op.attempts;
  pthread_mutex_unlock(&b->mu);
  if (found) {
    const void *body = sqlite3_column_blob(st, 4);
    size_t len = (size_t)sqlite3_column_bytes(st, 4);
    const unsigned char *state = sqlite3_column_text(st, 1);
    snprintf(ev->key, sizeof ev->key, "%s", (const char *)sqlite3_column_text(st, 0));
    ev->attempts = found == 2 ? attempts : clamp_count(sqlite3_column_int64(st, 2), 0);
    ev->crashed = found == 1 && state && state[0] == 't';
    ev->at = sqlite3_column_double(st, 3);
    ev->len = len;
    if ((ev->body = malloc(len + 1)) == NULL) {
      sqlite3_finalize(st);
      errno = ENOMEM;
      return -1;
    }
    if (len) memcpy(ev->body, body, len);
    ev->body[len] = '\0';
    sqlite3_finalize(st);
    return 1;
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) {
    errno = sql_errno(b->r, rc);
    return -1;
  }
  *wait = soonest;
  return 0;
}

void jc_inbox_wait(jc_inbox *b, double seconds) {
  struct timespec until = mono_after(seconds);
  pthread_mutex_lock(&b->mu);
  pthread_cond_timedwait(&b->arrived, &b->mu, &until);
  pthread_mutex_unlock(&b->mu);
}

int jc_inbox_begin(jc_inbox *b, const char *key) {
  op o = {0};
  if (b->readonly) {
    errno = EBADF;
    return -1;
  }
  if (!valid_key(key)) return 1; /* no row to handle has it (next gives none); nor would the page hold it */
  o.type = OP_BEGIN;
  o.key = key;
  pthread_mutex_lock(&b->mu);
  /* The held outcome goes first, in the same transaction: a try whose page would overwrite it
     cannot begin before it is in its row. */
  submit(b, &o);
  if (o.rc < 0 || b->held) {
    b->blocked = o.rc < 0 ? o.err : ENOSPC;
    pthread_mutex_unlock(&b->mu);
    errno = b->blocked;
    return -1;
  }
  b->blocked = 0;
  if (o.rc != 1) { /* no row to handle took it (changed by hand since next gave it): no try */
    pthread_mutex_unlock(&b->mu);
    return 1;
  }
  /* its row says 'trying' at try n: now the page, outcome first */
  __atomic_store_n(&b->page->outcome, OUT_NONE, __ATOMIC_RELEASE);
  memset(b->page->key, 0, sizeof b->page->key);
  memcpy(b->page->key, key, strlen(key));
  b->page->try_n = o.attempts;
  pthread_mutex_unlock(&b->mu);
  return 0;
}

int jc_inbox_blocked(jc_inbox *b) {
  int err;
  pthread_mutex_lock(&b->mu);
  err = b->blocked;
  pthread_mutex_unlock(&b->mu);
  return err;
}

/* An outcome: into the page (a memory store: no disk can refuse it) when it is this key's try,
   then into its row; held when the row cannot take it. Under the mutex. 0, or -1. */
static int outcome(jc_inbox *b, op *o, int code) {
  int in_page = strncmp(b->page->key, o->key, sizeof b->page->key) == 0 &&
                __atomic_load_n(&b->page->outcome, __ATOMIC_ACQUIRE) == OUT_NONE;
  if (!in_page) { /* no try began (a refusal): into its row, or not at all */
    submit(b, o);
    if (o->rc < 0) errno = o->err;
    return o->rc;
  }
  /* Its try's page holds it from now on, kill -9 or not: the row can follow. The caller does
     not wait for it (the writer runs it before the next try's begin, which waits). */
  b->page->attempts = o->attempts;
  __atomic_store_n(&b->page->outcome, code, __ATOMIC_RELEASE);
  b->held = 1;
  b->held_gen++;
  b->held_due = 0;
  b->held_op = *o;
  snprintf(b->held_key, sizeof b->held_key, "%s", o->key);
  b->held_op.key = b->held_key;
  snprintf(b->held_why, sizeof b->held_why, "%s", o->why ? o->why : "");
  b->held_op.why = o->why ? b->held_why : NULL;
  b->held_op.next = NULL;
  pthread_cond_signal(&b->work);
  return 1;
}

int jc_inbox_handled(jc_inbox *b, const char *key) {
  op o = {0};
  int rc;
  if (b->readonly) {
    errno = EBADF;
    return -1;
  }
  o.type = OP_HANDLED;
  o.key = key;
  o.at = wall_now();
  pthread_mutex_lock(&b->mu);
  rc = outcome(b, &o, OUT_HANDLED);
  if (rc == 1) {
    b->counts.pending--;
    b->counts.handled++;
    sched_drop(b, key);
  }
  pthread_mutex_unlock(&b->mu);
  return rc < 0 ? -1 : 0;
}

int jc_inbox_failed(jc_inbox *b, const char *key, double now, double retry_after, int max_attempts,
                    const char *why) {
  op o = {0};
  int rc, attempts = 0;
  if (b->readonly) {
    errno = EBADF;
    return -1;
  }
  /* Its failures so far: the handling thread is the only one that changes them. */
  {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(b->r, "SELECT attempts FROM events WHERE key = ? AND state IN ('stored', 'trying')", -1, &st,
                           NULL) != SQLITE_OK) {
      errno = sql_errno(b->r, sqlite3_errcode(b->r));
      return -1;
    }
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) attempts = clamp_count(sqlite3_column_int64(st, 0), 1);
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE) return 0;
    if (rc != SQLITE_ROW) {
      errno = sql_errno(b->r, rc);
      return -1;
    }
  }
  o.type = OP_FAILED;
  o.key = key;
  o.attempts = attempts;
  o.park = attempts >= max_attempts;
  o.why = why;
  pthread_mutex_lock(&b->mu);
  if (b->held && strcmp(b->held_key, key) == 0) { /* its failure is held already: put off all the same */
    int park = b->held_op.park;
    if (!park) sched_set(b, key, now + retry_after);
    pthread_mutex_unlock(&b->mu);
    return park;
  }
  rc = outcome(b, &o, o.park ? OUT_PARKED : OUT_FAILED);
  if (rc < 0 && !o.park) { /* no try of it began: put off all the same, in memory */
    int saved = errno;
    sched_set(b, key, now + retry_after);
    errno = saved;
  }
  if (rc == 1) {
    if (o.park) {
      b->counts.pending--;
      b->counts.parked++;
      sched_drop(b, key);
    } else if (sched_set(b, key, now + retry_after) != 0) {
      rc = -1;
      errno = ENOMEM;
    }
  }
  pthread_mutex_unlock(&b->mu);
  return rc < 0 ? -1 : o.park;
}

int jc_inbox_duplicate(jc_inbox *b, const char *key, const char *of_key) {
  op o = {0};
  char why[JC_INBOX_KEY_MAX + 64];
  if (b->readonly) {
    errno = EBADF;
    return -1;
  }
  if (!valid_key(key)) return 1; /* no row to handle has it, as begin says */
  snprintf(why, sizeof why, "its payment was handled as %.*s", JC_INBOX_KEY_MAX, of_key);
  o.type = OP_DUPLICATE;
  o.key = key;
  o.why = why;
  o.at = wall_now();
  pthread_mutex_lock(&b->mu);
  submit(b, &o);
  if (o.rc == 1) {
    b->counts.pending--;
    b->counts.handled++;
    sched_drop(b, key);
  }
  pthread_mutex_unlock(&b->mu);
  if (o.rc < 0) {
    errno = o.err;
    return -1;
  }
  return o.rc == 1 ? 0 : 1;
}

int jc_inbox_replay(jc_inbox *b, const char *key) {
  op o = {0};
  if (b->readonly) {
    errno = EBADF;
    return -1;
  }
  o.type = OP_REPLAY;
  o.key = key;
  pthread_mutex_lock(&b->mu);
  submit(b, &o);
  if (o.rc == 1) sched_drop(b, key);
  pthread_mutex_unlock(&b->mu);
  if (o.rc < 0) errno = o.err;
  return o.rc;
}

/* Waits until the held outcome, when one is on its way, is in its row (or failed to go): a
   reader of the table then sees what this inbox was told. */
static void settle(jc_inbox *b) {
  if (b->readonly) return;
  pthread_mutex_lock(&b->mu);
  while (b->held && b->held_due == 0) pthread_cond_wait(&b->done, &b->mu);
  pthread_mutex_unlock(&b->mu);
}

void jc_inbox_parked(jc_inbox *b, void (*fn)(void *ctx, const char *key, int attempts), void *ctx) {
  sqlite3_stmt *st;
  settle(b);
  if (sqlite3_prepare_v2(b->r, "SELECT key, attempts FROM events WHERE state = 'parked' ORDER BY seq", -1, &st, NULL) !=
      SQLITE_OK)
    return;
  while (sqlite3_step(st) == SQLITE_ROW) {
    const char *key = (const char *)sqlite3_column_text(st, 0);
    /* only a key the receiver makes, as next takes (one edited by hand may be any length) */
    if (key == NULL || (size_t)sqlite3_column_bytes(st, 0) != strlen(key) || !valid_key(key)) continue;
    fn(ctx, key, clamp_count(sqlite3_column_int64(st, 1), 0));
  }
  sqlite3_finalize(st);
}

/* The counts from the table (at open, and for a reader, whose receiver may be writing). */
static int recount(sqlite3 *db, jc_inbox_counts *c) {
  sqlite3_stmt *st;
  int rc;
  memset(c, 0, sizeof *c);
  if ((rc = sqlite3_prepare_v2(db, "SELECT state, count(*) FROM events GROUP BY state", -1, &st, NULL)) != SQLITE_OK)
    return rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const unsigned char *s = sqlite3_column_text(st, 0);
    size_t n = (size_t)sqlite3_column_int64(st, 1);
    c->stored += n;
    if (s && (s[0] == 'h' || s[0] == 'd')) c->handled += n; /* a duplicate was settled, as handled */
    else if (s && s[0] == 'p') c->parked += n;
    else c->pending += n;
  }
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

jc_inbox_counts jc_inbox_count(jc_inbox *b) {
  jc_inbox_counts c;
  if (b->readonly) {
    recount(b->r, &c);
    return c;
  }
  pthread_mutex_lock(&b->mu);
  c = b->counts;
  pthread_mutex_unlock(&b->mu);
  return c;
}

int jc_inbox_list(jc_inbox *b, const char *state, int (*fn)(void *ctx, const jc_inbox_row *r), void *ctx, char *err,
                  size_t errlen) {
  sqlite3_stmt *st;
  int rc;
  settle(b);
  if (sqlite3_prepare_v2(b->r,
                         /* coalesced: a row edited by hand (a table without its NOT NULLs) is listed too */
                         "SELECT coalesce(key, ''), coalesce(kind, ''), coalesce(bill_id, ''), coalesce(state, ''),"
                         " coalesce(received, ''), tries, attempts, last_error"
                         " FROM events WHERE ?1 IS NULL OR state = ?1 ORDER BY seq",
                         -1, &st, NULL) != SQLITE_OK) {
    snprintf(err, errlen, "cannot read the inbox: %s", sqlite3_errmsg(b->r));
    errno = sql_errno(b->r, sqlite3_errcode(b->r));
    return -1;
  }
  if (state) sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    jc_inbox_row r;
    r.key = (const char *)sqlite3_column_text(st, 0);
    r.kind = (const char *)sqlite3_column_text(st, 1);
    r.bill_id = (const char *)sqlite3_column_text(st, 2);
    r.state = (const char *)sqlite3_column_text(st, 3);
    r.received = (const char *)sqlite3_column_text(st, 4);
    r.tries = sqlite3_column_int64(st, 5);
    r.attempts = sqlite3_column_int64(st, 6);
    r.last_error = (const char *)sqlite3_column_text(st, 7);
    if (fn(ctx, &r) != 0) {
      rc = SQLITE_DONE;
      break;
    }
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) {
    snprintf(err, errlen, "cannot read the inbox: %s", sqlite3_errmsg(b->r));
    errno = sql_errno(b->r, rc);
    return -1;
  }
  return 0;
}

int jc_inbox_payment(jc_inbox *b, long long bill_id, int (*fn)(void *ctx, const char *key, const char *state),
                     void *ctx, char *err, size_t errlen) {
  /* One statement, so one read transaction (each costs a look at the WAL's index, which a flood
     makes large): the events (kind = 'paid' as the index says it, for SQLite to take it), in seq
     order, then the trimmed keys, a range of their primary key. */
  static const char sql[] =
    "SELECT * FROM (SELECT coalesce(key, ''), coalesce(state, ''), 0, seq FROM events"
    " WHERE kind = 'paid' AND bill_id = ?1"
    " UNION ALL SELECT key, 'trimmed', 1, 0 FROM trimmed WHERE key >= ?2 AND key < ?3) ORDER BY 3, 4";
  char from[48], to[48], held_key[JC_INBOX_KEY_MAX + 1] = "";
  const char *held_state = NULL;
  int rc;
  /* A try's outcome that its row has not taken yet (the handling thread's last, written behind
     it): its row reads as that outcome, without waiting for the write (a group's fsync). Only
     this thread makes outcomes, so none is made meanwhile; one written meanwhile is in the row. */
  if (!b->readonly) {
    pthread_mutex_lock(&b->mu);
    if (b->held) {
      snprintf(held_key, sizeof held_key, "%s", b->held_key);
      held_state = b->held_op.type == OP_HANDLED ? "handled" : b->held_op.park ? "parked" : "stored";
    }
    pthread_mutex_unlock(&b->mu);
  }
  snprintf(from, sizeof from, "paid-%lld-", bill_id);
  snprintf(to, sizeof to, "paid-%lld.", bill_id); /* '.' follows '-' */
  if (b->payment_st == NULL &&
      sqlite3_prepare_v3(b->r, sql, -1, SQLITE_PREPARE_PERSISTENT, &b->payment_st, NULL) != SQLITE_OK) {
    rc = sqlite3_errcode(b->r);
  } else {
    sqlite3_stmt *st = b->payment_st;
    sqlite3_bind_int64(st, 1, bill_id);
    sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, to, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      const char *key = (const char *)sqlite3_column_text(st, 0), *state = (const char *)sqlite3_column_text(st, 1);
      if (held_state && key && strcmp(key, held_key) == 0) state = held_state;
      if (key && state && fn(ctx, key, state) != 0) {
        rc = SQLITE_DONE; /* stopped: no more rows */
        break;
      }
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
  }
  if (rc != SQLITE_DONE) {
    snprintf(err, errlen, "cannot read the inbox: %s", sqlite3_errmsg(b->r));
    errno = sql_errno(b->r, rc);
    return -1;
  }
  return 0;
}

long long jc_inbox_trim(jc_inbox *b, double days, char *err, size_t errlen) {
  sqlite3_stmt *st;
  int rc;
  sqlite3 *db = b->readonly ? b->r : b->w;
  if (!b->readonly) {
    snprintf(err, errlen, "trim an inbox through a reader's handle");
    return -1;
  }
  /* The keys stay (trimmed), so that the event is still known when it is sent again: a
     handler that returned true never runs again, however old its event. A duplicate's too: its
     payment's handler ran. */
  static const char *const steps[] = {
    "INSERT OR IGNORE INTO trimmed (key, handled) SELECT key, handled FROM events"
    " WHERE state IN ('handled', 'duplicate') AND handled_at < ?",
    "DELETE FROM events WHERE state IN ('handled', 'duplicate') AND handled_at < ?",
  };
  double before = wall_now() - days * 86400.0;
  long long deleted = 0;
  rc = exec(db, "BEGIN IMMEDIATE");
  for (size_t i = 0; rc == SQLITE_OK && i < sizeof steps / sizeof steps[0]; i++) {
    if ((rc = sqlite3_prepare_v2(db, steps[i], -1, &st, NULL)) != SQLITE_OK) break;
    sqlite3_bind_double(st, 1, before);
    rc = step_done(st);
    sqlite3_finalize(st);
    deleted = sqlite3_changes64(db);
  }
  if (rc == SQLITE_OK) rc = exec(db, "COMMIT");
  if (rc != SQLITE_OK) {
    snprintf(err, errlen, "cannot trim the inbox: %s", sqlite3_errmsg(db));
    errno = sql_errno(db, rc);
    if (!sqlite3_get_autocommit(db)) exec(db, "ROLLBACK");
    return -1;
  }
  return deleted;
}

/* ---- opening ---- */

static int open_db(const char *path, int flags, sqlite3 **db, char *err, size_t errlen) {
  int rc = sqlite3_open_v2(path, db, flags, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_busy_timeout(*db, 10000);
  if (rc == SQLITE_OK) sqlite3_extended_result_codes(*db, 1);
  if (rc != SQLITE_OK) {
    snprintf(err, errlen, "%s: %s", path, *db ? sqlite3_errmsg(*db) : "cannot open it");
    sqlite3_close(*db);
    *db = NULL;
    return -1;
  }
  return 0;
}

/* Whether db is an inbox, or empty (a new one): 0, or -1 and err. Another program's database
   is not written (no table added, its journal mode kept); a table `events` of another shape
   (one whose key is not unique would store a notification sent again as a second event, and
   run its handler again) is not taken. */
static int check_schema(sqlite3 *db, const char *path, char *err, size_t errlen) {
  static const char *const columns[] = {"seq",   "key",   "kind",       "bill_id", "state",   "received",  "received_at",
                                        "tries", "attempts", "last_error", "handled", "handled_at", "body"};
  sqlite3_stmt *st;
  int rc, tables = 0, events = 0, have = 0, unique_key = 0;
  if ((rc = sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table'", -1, &st, NULL)) != SQLITE_OK)
    goto unreadable;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *name = (const char *)sqlite3_column_text(st, 0);
    tables++;
    if (name && strcmp(name, "events") == 0) events = 1;
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) goto unreadable;
  if (tables == 0) return 0;
  if (events) {
    if ((rc = sqlite3_prepare_v2(db, "SELECT name FROM pragma_table_info('events')", -1, &st, NULL)) != SQLITE_OK)
      goto unreadable;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      const char *name = (const char *)sqlite3_column_text(st, 0);
      for (size_t i = 0; name && i < sizeof columns / sizeof columns[0]; i++) have += strcmp(name, columns[i]) == 0;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) goto unreadable;
    /* a unique index of the one column key */
    rc = sqlite3_prepare_v2(db,
                            "SELECT 1 FROM pragma_index_list('events') AS l WHERE l.\"unique\""
                            " AND (SELECT count(*) FROM pragma_index_info(l.name)) = 1"
                            " AND (SELECT name FROM pragma_index_info(l.name)) = 'key'",
                            -1, &st, NULL);
    if (rc != SQLITE_OK) goto unreadable;
    if ((rc = sqlite3_step(st)) == SQLITE_ROW) unique_key = 1;
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) goto unreadable;
  }
  if (events && have == (int)(sizeof columns / sizeof columns[0]) && unique_key) return 0;
  snprintf(err, errlen, "%s is a SQLite database but not a justclick inbox (%s): name another --inbox", path,
           !events ? "it has no table events" : unique_key ? "its table events has other columns"
                                                         : "its table events has no unique key");
  return -1;
unreadable:
  snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
  return -1;
}

/* Whether the file at path is one of the first format (not SQLite's, and not empty): 1, 0, or
   -1 (errno) when it cannot be read. */
static int first_format(const char *path) {
  char head[16];
  ssize_t n;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? 0 : -1;
  n = read(fd, head, sizeof head);
  close(fd);
  if (n < 0) return -1;
  if (n == 0) return 0;
  return n < 16 || memcmp(head, "SQLite format 3", 16) != 0;
}

/* ---- converting a file of the first format ---- */

typedef struct {
  sqlite3 *db;
  sqlite3_stmt *insert;
} conversion;

static int convert_record(void *ctx, const jc_inbox_v1_record *r) {
  conversion *c = ctx;
  sqlite3 *db = c->db;
  sqlite3_stmt *st;
  const char *sql = NULL;
  int rc;
  if (r->type == 'E') {
    size_t kind_len = 0;
    long long id = 0;
    int parts = jc_notice_key_parts(r->key, strlen(r->key), &kind_len, &id);
    char when[96];
    iso_time(r->at, when, sizeof when);
    st = c->insert;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, r->key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, r->key, parts ? (int)kind_len : 0, SQLITE_TRANSIENT);
    if (parts) sqlite3_bind_int64(st, 3, id);
    else sqlite3_bind_null(st, 3);
    sqlite3_bind_text(st, 4, when, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(st, 5, r->at);
    sqlite3_bind_blob64(st, 6, r->body, r->len, SQLITE_TRANSIENT);
    return sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
  }
  /* The first format's rules (its replay_record): a handled event takes nothing more. Handled
     from the first format: its time is unknown, its received time stands for it (for --trim). */
  switch (r->type) {
    case 'H':
      sql = "UPDATE events SET state = 'handled', handled = received, handled_at = received_at"
            " WHERE key = ?1 AND state IN ('stored', 'trying')";
      break;
    case 'T': sql = "UPDATE events SET state = 'trying', tries = ?2 WHERE key = ?1 AND state IN ('stored', 'trying')"; break;
    case 'F':
      sql = "UPDATE events SET attempts = ?2, state = CASE state WHEN 'trying' THEN 'stored' ELSE state END"
            " WHERE key = ?1 AND state != 'handled'";
      break;
    case 'P': sql = "UPDATE events SET state = 'parked' WHERE key = ?1 AND state IN ('stored', 'trying')"; break;
    case 'R': sql = "UPDATE events SET state = 'stored', attempts = 0 WHERE key = ?1 AND state = 'parked'"; break;
    default: return -1;
  }
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return -1;
  sqlite3_bind_text(st, 1, r->key, -1, SQLITE_STATIC);
  if (sqlite3_bind_parameter_count(st) >= 2) sqlite3_bind_int(st, 2, r->n);
  rc = step_done(st);
  sqlite3_finalize(st);
  return rc == SQLITE_OK ? 0 : -1;
}

static int fsync_path(const char *path, int flags) {
  int fd = open(path, flags | O_CLOEXEC), rc;
  if (fd < 0) return -1;
  rc = fsync(fd);
  close(fd);
  return rc;
}

/* Converts the first format's file at path: the new database is written beside it, fsynced,
   the old file linked to PATH.v1, and the new one renamed over path. A crash leaves the old file
   at path (converted again at the next open) or the whole new one. 0, or -1 and err. */
static int convert(const char *path, char *err, size_t errlen) {
  size_t n = strlen(path);
  char *tmp = malloc(n + 16), *old = malloc(n + 8), *dir = malloc(n + 2), *slash;
  conversion c = {0};
  int rc = -1, lock = -1;
  if (tmp == NULL || old == NULL || dir == NULL) {
    snprintf(err, errlen, "not enough memory");
    goto out;
  }
  snprintf(tmp, n + 16, "%s.converting", path);
  snprintf(old, n + 8, "%s.v1", path);
  memcpy(dir, path, n + 1);
  slash = strrchr(dir, '/');
  if (slash == NULL) snprintf(dir, n + 2, ".");
  else if (slash == dir) dir[1] = '\0';
  else *slash = '\0';
  /* The first format's own lock: a receiver of 0.3 still writing it is not converted under. */
  if ((lock = open(path, O_RDONLY | O_CLOEXEC)) < 0 || flock(lock, LOCK_EX | LOCK_NB) != 0) {
    snprintf(err, errlen, errno == EWOULDBLOCK ? "%s is in use by another justclick serve or catch-up" : "%s: %s", path,
             strerror(errno));
    goto out;
  }
  unlink(tmp); /* what a crash left of an earlier conversion */
  if (open_db(tmp, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &c.db, err, errlen) != 0) goto out;
  chmod(tmp, 0600);
  if (exec(c.db, SCHEMA) != SQLITE_OK || exec(c.db, "BEGIN") != SQLITE_OK ||
      sqlite3_prepare_v2(c.db,
                         "INSERT OR IGNORE INTO events (key, kind, bill_id, state, received, received_at, body)"
                         " VALUES (?, ?, ?, 'stored', ?, ?, ?)",
                         -1, &c.insert, NULL) != SQLITE_OK) {
    snprintf(err, errlen, "%s: cannot convert it: %s", path, sqlite3_errmsg(c.db));
    goto out;
  }
  if (jc_inbox_v1_read(path, convert_record, &c, err, errlen) != 0) goto out;
  sqlite3_finalize(c.insert);
  c.insert = NULL;
  if (exec(c.db, "COMMIT") != SQLITE_OK || exec(c.db, "PRAGMA journal_mode = WAL") != SQLITE_OK) {
    snprintf(err, errlen, "%s: cannot convert it: %s", path, sqlite3_errmsg(c.db));
    goto out;
  }
  sqlite3_close(c.db);
  c.db = NULL;
  unlink(old);
  if (fsync_path(tmp, O_RDONLY) != 0 || link(path, old) != 0 || rename(tmp, path) != 0 ||
      fsync_path(dir, O_RDONLY | O_DIRECTORY) != 0) {
    snprintf(err, errlen, "%s: cannot convert it: %s", path, strerror(errno));
    goto out;
  }
  rc = 0;
out:
  if (c.insert) sqlite3_finalize(c.insert);
  if (c.db) sqlite3_close(c.db);
  if (rc != 0 && tmp) unlink(tmp);
  if (lock >= 0) close(lock);
  free(tmp);
  free(old);
  free(dir);
  return rc;
}

/* The page of the try in progress, made with real blocks (so that a full disk later cannot
   refuse a store into it), mapped, and locked: -1 and err when it cannot be, or is locked. */
static int open_page(jc_inbox *b, const char *path, char *err, size_t errlen) {
  size_t n = strlen(path);
  char *p = malloc(n + 8);
  struct stat st;
  void *m;
  if (p == NULL) {
    snprintf(err, errlen, "not enough memory");
    return -1;
  }
  snprintf(p, n + 8, "%s-try", path);
  b->lockfd = jc_open_durably(p, strlen(p), O_RDWR);
  if (b->lockfd < 0) { /* a missing directory is the inbox's: named so */
    snprintf(err, errlen, "%s: %s", errno == ENOENT ? path : p, strerror(errno));
    goto fail;
  }
  if (flock(b->lockfd, LOCK_EX | LOCK_NB) != 0) {
    snprintf(err, errlen, errno == EWOULDBLOCK ? "%s is in use by another justclick serve or catch-up" : "%s: %s", path,
             strerror(errno));
    goto fail;
  }
  if (fstat(b->lockfd, &st) != 0) goto fail_errno;
  {
    /* What is there is kept: a page cut after its outcome still has it. A page that is empty,
       or no more than the start of its making (magic, then zeros), is made again; one of
       another magic, or cut before its outcome, may have held a handler's outcome that is lost
       now: refused (its try would count as a crash, and a handler that returned true would run
       again). */
    char zeros[PAGE], have[sizeof(try_page)];
    size_t got = st.st_size < (off_t)sizeof have ? (size_t)st.st_size : sizeof have, i, blank, zero = 1;
    memset(have, 0, sizeof have);
    if (got > 0 && pread(b->lockfd, have, got, 0) != (ssize_t)got) goto fail_errno;
    for (i = 0; i < got; i++) zero &= have[i] == 0;
    for (i = 0; i < got && i < sizeof(TRY_MAGIC) && have[i] == TRY_MAGIC[i]; i++) {}
    for (blank = zero || i == got || i == sizeof(TRY_MAGIC); i < got && blank; i++) blank = have[i] == 0;
    memset(zeros, 0, sizeof zeros);
    if (blank && (st.st_size < PAGE || memcmp(have, TRY_MAGIC, sizeof(TRY_MAGIC)) != 0)) {
      try_page head;
      memset(&head, 0, sizeof head);
      memcpy(head.magic, TRY_MAGIC, sizeof head.magic);
      memcpy(zeros, &head, sizeof head);
      if (pwrite(b->lockfd, zeros, PAGE, 0) != PAGE || fsync(b->lockfd) != 0) goto fail_errno;
    } else if (memcmp(have, TRY_MAGIC, sizeof(TRY_MAGIC)) != 0) {
      snprintf(err, errlen, "%s is not the page of a justclick inbox's try in progress: mend or remove it by hand", p);
      goto fail;
    } else if (got < sizeof have) {
      snprintf(err, errlen, "%s is cut short (%lld bytes, not %d): the outcome of the try it held is lost; remove it by hand",
               p, (long long)st.st_size, PAGE);
      goto fail;
    } else if (st.st_size < PAGE) {
      size_t rest = PAGE - (size_t)st.st_size;
      if (pwrite(b->lockfd, zeros, rest, st.st_size) != (ssize_t)rest || fsync(b->lockfd) != 0) goto fail_errno;
    }
  }
  m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, b->lockfd, 0);
  if (m == MAP_FAILED) goto fail_errno;
  b->page = m;
  free(p);
  return 0;
fail_errno:
  snprintf(err, errlen, "%s: %s", p, strerror(errno));
fail:
  free(p);
  return -1;
}

/* At open: the page's outcome, for its row when that is still 'trying' at that try. */
static int apply_page(jc_inbox *b) {
  try_page *pg = b->page;
  int32_t code = __atomic_load_n(&pg->outcome, __ATOMIC_ACQUIRE);
  char key[JC_INBOX_KEY_MAX + 1];
  int tries = 0, s;
  op o = {0};
  if (code == OUT_NONE) return SQLITE_OK;
  memcpy(key, pg->key, JC_INBOX_KEY_MAX);
  key[JC_INBOX_KEY_MAX] = '\0';
  if (!valid_key(key)) return SQLITE_OK;
  s = state_of(b, key, &tries);
  if (s < 0) return sqlite3_errcode(b->w);
  if (s != 't' || tries != pg->try_n) return SQLITE_OK;
  o.type = code == OUT_HANDLED ? OP_HANDLED : OP_FAILED;
  o.key = key;
  o.at = wall_now();
  o.attempts = pg->attempts;
  o.park = code == OUT_PARKED;
  if (run_group(b, &o, 0) != SQLITE_OK) {
    /* A disk still full: held, as when it was made (written each second, no try before it). */
    b->held = 1;
    b->held_due = mono_now() + 1.0;
    b->held_op = o;
    memcpy(b->held_key, key, sizeof b->held_key);
    b->held_op.key = b->held_key;
  }
  return SQLITE_OK;
}

static jc_inbox *open_at(const char *path, int flags, char *err, size_t errlen) {
  jc_inbox *b = calloc(1, sizeof *b);
  pthread_condattr_t mono_attr;
  int first;
  if (b == NULL) {
    snprintf(err, errlen, "not enough memory");
    return NULL;
  }
  b->lockfd = -1;
  b->dbfd = -1;
  b->readonly = (flags & JC_INBOX_READONLY) != 0;
  pthread_mutex_init(&b->mu, NULL);
  pthread_condattr_init(&mono_attr);
  pthread_condattr_setclock(&mono_attr, CLOCK_MONOTONIC);
  pthread_cond_init(&b->work, &mono_attr);
  pthread_cond_init(&b->arrived, &mono_attr);
  pthread_condattr_destroy(&mono_attr);
  pthread_cond_init(&b->done, NULL);
  first = first_format(path);
  if (b->readonly) {
    if (access(path, F_OK) != 0) {
      if (errno == ENOENT) snprintf(err, errlen, "no inbox at %s", path);
      else snprintf(err, errlen, "%s: %s", path, strerror(errno));
      goto fail;
    }
    if (first != 0) {
      snprintf(err, errlen, first > 0 ? "%s is an inbox of the first format: justclick serve converts it when it opens it"
                                      : "%s: %s", path, strerror(errno));
      goto fail;
    }
    /* Read-write without creating: a reader of a WAL database needs its -shm; it takes no lock. */
    if (open_db(path, SQLITE_OPEN_READWRITE, &b->r, err, errlen) != 0 || check_schema(b->r, path, err, errlen) != 0)
      goto fail;
    if (recount(b->r, &b->counts) != SQLITE_OK) {
      snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(b->r));
      goto fail;
    }
    return b;
  }
  if (first < 0) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    goto fail;
  }
  if (open_page(b, path, err, errlen) != 0) goto fail;
  if (first && convert(path, err, errlen) != 0) goto fail;
  /* Made here, mode 0600 and its directory fsynced, before SQLite opens it; and locked, as its
     page is: a second receiver reaching the same database by another name (a symlink, a hard
     link) has another page, but not another database file. Kept open until SQLite has closed
     it: closing any descriptor of the file drops the process's POSIX locks on it, SQLite's. */
  b->dbfd = jc_open_durably(path, strlen(path), O_RDWR);
  if (b->dbfd < 0) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    goto fail;
  }
  if (flock(b->dbfd, LOCK_EX | LOCK_NB) != 0) {
    snprintf(err, errlen, errno == EWOULDBLOCK ? "%s is in use by another justclick serve or catch-up" : "%s: %s", path,
             strerror(errno));
    goto fail;
  }
  if (open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &b->w, err, errlen) != 0) goto fail;
  if (check_schema(b->w, path, err, errlen) != 0) goto fail;
  b->sync_full = 1; /* what the next line sets; run_group changes both together */
  if (exec(b->w, "PRAGMA journal_mode = WAL") != SQLITE_OK || exec(b->w, "PRAGMA synchronous = FULL") != SQLITE_OK ||
      exec(b->w, SCHEMA) != SQLITE_OK || apply_page(b) != SQLITE_OK || recount(b->w, &b->counts) != SQLITE_OK) {
    snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(b->w));
    goto fail;
  }
  if (b->held && (b->held_op.type == OP_HANDLED || b->held_op.park)) { /* counted as what it is */
    b->counts.pending--;
    if (b->held_op.type == OP_HANDLED) b->counts.handled++;
    else b->counts.parked++;
  }
  if (open_db(path, SQLITE_OPEN_READWRITE, &b->r, err, errlen) != 0) goto fail;
  if (pthread_create(&b->writer, NULL, writer_main, b) != 0) {
    snprintf(err, errlen, "cannot start the inbox's writer: %s", strerror(errno));
    goto fail;
  }
  b->writer_started = 1;
  return b;
fail:
  jc_inbox_close(b);
  return NULL;
}

/* A symlink is its target, whatever name reaches it: the page (the lock) beside the target, and
   a file of the first format converted there (renamed over the symlink, it left the old file at
   the target, for a receiver given that name to convert again: two stores of one inbox). */
jc_inbox *jc_inbox_open(const char *path, int flags, char *err, size_t errlen) {
  struct stat st;
  char *real;
  jc_inbox *b;
  if (lstat(path, &st) != 0 || !S_ISLNK(st.st_mode)) return open_at(path, flags, err, errlen);
  if ((real = realpath(path, NULL)) == NULL) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return NULL;
  }
  b = open_at(real, flags, err, errlen);
  free(real);
  return b;
}

void jc_inbox_close(jc_inbox *b) {
  if (b == NULL) return;
  if (b->writer_started) {
    pthread_mutex_lock(&b->mu);
    b->stop = 1;
    pthread_cond_signal(&b->work);
    pthread_mutex_unlock(&b->mu);
    pthread_join(b->writer, NULL);
  }
  if (b->held && b->w) run_group(b, NULL, 1); /* a last try */
  for (size_t i = 0; i < b->nstmts; i++) sqlite3_finalize(b->stmts[i].st);
  sqlite3_finalize(b->payment_st);
  sqlite3_close(b->r);
  sqlite3_close(b->w);
  if (b->dbfd >= 0) close(b->dbfd); /* after SQLite's own: see jc_inbox_open */
  pthread_mutex_destroy(&b->mu);
  pthread_cond_destroy(&b->work);
  pthread_cond_destroy(&b->done);
  pthread_cond_destroy(&b->arrived);
  if (b->page) munmap(b->page, PAGE);
  if (b->lockfd >= 0) close(b->lockfd); /* releases the lock */
  free(b->sched);
  free(b);
}
