/* The notification inbox; see inbox.h. One mutex guards the entries; a writer thread turns the
   queued records into one write and, when events are among them, one fsync (group commit), and
   wakes every caller whose record that wrote (marks) or made durable (events). During that
   fsync a mark's caller writes the queued marks itself: one thread writes at a time (the pen). The marks not yet
   written whole stay in `marks` until a write of them succeeds: a failed write leaves them there
   for the next one. A try's T is written by begin itself, with its slot, or not at all; its
   outcome goes into that slot (pwrite inside the file), not through the queue.

   Memory: an event not yet handled (queued, pending, parked) has an entry; a handled one keeps
   only a 16-byte digest of its key, to recognise it if it is sent again. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include "inbox.h"
#include "buffer.h"
#include "durable.h"
#include "sys.h"

enum { S_FREE, S_QUEUED, S_PENDING, S_PARKED, S_LOST /* its write failed: as if never stored */ };

#define TOMBSTONE UINT32_MAX

typedef struct {
  char key[JC_INBOX_KEY_MAX + 1];
  unsigned char state;
  unsigned char began; /* a try began (T) and has no outcome yet */
  unsigned char slot_len; /* its outcome's slot (see SLOT_LEN), while `slot` is not 0 */
  int attempts;
  double at, next_at; /* at: wall clock; next_at: monotonic */
  off_t offset; /* of the body: in the file once durable; in the batch while queued */
  off_t slot;   /* where the outcome of its try goes (the padding after its T), or 0 */
  size_t len;
  uint64_t seq; /* the batch that makes its event record durable */
  uint32_t gen; /* bumped when the entry is freed, so that stale references to it are seen */
} entry;

typedef struct {
  uint64_t a, b; /* two hashes of a handled key; never both 0 */
} digest;

typedef struct {
  uint32_t e, gen; /* a pending event: its entry, as it was */
} ref;

struct jc_inbox {
  int fd, readonly;
  off_t end; /* bytes of whole records in the file */
  pthread_mutex_t mu;
  pthread_cond_t work, written, durable, arrived; /* work and arrived: on the monotonic clock */
  pthread_t writer;
  int writer_started, stop;
  entry *entries;
  size_t nentries, cap;
  uint32_t *free_list; /* entries to reuse */
  size_t nfree, free_cap;
  uint32_t *index; /* open addressing over live entries: entry + 1, 0 empty, TOMBSTONE */
  size_t index_cap, index_used; /* used: live and tombstones */
  digest *seen; /* open addressing over handled keys */
  size_t seen_cap, nseen;
  ref *pending; /* pending events in arrival order, from `head` */
  size_t npending, pending_cap, head;
  /* the event records being gathered, and the entries they are of */
  char *batch;
  size_t batch_len, batch_cap;
  size_t *batch_entries;
  size_t batch_nentries, batch_entries_cap;
  /* mark records not yet written: new ones, and those of a write that failed */
  char *marks;
  size_t marks_len, marks_cap;
  int marks_fresh;  /* marks queued since the writer last took them */
  double retry_at;  /* monotonic: when marks whose write failed are tried again by themselves */
  int cut_pending;  /* a failed write could not be cut off the file: cut before writing more */
  int writing;      /* a thread is in write(2) on the file: one at a time, so `end` stays true */
  int blocked;      /* why the last try's reservation failed (an errno); 0 once one succeeds */
  char *mark_scratch; /* the copy of the marks a caller writes itself (commit) */
  size_t mark_scratch_cap;
  uint64_t queued_seq, written_seq, durable_seq;
  jc_inbox_counts counts;
};

/* The monotonic clock's time `seconds` from now, for pthread_cond_timedwait. */
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

/* FNV-1a, 32 bits, of n bytes: the checksums in event headers. */
static uint32_t fnv32(const char *p, size_t n, uint32_t h) {
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 16777619u;
  return h;
}
#define FNV32_START 2166136261u

/* ---- memory ---- */

static int grow(void **p, size_t *cap, size_t need, size_t size) {
  return jc_grow(p, cap, need, size, 16);
}

/* ---- the key index, and the digests of handled keys ---- */

static uint64_t fnv1a(const char *k, uint64_t h) {
  for (; *k; k++) h = (h ^ (unsigned char)*k) * 1099511628211ull;
  return h;
}

static digest digest_of(const char *key) {
  digest d = {fnv1a(key, 14695981039346656037ull), fnv1a(key, 0x9e3779b97f4a7c15ull) | 1};
  return d;
}

/* The live entry of key, or -1. */
static long find(const jc_inbox *b, const char *key) {
  if (b->index_cap == 0) return -1;
  for (size_t i = (size_t)fnv1a(key, 14695981039346656037ull) & (b->index_cap - 1);; i = (i + 1) & (b->index_cap - 1)) {
    uint32_t at = b->index[i];
    if (at == 0) return -1;
    if (at != TOMBSTONE && strcmp(b->entries[at - 1].key, key) == 0) return (long)at - 1;
  }
}

static void index_put(jc_inbox *b, size_t e) {
  size_t i = (size_t)fnv1a(b->entries[e].key, 14695981039346656037ull) & (b->index_cap - 1);
  while (b->index[i] != 0 && b->index[i] != TOMBSTONE) i = (i + 1) & (b->index_cap - 1);
  if (b->index[i] == 0) b->index_used++;
  b->index[i] = (uint32_t)(e + 1);
}

static void index_remove(jc_inbox *b, size_t e) {
  const char *key = b->entries[e].key;
  for (size_t i = (size_t)fnv1a(key, 14695981039346656037ull) & (b->index_cap - 1);; i = (i + 1) & (b->index_cap - 1)) {
    if (b->index[i] == 0) return;
    if (b->index[i] == e + 1) {
      b->index[i] = TOMBSTONE;
      return;
    }
  }
}

