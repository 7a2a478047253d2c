/* The notification inbox: a durable append-only file of verified notifications and of what
   became of each, shared by the HTTP threads that store and the Lua thread that handles.

   Records, one after another (text headers; a body is length-prefixed, so any bytes fit):
     E <key> <time> <len> <bodysum> <headsum>\n<body>\n
                                       an event, stored before its 200 reply. time: seconds since
                                       the epoch with three decimals ("1764748800.125", always a
                                       point, whatever the locale); len: the body's bytes; bodysum:
                                       FNV-1a 32 of the body, headsum: FNV-1a 32 of the header's
                                       bytes before " <headsum>", each 8 lowercase hex digits
     T <key> <try>\n                   its handler's try-th try began; a slot follows it
     H <key>\n                         handled
     F <key> <attempt>\n               its handler failed, for the attempt-th time
     P <key>\n                         parked after too many failures
     R <key>\n                         replayed by a person, or sent again while parked: pending again
     <spaces>\n                        padding (no spaces, even): skipped
   A slot is padding of 2 * len(key) + 16 bytes, room for the longest outcome of a try ("F key
   n\n" then "P key\n"); it never crosses a 4 KiB boundary (padding before its T moves it past
   one). The try's outcome (H, or F, or F then P) is written over the start of its slot, the rest
   of which stays padding. Only an outcome without a slot is appended: one recorded when no try
   began (a refusal, a failure before the handler), or a crash's failure read from a file
   written before slots, which reads as before (a T without padding). Numbers are ASCII digits
   only. At open, a last record cut short (a crash in the middle of writing: a header without its
   newline, or an event header that checks out whose body runs past the end) is cut off; anything
   else that does not parse or check out is damage, and the inbox refuses to open until a person
   mends it.

   Writes are grouped: one write serves every record queued meanwhile, and one fdatasync every
   event among them (group commit). An event's caller returns once it is on disk (fsynced). A
   mark's (T H F P R) returns once its write(2) has returned: in the page cache, it survives the
   process being killed, but an OS crash or power cut before the next fsync may lose it (then
   an event is handled again, or its failure or try is forgotten). A mark never waits for an
   fsync: while the writer thread syncs events, a mark's caller writes the queued marks itself
   (one writer of the file at a time). When a write fails (a full disk, a file-size limit), the
   file is cut back to its last whole record: the events in that write are refused (their
   callers get -1, so the sender sends them again later), a T with its slot is refused (no try
   begins), and the other marks are kept in memory and written with the next write, or by
   themselves a second later. An outcome written into its slot needs no room: the slot's blocks
   are the file's already, and a file-size limit below it is passed by a store to a shared
   mapping of its page (a write's limit, not a page's). So once a try began, its outcome is
   written, full disk or not, and a try that returned is never taken for one that died; except
   on a copy-on-write filesystem (btrfs, zfs), where an overwrite needs new blocks: there an
   outcome its slot cannot take is kept in memory, as a mark is. */
#ifndef JC_INBOX_H
#define JC_INBOX_H

#include <stddef.h>

#define JC_INBOX_KEY_MAX 64

typedef struct jc_inbox jc_inbox;

typedef struct {
  size_t stored, handled, parked, pending;
} jc_inbox_counts;

#define JC_INBOX_READONLY 1

/* Opens (making it, mode 0600) the inbox at path, holding its flock; reads it. flags
   JC_INBOX_READONLY: an existing inbox only, without the flock (a receiver may hold it), never
   cut (a torn tail is skipped), for jc_inbox_parked and jc_inbox_count only. NULL and a message
   in err on failure. */
jc_inbox *jc_inbox_open(const char *path, int flags, char *err, size_t errlen);
/* Stops the writer and releases everything. */
void jc_inbox_close(jc_inbox *b);

/* Stores an event, unless its key is known. 1: stored; 0: known (stored before, or by a call
   still under way, which this one waits for; a parked one is made pending again, as a replay);
   -1: the disk refused (errno). Returns once the event is durable. Any thread. */
int jc_inbox_store(jc_inbox *b, const char *key, const char *body, size_t len, double at);

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
/* Marks: each returns once its record is written (see above); a full disk fails only
   jc_inbox_begin. Else -1 only when memory runs out (errno ENOMEM), or on a read-only inbox
   (EBADF). */
/* The handler's next try of the event begins: its T and the slot of its outcome are written,
   with the marks queued before them, before it returns. 0, or -1: also when that write failed
   (a full disk, a file-size limit; errno says why): then no try may begin, since its outcome
   would have no room, and jc_inbox_blocked says why until a begin succeeds. */
int jc_inbox_begin(jc_inbox *b, const char *key);
/* 0, or the errno of the last jc_inbox_begin, when it could not reserve its slot. */
int jc_inbox_blocked(jc_inbox *b);
/* The event was handled. 0, or -1. */
int jc_inbox_handled(jc_inbox *b, const char *key);
/* Its handler failed: retried `retry_after` seconds after `now` (monotonic, as jc_inbox_next's),
   or parked when this was the `max_attempts`-th failure. 1 parked, 0 scheduled again, -1. */
int jc_inbox_failed(jc_inbox *b, const char *key, double now, double retry_after, int max_attempts);
/* A parked event made pending again. 1 done, 0 no such parked event, -1. */
int jc_inbox_replay(jc_inbox *b, const char *key);
/* Calls fn for each parked event's key, in arrival order. */
void jc_inbox_parked(jc_inbox *b, void (*fn)(void *ctx, const char *key, int attempts), void *ctx);

jc_inbox_counts jc_inbox_count(jc_inbox *b);

#endif
