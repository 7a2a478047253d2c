/* The notification inbox: a durable append-only file of verified notifications and of what
   became of each, shared by the HTTP threads that store and the Lua thread that handles.

   Records, one after another (text headers; a body is length-prefixed, so any bytes fit):
     E <key> <time> <len>\n<body>\n   an event, stored before its 200 reply
     H <key>\n                         handled
     F <key> <attempt>\n               its handler failed, for the attempt-th time
     P <key>\n                         parked after too many failures
     R <key>\n                         replayed by a person: pending again
   A torn last record (a crash in the middle of writing) is cut off when the inbox opens. Writes
   are grouped: one write and one fsync serve every record queued meanwhile (group commit), and
   no caller returns before its record is on disk. */
#ifndef JC_INBOX_H
#define JC_INBOX_H

#include <stddef.h>

#define JC_INBOX_KEY_MAX 64

typedef struct jc_inbox jc_inbox;

typedef struct {
  size_t stored, handled, parked, pending;
} jc_inbox_counts;

/* Opens (making it, mode 0600) the inbox at path, holding its flock; reads it. NULL and a
   message in err on failure. */
jc_inbox *jc_inbox_open(const char *path, char *err, size_t errlen);
/* Stops the writer and releases everything. */
void jc_inbox_close(jc_inbox *b);

/* Stores an event, unless its key is known. 1: stored; 0: known (stored before, or by a call
   still under way, which this one waits for); -1: the disk refused (errno). Returns once the
   event is durable. Any thread. */
int jc_inbox_store(jc_inbox *b, const char *key, const char *body, size_t len, double at);

/* The handling thread's side. */
typedef struct {
  char key[JC_INBOX_KEY_MAX + 1];
  char *body; /* malloc'd: the caller frees it */
  size_t len;
  int attempts; /* failures so far */
  double at;    /* when it was stored */
} jc_inbox_event;

/* The first pending event in arrival order that is due at `now`: 1 and *ev, 0 when none is due
   (*wait: seconds until one is, or -1 when none is pending), -1 on a read error. */
int jc_inbox_next(jc_inbox *b, double now, jc_inbox_event *ev, double *wait);
/* Waits up to `seconds` for a new event to be stored. */
void jc_inbox_wait(jc_inbox *b, double seconds);
/* The event was handled. 0, or -1 when the disk refused. */
int jc_inbox_handled(jc_inbox *b, const char *key);
/* Its handler failed: retried after `retry_after` seconds, or parked when this was the
   `max_attempts`-th failure. 1 parked, 0 scheduled again, -1 the disk refused. */
int jc_inbox_failed(jc_inbox *b, const char *key, double now, double retry_after, int max_attempts);
/* A parked event made pending again. 1 done, 0 no such parked event, -1 the disk refused. */
int jc_inbox_replay(jc_inbox *b, const char *key);
/* Calls fn for each parked event's key, in arrival order. */
void jc_inbox_parked(jc_inbox *b, void (*fn)(void *ctx, const char *key, int attempts), void *ctx);

jc_inbox_counts jc_inbox_count(jc_inbox *b);

#endif