/* Makes room in the index for one more entry: rebuilt, without tombstones, when it would pass
   half full. 0 when memory runs out. */
static int index_reserve(jc_inbox *b) {
  size_t live = b->nentries - b->nfree, cap = 64;
  uint32_t *index;
  if (2 * (b->index_used + 1) <= b->index_cap) return 1;
  while (cap < 4 * (live + 1)) cap *= 2;
  if ((index = calloc(cap, sizeof *index)) == NULL) return 0;
  free(b->index);
  b->index = index;
  b->index_cap = cap;
  b->index_used = 0;
  for (size_t i = 0; i < b->nentries; i++)
    if (b->entries[i].state != S_FREE) index_put(b, i);
  return 1;
}

static int seen(const jc_inbox *b, const char *key) {
  digest d = digest_of(key);
  if (b->seen_cap == 0) return 0;
  for (size_t i = (size_t)d.a & (b->seen_cap - 1);; i = (i + 1) & (b->seen_cap - 1)) {
    if (b->seen[i].a == 0 && b->seen[i].b == 0) return 0;
    if (b->seen[i].a == d.a && b->seen[i].b == d.b) return 1;
  }
}

static int seen_add(jc_inbox *b, const char *key) {
  digest d = digest_of(key);
  size_t i;
  if (2 * (b->nseen + 1) > b->seen_cap) { /* at most half full */
    size_t cap = b->seen_cap ? 2 * b->seen_cap : 1024;
    digest *t = calloc(cap, sizeof *t);
    if (t == NULL) return 0;
    for (size_t j = 0; j < b->seen_cap; j++) {
      if (b->seen[j].a == 0 && b->seen[j].b == 0) continue;
      for (i = (size_t)b->seen[j].a & (cap - 1); t[i].a || t[i].b; i = (i + 1) & (cap - 1)) {}
      t[i] = b->seen[j];
    }
    free(b->seen);
    b->seen = t;
    b->seen_cap = cap;
  }
  for (i = (size_t)d.a & (b->seen_cap - 1); b->seen[i].a || b->seen[i].b; i = (i + 1) & (b->seen_cap - 1))
    if (b->seen[i].a == d.a && b->seen[i].b == d.b) return 1;
  b->seen[i] = d;
  b->nseen++;
  return 1;
}

/* A new live entry for key, indexed, or -1 when memory runs out. */
static long add_entry(jc_inbox *b, const char *key) {
  size_t e;
  if (!index_reserve(b)) return -1;
  if (b->nfree > 0) {
    e = b->free_list[--b->nfree];
  } else {
    if (b->nentries + 1 >= TOMBSTONE - 1) return -1;
    if (!grow((void **)&b->entries, &b->cap, b->nentries + 1, sizeof *b->entries)) return -1;
    e = b->nentries++;
    b->entries[e].gen = 0;
  }
  {
    uint32_t gen = b->entries[e].gen;
    memset(&b->entries[e], 0, sizeof b->entries[e]);
    b->entries[e].gen = gen;
  }
  b->entries[e].state = S_QUEUED;
  memcpy(b->entries[e].key, key, strlen(key) + 1);
  index_put(b, e);
  return (long)e;
}

/* The event is handled: only its key's digest stays. 0 when memory runs out. */
static int retire(jc_inbox *b, size_t e) {
  if (!seen_add(b, b->entries[e].key)) return 0;
  if (!grow((void **)&b->free_list, &b->free_cap, b->nfree + 1, sizeof *b->free_list)) return 0;
  index_remove(b, e);
  b->entries[e].state = S_FREE;
  b->entries[e].gen++;
  b->free_list[b->nfree++] = (uint32_t)e;
  return 1;
}

static int push_pending(jc_inbox *b, size_t e) {
  if (b->head > 0 && b->npending == b->pending_cap) { /* reuse the handled front */
    memmove(b->pending, b->pending + b->head, (b->npending - b->head) * sizeof *b->pending);
    b->npending -= b->head;
    b->head = 0;
  }
  if (!grow((void **)&b->pending, &b->pending_cap, b->npending + 1, sizeof *b->pending)) return 0;
  b->pending[b->npending].e = (uint32_t)e;
  b->pending[b->npending].gen = b->entries[e].gen;
  b->npending++;
  return 1;
}

/* The pending event that ref r still names, or NULL. */
static entry *pending_at(jc_inbox *b, ref r) {
  entry *x = &b->entries[r.e];
  return x->gen == r.gen && x->state == S_PENDING ? x : NULL;
}

static int valid_key(const char *key) {
  size_t n = strlen(key);
  if (n == 0 || n > JC_INBOX_KEY_MAX) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = key[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
      return 0;
  }
  return 1;
}

/* ---- writing: the group commit ---- */

/* Writes the n buffers whole (none empty) at offset at. 0, or an errno. */
static int write_all(int fd, struct iovec *iov, int n, off_t at) {
  while (n > 0) {
    ssize_t w = pwritev(fd, iov, n, at);
    size_t done;
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return errno;
    if (w == 0) return EIO;
    done = (size_t)w;
    at += w;
    while (n > 0 && done >= iov->iov_len) {
      done -= iov->iov_len;
      iov++;
      n--;
    }
    if (n > 0) {
      iov->iov_base = (char *)iov->iov_base + done;
      iov->iov_len -= done;
    }
  }
  return 0;
}

/* Takes the right to write (with the mutex held): one writer of the file at a time, so that
   `end` is where the next record lands. */
static void take_pen(jc_inbox *b) {
  while (b->writing) pthread_cond_wait(&b->written, &b->mu);
  b->writing = 1;
}

