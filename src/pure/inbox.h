/* The notification inbox: a SQLite database (pure/store.c), shared by the HTTP threads that
   store and the Lua thread that handles.

   The table `events` (docs/receiving-payments.md gives it whole): one row per event, `key`
   unique, its `state`: 'stored' (to handle), 'trying' (its handler's try began and has no
   outcome recorded), 'handled', 'parked', 'duplicate' (a second event of a payment handled
   already: settled without its handler, counted as handled). The index events_paid (bill_id,
   where kind = 'paid') finds a bill's payment events; the table `trimmed` keeps the keys of the
   events trimmed. The database is in WAL mode, so `sqlite3 PATH` reads it while a receiver
   writes.

   One writer thread runs every change (group commit): callers queue them and wait; the writer
   runs what is queued in one transaction and wakes them. An event's caller returns once its row
   is committed with synchronous=FULL (fsynced: it survives a power cut). A mark (begin, handled,
   failed, replay) commits with synchronous=NORMAL, unless an event shares its transaction: in the
   page cache, it survives the process being killed, but an OS crash or power cut before the
   next fsync may lose it (then an event is handled again, or its failure or try is forgotten).

   A handler that returned true never runs again, even when the disk filled or a file-size limit
   struck during its try: PATH-try is a page of real blocks (zeros written and fsynced when it is
   made), mapped shared, that holds the try in progress (key, try number). A try begins only
   once its row says 'trying' (a failed write: no try begins, and jc_inbox_blocked says why); its
   outcome is put into the page by a memory store (no write(2): no ENOSPC, no EFBIG), then into
   its row. When the row cannot take it, the outcome is held (the page and memory) and written
   again each second, and no try begins until it is. At open, the page's outcome is applied to
   its row when that row is still 'trying' at that try; a row still 'trying' then is a try the
   process died in (next's crashed). The page is also the lock: flock'd by the one receiver,
   never by a reader. */
#ifndef JC_INBOX_H
#define JC_INBOX_H

#include <stddef.h>

#define JC_INBOX_KEY_MAX 64

typedef struct jc_inbox jc_inbox;

typedef struct {
  size_t stored, handled, parked, pending;
} jc_inbox_counts;

#define JC_INBOX_READONLY 1

/* Opens (making it, mode 0600) the inbox at path, holding its lock; converts a file of the first
   format (inbox_v1.h) first, keeping it at PATH.v1. flags JC_INBOX_READONLY: an existing inbox
   only, without the lock (a receiver may hold it), for jc_inbox_parked, jc_inbox_count,
   jc_inbox_list, jc_inbox_payment and jc_inbox_trim only. NULL and a message in err on failure. */
jc_inbox *jc_inbox_open(const char *path, int flags, char *err, size_t errlen);
/* Stops the writer and releases everything. */
void jc_inbox_close(jc_inbox *b);

/* Whether the inbox takes key as an event's key: 1 to JC_INBOX_KEY_MAX letters, digits, '-'
   and '_' (a NUL among its len bytes: no). */
int jc_inbox_valid_key(const char *key, size_t len);

/* Stores an event, unless its key is known. 1: stored; 0: known (a parked one is made pending
   again, as a replay); -1: the disk refused (errno). Returns once the event is durable. Any
   thread. */
int jc_inbox_store(jc_inbox *b, const char *key, const char *body, size_t len, double at);

typedef struct {
  const char *key, *body; /* key: a C string */
  size_t len;             /* body's */
} jc_inbox_item;
/* Stores n events as jc_inbox_store does each, in one transaction (one fsync): all or none.
   How many were stored (the known ones not counted), or -1 (errno; EINVAL: a key the inbox does
   not take, and none stored). Returns once they are durable. Any thread. */
long long jc_inbox_store_many(jc_inbox *b, const jc_inbox_item *items, size_t n, double at);