/* Writes the queued marks, and the events taken (data, len: none when len is 0), at the end of
   the file, with the mutex held and the pen taken; drops the mutex during the write. Marks
   written leave the queue; on a failure they stay, the file is cut back, and they are tried
   again a second later. Returns 0 or an errno; *end_out: where the write began. */
static int write_out(jc_inbox *b, char **scratch, size_t *scratch_cap, const char *data, size_t len, off_t *end_out) {
  size_t nmarks = b->marks_len;
  uint64_t seq = b->queued_seq;
  off_t end = b->end;
  int err = 0, cut = b->cut_pending;
  if (!grow((void **)scratch, scratch_cap, nmarks + 1, 1)) err = ENOMEM;
  else if (nmarks > 0) memcpy(*scratch, b->marks, nmarks);
  b->marks_fresh = 0;
  pthread_mutex_unlock(&b->mu);

  if (!err && cut && ftruncate(b->fd, end) != 0) err = errno;
  if (!err) {
    struct iovec iov[2];
    int n = 0;
    if (nmarks > 0) iov[n].iov_base = *scratch, iov[n++].iov_len = nmarks;
    if (len > 0) iov[n].iov_base = (void *)(uintptr_t)data, iov[n++].iov_len = len;
    if (n > 0) err = write_all(b->fd, iov, n, end);
  }
  if (err) cut = ftruncate(b->fd, end) != 0; /* keep the file whole for the next records */

  pthread_mutex_lock(&b->mu);
  if (err) {
    b->cut_pending = cut;
    b->retry_at = jc_clock(CLOCK_MONOTONIC) + 1;
  } else {
    b->cut_pending = 0;
    b->end = end + (off_t)(nmarks + len);
    if (nmarks > 0) {
      memmove(b->marks, b->marks + nmarks, b->marks_len - nmarks);
      b->marks_len -= nmarks;
    }
  }
  if (seq > b->written_seq) b->written_seq = seq; /* marks' callers go on: written, or kept */
  b->writing = 0;
  pthread_cond_broadcast(&b->written);
  *end_out = end + (off_t)nmarks;
  return err;
}

static void *writer_main(void *arg) {
  jc_inbox *b = arg;
  char *data = NULL, *marks = NULL;
  size_t cap = 0, marks_cap = 0, *entries = NULL, entries_cap = 0;
  int last = 0; /* stopping: this is the last try of marks that keep failing */
  pthread_mutex_lock(&b->mu);
  for (;;) {
    size_t len, nentries;
    uint64_t seq;
    off_t at;
    int err;
    while (!b->stop && b->batch_len == 0 && !b->marks_fresh && !(b->marks_len > 0 && jc_clock(CLOCK_MONOTONIC) >= b->retry_at)) {
      if (b->marks_len > 0) {
        struct timespec until = mono_after(b->retry_at - jc_clock(CLOCK_MONOTONIC));
        pthread_cond_timedwait(&b->work, &b->mu, &until);
      } else {
        pthread_cond_wait(&b->work, &b->mu);
      }
    }
    if (b->batch_len == 0 && (b->marks_len == 0 || last)) break; /* stopping: nothing (more) to try */
    if (b->stop) last = 1;
    take_pen(b);
    /* Take the events: swap buffers, so that callers go on queueing into empty ones. */
    {
      char *t = data;
      size_t tc = cap, *te = entries, tec = entries_cap;
      data = b->batch, cap = b->batch_cap;
      b->batch = t, b->batch_cap = tc;
      entries = b->batch_entries, entries_cap = b->batch_entries_cap;
      b->batch_entries = te, b->batch_entries_cap = tec;
    }
    len = b->batch_len;
    b->batch_len = 0;
    nentries = b->batch_nentries;
    b->batch_nentries = 0;
    seq = b->queued_seq;
    err = write_out(b, &marks, &marks_cap, data, len, &at);
    /* Events are fsynced; marks need only be written (inbox.h), so marks alone are not. Marks
       that come meanwhile are written by their callers (commit), not after this fsync. A failed
       fsync leaves the records in the file: their senders get a 503 and send them again, and
       the key makes a second copy harmless. */
    if (!err && len > 0) {
      pthread_mutex_unlock(&b->mu);
      if (fdatasync(b->fd) != 0) err = errno;
      pthread_mutex_lock(&b->mu);
    }
    for (size_t i = 0; i < nentries; i++) {
      entry *e = &b->entries[entries[i]];
      if (err) {
        e->state = S_LOST;
      } else {
        e->offset += at;
        e->state = S_PENDING;
        if (push_pending(b, entries[i])) b->counts.stored++, b->counts.pending++;
      }
    }
    if (seq > b->durable_seq) b->durable_seq = seq;
    pthread_cond_broadcast(&b->durable);
    pthread_cond_broadcast(&b->arrived);
  }
  pthread_mutex_unlock(&b->mu);
  free(data);
  free(marks);
  free(entries);
  return NULL;
}

/* Queues rec[0..n) (with the mutex held) and waits. An event's record (e >= 0; its body starts
   at body_at in rec) is waited for until it is durable (fsynced), or refused: the caller looks
   at the entry. A mark (e < 0) until its write(2) has returned (inbox.h): when no one is
   writing, the caller writes the queued marks itself, so that a mark never waits for an
   fsync of events. 0, or -1 and errno. */
static int commit(jc_inbox *b, const char *rec, size_t n, long e, size_t body_at) {
  uint64_t seq;
  if (e >= 0) {
    if (!grow((void **)&b->batch, &b->batch_cap, b->batch_len + n, 1) ||
        !grow((void **)&b->batch_entries, &b->batch_entries_cap, b->batch_nentries + 1, sizeof *b->batch_entries)) {
      errno = ENOMEM;
      return -1;
    }
    b->batch_entries[b->batch_nentries++] = (size_t)e;
    b->entries[e].offset = (off_t)(b->batch_len + body_at);
    memcpy(b->batch + b->batch_len, rec, n);
    b->batch_len += n;
  } else {
    if (!grow((void **)&b->marks, &b->marks_cap, b->marks_len + n, 1)) {
      errno = ENOMEM;
      return -1;
    }
    memcpy(b->marks + b->marks_len, rec, n);
    b->marks_len += n;
    b->marks_fresh = 1;
  }
  seq = ++b->queued_seq;
  if (e >= 0) {
    b->entries[e].seq = seq;
    pthread_cond_signal(&b->work);
    while (b->durable_seq < seq) pthread_cond_wait(&b->durable, &b->mu);
    return 0;
  }
  while (b->written_seq < seq) {
    if (b->writing) {
      pthread_cond_wait(&b->written, &b->mu);
    } else {
      off_t at;
      take_pen(b);
      write_out(b, &b->mark_scratch, &b->mark_scratch_cap, NULL, 0, &at);
    }
  }
  return 0;
}

/* Short records "T key[ n]\n" for each type in types (the same key and n), committed as one. */
static int mark(jc_inbox *b, const char *types, const char *key, int n) {
  char rec[2 * (JC_INBOX_KEY_MAX + 16)];
  size_t len = 0;
  if (b->readonly) {
    errno = EBADF;
    return -1;
  }
  for (; *types; types++) {
    int k = *types == 'F' || *types == 'T' ? snprintf(rec + len, sizeof rec - len, "%c %s %d\n", *types, key, n)
                                          : snprintf(rec + len, sizeof rec - len, "%c %s\n", *types, key);
    len += (size_t)k;
  }
  return commit(b, rec, len, -1, 0);
}

/* ---- outcomes' slots ----

   A try's T record is followed by a slot: padding (a line of spaces) as long as the longest
   outcome of that try, "F key n\n" then "P key\n" (n up to 9 digits, as the reader takes it).
   The outcome overwrites the slot, the rest of it staying padding: a write inside the file, into
   blocks it has already, which a full disk cannot refuse (ext4, xfs, tmpfs; on copy-on-write
   filesystems, btrfs or zfs, an overwrite takes new blocks, and may fail there). */
#define SLOT_LEN(keylen) (2 * (keylen) + 16)

/* Stores p[0..n) at `at` inside the file through a shared mapping: what a file-size limit below
   `at` (RLIMIT_FSIZE, EFBIG) refuses to write(2), since it limits writes, not stores to pages
   the file has. Not for a full disk: a page that needed a new block would be a SIGBUS. Unlike
   pwrite's, this copy is not whole-or-nothing under kill -9: a kill in its few nanoseconds would
   leave a torn outcome, which the next open refuses as damage (not a handler run again). */
static int overwrite_mapped(int fd, const char *p, size_t n, off_t at) {
  long page = sysconf(_SC_PAGESIZE);
  off_t base = at - at % (page > 0 ? page : 4096);
  size_t span = (size_t)(at - base) + n;
  char *m = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_SHARED, fd, base);
  if (m == MAP_FAILED) return errno;
  memcpy(m + (at - base), p, n);
  munmap(m, span); /* the page is in the kernel's cache: it outlives the process, as a write's does */
  return 0;
}

/* Writes p[0..n) at `at`, inside the file. 0, or an errno. */
static int overwrite(int fd, const char *p, size_t n, off_t at) {
  while (n > 0) {
    ssize_t w = pwrite(fd, p, n, at);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EFBIG) return overwrite_mapped(fd, p, n, at);
    if (w < 0) return errno;
    if (w == 0) return EIO;
    p += w, n -= (size_t)w, at += w;
  }
  return 0;
}

/* Writes the outcome records (types, as mark's) into entry e's slot, with the mutex held. 0,
   or -1 when it has no slot or the slot cannot be written: then the caller appends them. */
static int fill_slot(jc_inbox *b, size_t e, const char *types, int n) {
  entry *x = &b->entries[e];
  char rec[SLOT_LEN(JC_INBOX_KEY_MAX)];
  size_t len = 0;
  if (x->slot == 0) return -1;
  for (; *types; types++) {
    int k = *types == 'F' ? snprintf(rec + len, sizeof rec - len, "%c %s %d\n", *types, x->key, n)
                          : snprintf(rec + len, sizeof rec - len, "%c %s\n", *types, x->key);
    if (k < 0 || (size_t)k >= sizeof rec - len) return -1;
    len += (size_t)k;
  }
  if (len > x->slot_len) return -1;
  if (len < x->slot_len) { /* the rest: padding */
    memset(rec + len, ' ', x->slot_len - len - 1);
    rec[x->slot_len - 1] = '\n';
  }
  if (overwrite(b->fd, rec, x->slot_len, x->slot) != 0) return -1;
  x->slot = 0;
  return 0;
}

/* Makes parked entry e pending again, its tries uncounted (an R record), with the mutex held. 0,
   or -1 and errno. */
static int unpark(jc_inbox *b, size_t e) {
  entry *x;
  if (mark(b, "R", b->entries[e].key, -1) != 0) return -1;
  x = &b->entries[e]; /* by index: entries may move while the record is written */
  x->state = S_PENDING;
  x->attempts = 0;
  x->began = 0;
  x->slot = 0;
  x->next_at = 0;
  b->counts.parked--;
  b->counts.pending++;
  if (!push_pending(b, e)) {
    errno = ENOMEM;
    return -1;
  }
  return 0;
}