/* The handling thread's side. */
typedef struct {
  char key[JC_INBOX_KEY_MAX + 1];
  char *body; /* malloc'd: the caller frees it */
  size_t len;
  int attempts; /* failures so far */
  int crashed;  /* a try began (jc_inbox_begin) and has no outcome: the process died in it */
  double at;    /* when it was stored (wall clock) */
} jc_inbox_event;

/* The first pending event in arrival order that is due at `now` (a monotonic clock's seconds,
   the same clock as jc_inbox_failed's): 1 and *ev, 0 when none is due (*wait: seconds until one
   is, or -1 when none is pending), -1 on a read error (errno). */
int jc_inbox_next(jc_inbox *b, double now, jc_inbox_event *ev, double *wait);
/* Waits up to `seconds` for a new event to be stored. */
void jc_inbox_wait(jc_inbox *b, double seconds);
/* The handler's next try of the event begins: 0 once its row says so; 1 when no row to handle
   has that key (a row changed by hand since next gave it): no try may begin, nothing is blocked;
   or -1 (errno): then no try may begin, and jc_inbox_blocked says why until a begin succeeds. */
int jc_inbox_begin(jc_inbox *b, const char *key);
/* 0, or the errno of the last jc_inbox_begin that failed. */
int jc_inbox_blocked(jc_inbox *b);
/* The event was handled. 0 (also when its row could not take it: then it is held, see above),
   or -1 on a read-only inbox (EBADF). */
int jc_inbox_handled(jc_inbox *b, const char *key);
/* Its handler failed (why: the last error, or NULL): retried `retry_after` seconds after `now`,
   or parked when this was the `max_attempts`-th failure. 1 parked, 0 scheduled again, -1. */
int jc_inbox_failed(jc_inbox *b, const char *key, double now, double retry_after, int max_attempts,
                    const char *why);
/* A second event of a payment handled already (of_key's): its row, to handle (stored or
   trying), becomes 'duplicate', handled now, its last error naming of_key; no try begins, its
   handler never runs. 0 done, 1 when no row to handle has that key, -1 (errno). */
int jc_inbox_duplicate(jc_inbox *b, const char *key, const char *of_key);
/* A stored event made pending again, whatever its state (handled, parked, duplicate, trying:
   one the process died in runs again, its crash not counted). 1 done (or pending already), 0
   no such event, -1 (errno). */
int jc_inbox_replay(jc_inbox *b, const char *key);
/* Calls fn for each parked event's key, in arrival order. */
void jc_inbox_parked(jc_inbox *b, void (*fn)(void *ctx, const char *key, int attempts), void *ctx);

jc_inbox_counts jc_inbox_count(jc_inbox *b);

/* One row of `events`, for jc_inbox_list; strings valid during the call (last_error NULL). */
typedef struct {
  const char *key, *kind, *bill_id, *state, *received, *last_error;
  long long tries, attempts;
} jc_inbox_row;
/* Calls fn for each event (of that state, unless NULL), in arrival order; fn returns 0 to go
   on. 0, or -1 (errno, and a message in err). */
int jc_inbox_list(jc_inbox *b, const char *state, int (*fn)(void *ctx, const jc_inbox_row *r), void *ctx, char *err,
                  size_t errlen);
/* Calls fn for each event of kind 'paid' of the bill (index events_paid), in arrival order,
   with its key and state; then for each such key in the table trimmed (in key order), state
   "trimmed". fn returns 0 to go on; strings valid during the call. 0, or -1 (errno, and a
   message in err). */
int jc_inbox_payment(jc_inbox *b, long long bill_id, int (*fn)(void *ctx, const char *key, const char *state),
                     void *ctx, char *err, size_t errlen);
/* Deletes the handled and duplicate events handled more than `days` days before now, keeping
   their keys in trimmed: how many, or -1 and a message in err. */
long long jc_inbox_trim(jc_inbox *b, double days, char *err, size_t errlen);

#endif