int jc_inbox_store(jc_inbox *b, const char *key, const char *body, size_t len, double at) {
  char head[JC_INBOX_KEY_MAX + 96];
  char *rec;
  int n;
  long e;
  uint32_t gen;
  uint64_t seq;
  long long ms = at > 0 ? (long long)(at * 1000.0 + 0.5) : 0;
  if (b->readonly || !valid_key(key)) {
    errno = b->readonly ? EBADF : EINVAL;
    return -1;
  }
  /* Integers only: no locale's decimal comma in the file. */
  n = snprintf(head, sizeof head, "E %s %lld.%03lld %zu %08lx", key, ms / 1000, ms % 1000, len,
               (unsigned long)fnv32(body, len, FNV32_START));
  n += snprintf(head + n, sizeof head - (size_t)n, " %08lx\n", (unsigned long)fnv32(head, (size_t)n, FNV32_START));
  rec = malloc((size_t)n + len + 1);
  if (rec == NULL) return -1;
  memcpy(rec, head, (size_t)n);
  memcpy(rec + n, body, len);
  rec[(size_t)n + len] = '\n';

  pthread_mutex_lock(&b->mu);
  if (seen(b, key)) { /* handled long ago */
    pthread_mutex_unlock(&b->mu);
    free(rec);
    return 0;
  }
  e = find(b, key);
  if (e >= 0 && b->entries[e].state == S_PARKED) {
    /* Sent again while parked: pending again, as a replay. A forgery of a kind the API refused
       (a cancel_order made from the new order's body, a moneyback from the payment's) takes the
       key the real one will come with, and is parked before it comes: the real one, taken for
       its resend, would else never be handled. */
    int rc = unpark(b, (size_t)e);
    pthread_cond_broadcast(&b->arrived);
    pthread_mutex_unlock(&b->mu);
    free(rec);
    return rc;
  }
  if (e >= 0 && b->entries[e].state != S_LOST) { /* known: wait until its record is durable */
    int rc = 0;
    seq = b->entries[e].seq;
    gen = b->entries[e].gen;
    while (b->durable_seq < seq) pthread_cond_wait(&b->durable, &b->mu);
    if (b->entries[e].gen == gen && b->entries[e].seq == seq && b->entries[e].state == S_LOST) {
      errno = EIO;
      rc = -1;
    }
    pthread_mutex_unlock(&b->mu);
    free(rec);
    return rc;
  }
  if (e < 0) e = add_entry(b, key);
  if (e < 0) {
    pthread_mutex_unlock(&b->mu);
    free(rec);
    errno = ENOMEM;
    return -1;
  }
  b->entries[e].state = S_QUEUED;
  b->entries[e].at = at;
  b->entries[e].len = len;
  b->entries[e].attempts = 0;
  b->entries[e].began = 0;
  b->entries[e].next_at = 0;
  gen = b->entries[e].gen;
  seq = b->queued_seq + 1; /* the one commit gives it, before it lets go of the mutex */
  if (commit(b, rec, (size_t)n + len + 1, e, (size_t)n) != 0) {
    b->entries[e].state = S_LOST;
    pthread_mutex_unlock(&b->mu);
    free(rec);
    errno = ENOMEM;
    return -1;
  }
  /* Refused when its write failed: the entry is lost, and not queued again since (a later
     store of the key would have given it a new seq). Freed (gen) only once handled. */
  n = b->entries[e].gen == gen && (b->entries[e].seq != seq || b->entries[e].state == S_LOST) ? -1 : 1;
  pthread_mutex_unlock(&b->mu);
  free(rec);
  if (n < 0) errno = EIO;
  return n;
}

/* ---- handling ---- */

int jc_inbox_next(jc_inbox *b, double now, jc_inbox_event *ev, double *wait) {
  long found = -1;
  double soonest = -1;
  off_t offset;
  size_t len;
  *wait = -1;
  if (b->readonly) {
    errno = EBADF;
    return -1;
  }
  pthread_mutex_lock(&b->mu);
  while (b->head < b->npending && pending_at(b, b->pending[b->head]) == NULL) b->head++;
  for (size_t i = b->head; i < b->npending; i++) {
    const entry *e = pending_at(b, b->pending[i]);
    if (e == NULL) continue;
    if (e->next_at <= now) {
      found = (long)b->pending[i].e;
      break;
    }
    if (soonest < 0 || e->next_at - now < soonest) soonest = e->next_at - now;
  }
  if (found < 0) {
    pthread_mutex_unlock(&b->mu);
    *wait = soonest;
    return 0;
  }
  memcpy(ev->key, b->entries[found].key, sizeof ev->key);
  ev->attempts = b->entries[found].attempts;
  ev->crashed = b->entries[found].began;
  ev->at = b->entries[found].at;
  offset = b->entries[found].offset;
  len = b->entries[found].len;
  pthread_mutex_unlock(&b->mu);

  ev->len = len;
  ev->body = malloc(len + 1);
  if (ev->body == NULL) return -1;
  for (size_t done = 0; done < len;) {
    ssize_t n = pread(b->fd, ev->body + done, len - done, offset + (off_t)done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO; /* the file is shorter than it was */
      free(ev->body);
      ev->body = NULL;
      return -1;
    }
    done += (size_t)n;
  }
  ev->body[len] = '\0';
  return 1;
}

void jc_inbox_wait(jc_inbox *b, double seconds) {
  struct timespec until = mono_after(seconds);
  pthread_mutex_lock(&b->mu);
  pthread_cond_timedwait(&b->arrived, &b->mu, &until);
  pthread_mutex_unlock(&b->mu);
}

int jc_inbox_begin(jc_inbox *b, const char *key) {
  long e;
  int rc = 0;
  if (b->readonly) {
    errno = EBADF;
    return -1;
  }
  pthread_mutex_lock(&b->mu);
  e = find(b, key);
  if (e >= 0 && b->entries[e].state == S_PENDING) {
    char rec[SLOT_LEN(JC_INBOX_KEY_MAX) + JC_INBOX_KEY_MAX + 16 + SLOT_LEN(JC_INBOX_KEY_MAX)];
    char t[JC_INBOX_KEY_MAX + 16];
    size_t slot = SLOT_LEN(strlen(key)), tlen, n = 0;
    off_t from;
    tlen = (size_t)snprintf(t, sizeof t, "T %s %d\n", key, b->entries[e].attempts + 1);
    /* Written by this thread, now, with the marks queued before it: the try begins only once
       its slot is in the file, last in this write. On a failure the file is cut back (write_out)
       and the record leaves the queue: no try began. Not fsynced, as no mark is: in the
       kernel's cache it outlives a kill, and an OS crash that loses it loses the outcome in it
       too (the event then runs again, as inbox.h says). */
    take_pen(b);
    /* Padding first when the slot would cross a 4 KiB boundary: a write within one page is
       whole or not at all when a kill comes, and a torn outcome would be damage. */
    from = b->end + (off_t)(b->marks_len + tlen);
    if (from / 4096 != (from + (off_t)slot - 1) / 4096) {
      n = (size_t)(4096 - from % 4096);
      memset(rec, ' ', n - 1);
      rec[n - 1] = '\n';
    }
    memcpy(rec + n, t, tlen);
    n += tlen;
    memset(rec + n, ' ', slot - 1);
    rec[n + slot - 1] = '\n';
    n += slot;
    if (!grow((void **)&b->marks, &b->marks_cap, b->marks_len + n, 1)) {
      b->writing = 0;
      pthread_cond_broadcast(&b->written);
      errno = ENOMEM;
      rc = -1;
    } else {
      size_t queued = b->marks_len;
      off_t at;
      int err;
      memcpy(b->marks + queued, rec, n);
      b->marks_len += n;
      b->queued_seq++;
      err = write_out(b, &b->mark_scratch, &b->mark_scratch_cap, NULL, 0, &at);
      if (err) { /* the marks before it stay queued (write_out); it goes */
        memmove(b->marks + queued, b->marks + queued + n, b->marks_len - queued - n);
        b->marks_len -= n;
        b->blocked = err;
        errno = err;
        rc = -1;
      } else { /* by index: entries may move while the record is written */
        b->blocked = 0;
        b->entries[e].began = 1;
        b->entries[e].slot = at - (off_t)slot;
        b->entries[e].slot_len = (unsigned char)slot;
      }
    }
  }
  pthread_mutex_unlock(&b->mu);
  return rc;
}

int jc_inbox_blocked(jc_inbox *b) {
  int err;
  pthread_mutex_lock(&b->mu);
  err = b->blocked;
  pthread_mutex_unlock(&b->mu);
  return err;
}

int jc_inbox_handled(jc_inbox *b, const char *key) {
  long e;
  int rc = 0;
  pthread_mutex_lock(&b->mu);
  e = find(b, key);
  if (e >= 0 && b->entries[e].state == S_PENDING) {
    /* Into its try's slot; appended when it has none (no try began: refused unhandled) or the
       slot cannot be written (then kept in memory until it is written, see inbox.h) */
    if (fill_slot(b, (size_t)e, "H", -1) != 0) rc = mark(b, "H", key, -1);
    if (rc == 0 && !retire(b, (size_t)e)) {
      errno = ENOMEM;
      rc = -1;
    } else if (rc == 0) {
      b->counts.pending--;
      b->counts.handled++;
    }
  }
  pthread_mutex_unlock(&b->mu);
  return rc;
}

int jc_inbox_failed(jc_inbox *b, const char *key, double now, double retry_after, int max_attempts) {
  long e;
  int rc = 0;
  pthread_mutex_lock(&b->mu);
  e = find(b, key);
  /* Entries may move while a record is written (others add to them): use them by index. */
  if (e >= 0 && b->entries[e].state == S_PENDING) {
    int attempts = b->entries[e].attempts + 1, park = attempts >= max_attempts;
    if (fill_slot(b, (size_t)e, park ? "FP" : "F", attempts) != 0 && mark(b, park ? "FP" : "F", key, attempts) != 0) {
      rc = -1;
    } else {
      entry *x = &b->entries[e];
      x->attempts = attempts;
      x->began = 0;
      x->slot = 0;
      x->next_at = now + retry_after;
      if (park) {
        x->state = S_PARKED;
        b->counts.pending--;
        b->counts.parked++;
        rc = 1;
      }
    }
  }
  pthread_mutex_unlock(&b->mu);
  return rc;
}

int jc_inbox_replay(jc_inbox *b, const char *key) {
  long e;
  int rc = 0;
  pthread_mutex_lock(&b->mu);
  e = find(b, key);
  if (e >= 0 && b->entries[e].state == S_PARKED) rc = unpark(b, (size_t)e) == 0 ? 1 : -1;
  pthread_mutex_unlock(&b->mu);
  return rc;
}

void jc_inbox_parked(jc_inbox *b, void (*fn)(void *ctx, const char *key, int attempts), void *ctx) {
  pthread_mutex_lock(&b->mu);
  for (size_t i = 0; i < b->nentries; i++)
    if (b->entries[i].state == S_PARKED) fn(ctx, b->entries[i].key, b->entries[i].attempts);
  pthread_mutex_unlock(&b->mu);
}

jc_inbox_counts jc_inbox_count(jc_inbox *b) {
  jc_inbox_counts c;
  pthread_mutex_lock(&b->mu);
  c = b->counts;
  pthread_mutex_unlock(&b->mu);
  return c;
}

/* ---- opening: reading what is there ---- */

/* Applies one record read at open. 0, or -1 when memory runs out. */
static int replay_record(jc_inbox *b, char type, const char *key, int n, double at, off_t body, size_t len) {
  long e = find(b, key);
  if (type == 'E') {
    if (e >= 0 || seen(b, key)) return 0; /* stored twice (it cannot be; a second copy changes nothing) */
    if ((e = add_entry(b, key)) < 0) return -1;
    b->entries[e].state = S_PENDING;
    b->entries[e].at = at;
    b->entries[e].offset = body;
    b->entries[e].len = len;
    b->counts.stored++;
    b->counts.pending++;
    return push_pending(b, (size_t)e) ? 0 : -1;
  }
  if (e < 0) return 0;
  entry *x = &b->entries[e];
  if (type == 'H' && x->state == S_PENDING) {
    if (!retire(b, (size_t)e)) return -1;
    b->counts.pending--;
    b->counts.handled++;
  } else if (type == 'T' && x->state == S_PENDING) {
    x->began = 1;
    x->slot = 0; /* its slot is the padding right after it (read_inbox) */
  } else if (type == 'F') {
    x->attempts = n;
    x->began = 0;
    x->slot = 0;
  } else if (type == 'P' && x->state == S_PENDING) {
    x->slot = 0;
    x->state = S_PARKED;
    b->counts.pending--;
    b->counts.parked++;
  } else if (type == 'R' && x->state == S_PARKED) {
    x->state = S_PENDING;
    x->attempts = 0;
    x->began = 0;
    x->slot = 0;
    b->counts.parked--;
    b->counts.pending++;
    return push_pending(b, (size_t)e) ? 0 : -1;
  }
  return 0;
}

/* Strict parsing of header fields: p[0..n) is exactly what is asked for. */
static int parse_digits(const char *p, size_t n, size_t max_digits, unsigned long long *v) {
  unsigned long long x = 0;
  if (n == 0 || n > max_digits) return 0;
  for (size_t i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9') return 0;
    x = x * 10 + (unsigned long long)(p[i] - '0');
  }
  *v = x;
  return 1;
}

static int parse_hex32(const char *p, size_t n, uint32_t *v) {
  uint32_t x = 0;
  if (n != 8) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = p[i];
    if (c >= '0' && c <= '9') x = x << 4 | (uint32_t)(c - '0');
    else if (c >= 'a' && c <= 'f') x = x << 4 | (uint32_t)(c - 'a' + 10);
    else return 0;
  }
  *v = x;
  return 1;
}

#define MAX_FIELDS 6
#define BODY_MAX ((size_t)1 << 30)

typedef struct {
  char type, key[JC_INBOX_KEY_MAX + 1];
  int n;          /* F's and T's number */
  double at;      /* E's */
  size_t len;     /* E's body */
  uint32_t bodysum;
} record;

/* Parses a header line (without its newline): 1, or 0 when it is damaged. */
static int parse_header(const char *line, size_t n, record *r) {
  const char *f[MAX_FIELDS];
  size_t fl[MAX_FIELDS], nf = 0, start = 0;
  unsigned long long v, ms;
  for (size_t i = 0; i <= n; i++) {
    if (i < n && line[i] != ' ') continue;
    if (nf == MAX_FIELDS) return 0;
    f[nf] = line + start, fl[nf++] = i - start;
    start = i + 1;
  }
  if (nf < 2 || fl[0] != 1 || fl[1] == 0 || fl[1] > JC_INBOX_KEY_MAX) return 0;
  r->type = f[0][0];
  memcpy(r->key, f[1], fl[1]);
  r->key[fl[1]] = '\0';
  if (!valid_key(r->key)) return 0;
  switch (r->type) {
    case 'H': case 'P': case 'R':
      return nf == 2;
    case 'F': case 'T':
      if (nf != 3 || !parse_digits(f[2], fl[2], 9, &v)) return 0;
      r->n = (int)v;
      return 1;
    case 'E': {
      uint32_t headsum;
      const char *dot;
      /* Its own checksum first: a damaged header is not taken for a torn one. */
      if (nf != 6 || !parse_hex32(f[5], fl[5], &headsum) || fnv32(line, n - 9, FNV32_START) != headsum) return 0;
      dot = memchr(f[2], '.', fl[2]);
      if (dot == NULL || !parse_digits(f[2], (size_t)(dot - f[2]), 15, &v) ||
          !parse_digits(dot + 1, fl[2] - (size_t)(dot - f[2]) - 1, 3, &ms) || fl[2] - (size_t)(dot - f[2]) - 1 != 3)
        return 0;
      r->at = (double)v + (double)ms / 1000.0;
      if (!parse_digits(f[3], fl[3], 10, &v) || v > BODY_MAX) return 0;
      r->len = (size_t)v;
      return parse_hex32(f[4], fl[4], &r->bodysum);
    }
    default:
      return 0;
  }
}

/* Reads the body of len bytes after the header: 1 whole and its checksum right, 0 it runs past
   the end (torn), -1 damaged (its checksum, or no newline after it). */
static int read_body(FILE *f, size_t len, uint32_t sum) {
  char chunk[8192];
  uint32_t h = FNV32_START;
  int c;
  while (len > 0) {
    size_t n = fread(chunk, 1, len < sizeof chunk ? len : sizeof chunk, f);
    if (n == 0) return 0;
    h = fnv32(chunk, n, h);
    len -= n;
  }
  c = getc(f);
  if (c == EOF) return 0;
  return c == '\n' && h == sum ? 1 : -1;
}

/* Whether line[0..n) is padding: spaces only (none, even). */
static int padding(const char *line, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (line[i] != ' ') return 0;
  return 1;
}

/* Reads every whole record; a torn last one is cut (or, read-only, skipped). 0, or -1 and a
   message. */
static int read_inbox(jc_inbox *b, const char *path, char *err, size_t errlen) {
  int fd = dup(b->fd);
  FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
  char *line = NULL;
  size_t cap = 0;
  int rc = 0;
  off_t whole = 0, slot_at = -1; /* slot_at: the end of a T record, where its slot would begin */
  long tried = -1;                /* the entry of that T */
  if (f == NULL) {
    if (fd >= 0) close(fd);
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
  }
  for (;;) {
    ssize_t n = getline(&line, &cap, f);
    record r;
    if (n <= 0) break;              /* the end */
    if (line[n - 1] != '\n') break; /* a torn header */
    if (padding(line, (size_t)n - 1)) { /* a slot, or what an outcome left of one */
      if (whole == slot_at && n <= SLOT_LEN(JC_INBOX_KEY_MAX) && b->entries[tried].began) {
        b->entries[tried].slot = whole; /* an outcome of that try goes there (a crash's failure) */
        b->entries[tried].slot_len = (unsigned char)n;
      }
      whole += (off_t)n;
      continue;
    }
    if (!parse_header(line, (size_t)n - 1, &r)) goto damaged;
    if (r.type == 'E') {
      off_t body = whole + (off_t)n;
      int got = read_body(f, r.len, r.bodysum);
      if (got == 0) break; /* a torn body */
      if (got < 0) goto damaged;
      if (replay_record(b, r.type, r.key, 0, r.at, body, r.len) != 0) goto out_of_memory;
      whole = body + (off_t)r.len + 1;
    } else {
      if (replay_record(b, r.type, r.key, r.n, 0, 0, 0) != 0) goto out_of_memory;
      whole += (off_t)n;
      if (r.type == 'T' && (tried = find(b, r.key)) >= 0) slot_at = whole;
    }
  }
  if (ferror(f)) {
    snprintf(err, errlen, "cannot read the inbox %s: %s", path, strerror(errno));
    rc = -1;
  }
  free(line);
  fclose(f);
  if (rc == 0 && !b->readonly) {
    off_t size = lseek(b->fd, 0, SEEK_END);
    if (size > whole && (ftruncate(b->fd, whole) != 0 || fdatasync(b->fd) != 0)) {
      snprintf(err, errlen, "%s: cannot cut its torn last record: %s", path, strerror(errno));
      return -1;
    }
  }
  b->end = whole;
  return rc;
damaged:
  free(line);
  fclose(f);
  snprintf(err, errlen, "%s: the record at byte %lld is damaged; mend or remove it by hand", path, (long long)whole);
  return -1;
out_of_memory:
  free(line);
  fclose(f);
  snprintf(err, errlen, "%s: not enough memory", path);
  return -1;
}

jc_inbox *jc_inbox_open(const char *path, int flags, char *err, size_t errlen) {
  jc_inbox *b = calloc(1, sizeof *b);
  pthread_condattr_t mono_attr;
  if (b == NULL) {
    snprintf(err, errlen, "not enough memory");
    return NULL;
  }
  b->readonly = (flags & JC_INBOX_READONLY) != 0;
  if (b->readonly) {
    b->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (b->fd < 0) {
      if (errno == ENOENT) snprintf(err, errlen, "no inbox at %s", path);
      else snprintf(err, errlen, "%s: %s", path, strerror(errno));
      free(b);
      return NULL;
    }
  } else {
    /* No O_APPEND: records go at `end` (one writer at a time), and outcomes into their slots
       inside the file, which an O_APPEND pwrite would append instead (Linux). */
    b->fd = jc_open_durably(path, strlen(path), O_RDWR);
    if (b->fd < 0) {
      snprintf(err, errlen, "%s: %s", path, strerror(errno));
      free(b);
      return NULL;
    }
    if (flock(b->fd, LOCK_EX | LOCK_NB) != 0) {
      snprintf(err, errlen, errno == EWOULDBLOCK ? "%s is in use by another justclick serve" : "%s: %s", path,
               strerror(errno));
      close(b->fd);
      free(b);
      return NULL;
    }
  }
  pthread_mutex_init(&b->mu, NULL);
  pthread_condattr_init(&mono_attr);
  pthread_condattr_setclock(&mono_attr, CLOCK_MONOTONIC);
  pthread_cond_init(&b->work, &mono_attr);
  pthread_cond_init(&b->arrived, &mono_attr);
  pthread_condattr_destroy(&mono_attr);
  pthread_cond_init(&b->written, NULL);
  pthread_cond_init(&b->durable, NULL);
  if (read_inbox(b, path, err, errlen) != 0) {
    jc_inbox_close(b);
    return NULL;
  }
  if (b->readonly) return b;
  if (pthread_create(&b->writer, NULL, writer_main, b) != 0) {
    snprintf(err, errlen, "cannot start the inbox's writer: %s", strerror(errno));
    jc_inbox_close(b);
    return NULL;
  }
  b->writer_started = 1;
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
  pthread_mutex_destroy(&b->mu);
  pthread_cond_destroy(&b->work);
  pthread_cond_destroy(&b->written);
  pthread_cond_destroy(&b->durable);
  pthread_cond_destroy(&b->arrived);
  close(b->fd); /* releases the flock */
  free(b->entries);
  free(b->free_list);
  free(b->seen);
  free(b->index);
  free(b->pending);
  free(b->batch);
  free(b->batch_entries);
  free(b->marks);
  free(b->mark_scratch);
  free(b);
}
