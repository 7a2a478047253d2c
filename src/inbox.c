/* The notification inbox; see inbox.h. One mutex guards the entries; a writer thread turns the
   queued records into one write and one fsync (group commit) and then wakes every caller whose
   record that made durable.

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
#include "inbox.h"
#include "core.h"

enum { S_FREE, S_QUEUED, S_PENDING, S_PARKED, S_LOST /* its write failed: as if never stored */ };

#define TOMBSTONE UINT32_MAX

typedef struct {
  char key[JC_INBOX_KEY_MAX + 1];
  unsigned char state;
  int attempts;
  double at, next_at;
  off_t offset; /* of the body: in the file once durable; in the batch while queued */
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
  int fd;
  off_t end; /* bytes of whole records in the file */
  pthread_mutex_t mu;
  pthread_cond_t work, durable, arrived;
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
  /* the batch being gathered, and the entries whose event records it holds */
  char *batch;
  size_t batch_len, batch_cap;
  size_t *batch_entries;
  size_t batch_nentries, batch_entries_cap;
  uint64_t queued_seq, durable_seq;
  uint64_t broken_seq; /* the first record whose write failed: it and every later one fail */
  int broken_errno;
  jc_inbox_counts counts;
};

/* ---- memory ---- */

static int grow(void **p, size_t *cap, size_t need, size_t size) {
  size_t n = *cap ? *cap : 16;
  void *q;
  if (need <= *cap) return 1;
  while (n < need) n *= 2;
  q = realloc(*p, n * size);
  if (q == NULL) return 0;
  *p = q;
  *cap = n;
  return 1;
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

static void *writer_main(void *arg) {
  jc_inbox *b = arg;
  char *data = NULL;
  size_t cap = 0;
  pthread_mutex_lock(&b->mu);
  for (;;) {
    size_t len, done = 0;
    uint64_t seq;
    int err = 0;
    while (!b->stop && b->batch_len == 0) pthread_cond_wait(&b->work, &b->mu);
    if (b->batch_len == 0) break; /* stopping, with nothing left to write */
    /* Take the batch: swap buffers, so that callers go on queueing into an empty one. */
    {
      char *t = data;
      size_t tc = cap;
      data = b->batch;
      cap = b->batch_cap;
      b->batch = t;
      b->batch_cap = tc;
    }
    len = b->batch_len;
    b->batch_len = 0;
    uint64_t first = b->durable_seq + 1;
    seq = b->queued_seq;
    err = b->broken_seq ? b->broken_errno : 0; /* after a failed write, nothing more is written */
    size_t nentries = b->batch_nentries;
    size_t *entries = malloc(nentries * sizeof *entries + 1);
    if (entries && nentries > 0) memcpy(entries, b->batch_entries, nentries * sizeof *entries);
    b->batch_nentries = 0;
    pthread_mutex_unlock(&b->mu);

    if (entries == NULL && !err) err = ENOMEM;
    while (!err && done < len) {
      ssize_t n = write(b->fd, data + done, len - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) err = n < 0 ? errno : EIO;
      else done += (size_t)n;
    }
    if (!err && fdatasync(b->fd) != 0) err = errno;
    if (err && ftruncate(b->fd, b->end) != 0) { /* keep the file whole for the next records */ }

    pthread_mutex_lock(&b->mu);
    for (size_t i = 0; entries && i < nentries; i++) {
      entry *e = &b->entries[entries[i]];
      if (err) {
        e->state = S_LOST;
      } else {
        e->offset += b->end;
        e->state = S_PENDING;
        if (push_pending(b, entries[i])) b->counts.stored++, b->counts.pending++;
      }
    }
    free(entries);
    if (err) {
      if (!b->broken_seq) b->broken_seq = first, b->broken_errno = err;
    } else {
      b->end += (off_t)len;
    }
    b->durable_seq = seq;
    pthread_cond_broadcast(&b->durable);
    pthread_cond_broadcast(&b->arrived);
  }
  pthread_mutex_unlock(&b->mu);
  free(data);
  return NULL;
}

/* Queues rec[0..n) (with the mutex held). An event's record (e >= 0; its body starts at body_at
   in rec) is waited for until it is durable (fsynced). A mark (e < 0) is not waited for: the
   writer writes it within the moment an fsync takes, and what it would lose, were the process
   killed meanwhile, is that a handled event is handled again. 0, or -1 and errno. */
static int commit(jc_inbox *b, const char *rec, size_t n, long e, size_t body_at) {
  uint64_t seq;
  if (!grow((void **)&b->batch, &b->batch_cap, b->batch_len + n, 1)) {
    errno = ENOMEM;
    return -1;
  }
  if (e >= 0) {
    if (!grow((void **)&b->batch_entries, &b->batch_entries_cap, b->batch_nentries + 1, sizeof *b->batch_entries)) {
      errno = ENOMEM;
      return -1;
    }
    b->batch_entries[b->batch_nentries++] = (size_t)e;
    b->entries[e].offset = (off_t)(b->batch_len + body_at);
  }
  memcpy(b->batch + b->batch_len, rec, n);
  b->batch_len += n;
  seq = ++b->queued_seq;
  if (e >= 0) b->entries[e].seq = seq;
  pthread_cond_signal(&b->work);
  while (e >= 0 && b->durable_seq < seq) pthread_cond_wait(&b->durable, &b->mu);
  if (b->broken_seq && seq >= b->broken_seq) {
    errno = b->broken_errno;
    return -1;
  }
  return 0;
}

/* A short record "T key[ n]\n", committed. */
static int mark(jc_inbox *b, char type, const char *key, int n) {
  char rec[JC_INBOX_KEY_MAX + 32];
  int len = n >= 0 ? snprintf(rec, sizeof rec, "%c %s %d\n", type, key, n) : snprintf(rec, sizeof rec, "%c %s\n", type, key);
  return commit(b, rec, (size_t)len, -1, 0);
}

int jc_inbox_store(jc_inbox *b, const char *key, const char *body, size_t len, double at) {
  char head[JC_INBOX_KEY_MAX + 64];
  char *rec;
  int n, rc;
  long e;
  if (!valid_key(key)) {
    errno = EINVAL;
    return -1;
  }
  n = snprintf(head, sizeof head, "E %s %.3f %zu\n", key, at, len);
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
  if (e >= 0 && b->entries[e].state != S_LOST) { /* known: wait until its record is durable */
    uint64_t seq = b->entries[e].seq;
    while (b->durable_seq < seq) pthread_cond_wait(&b->durable, &b->mu);
    rc = b->entries[e].state == S_LOST ? -1 : 0;
    if (rc < 0) errno = b->broken_errno;
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
  b->entries[e].next_at = 0;
  rc = commit(b, rec, (size_t)n + len + 1, e, (size_t)n);
  pthread_mutex_unlock(&b->mu);
  free(rec);
  return rc < 0 ? -1 : 1;
}

/* ---- handling ---- */

int jc_inbox_next(jc_inbox *b, double now, jc_inbox_event *ev, double *wait) {
  long found = -1;
  double soonest = -1;
  off_t offset;
  size_t len;
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
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += (time_t)seconds;
  until.tv_nsec += (long)((seconds - (double)(time_t)seconds) * 1e9);
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&b->mu);
  pthread_cond_timedwait(&b->arrived, &b->mu, &until);
  pthread_mutex_unlock(&b->mu);
}

int jc_inbox_handled(jc_inbox *b, const char *key) {
  long e;
  int rc = 0;
  pthread_mutex_lock(&b->mu);
  e = find(b, key);
  if (e >= 0 && b->entries[e].state == S_PENDING) {
    rc = mark(b, 'H', key, -1);
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
    int attempts = b->entries[e].attempts + 1;
    if (mark(b, 'F', key, attempts) != 0) {
      rc = -1;
    } else if ((b->entries[e].attempts = attempts) < max_attempts) {
      b->entries[e].next_at = now + retry_after;
    } else if (mark(b, 'P', key, -1) != 0) {
      rc = -1;
    } else {
      b->entries[e].state = S_PARKED;
      b->counts.pending--;
      b->counts.parked++;
      rc = 1;
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
  if (e >= 0 && b->entries[e].state == S_PARKED) {
    rc = mark(b, 'R', key, -1) == 0 ? 1 : -1;
    if (rc == 1) {
      entry *x = &b->entries[e];
      x->state = S_PENDING;
      x->attempts = 0;
      x->next_at = 0;
      b->counts.parked--;
      b->counts.pending++;
      if (!push_pending(b, (size_t)e)) rc = -1;
    }
  }
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
  } else if (type == 'F') {
    x->attempts = n;
  } else if (type == 'P' && x->state == S_PENDING) {
    x->state = S_PARKED;
    b->counts.pending--;
    b->counts.parked++;
  } else if (type == 'R' && x->state == S_PARKED) {
    x->state = S_PENDING;
    x->attempts = 0;
    b->counts.parked--;
    b->counts.pending++;
    return push_pending(b, (size_t)e) ? 0 : -1;
  }
  return 0;
}

/* Reads every whole record; cuts a torn last one. 0, or -1 and a message. */
static int read_inbox(jc_inbox *b, const char *path, char *err, size_t errlen) {
  int fd = dup(b->fd);
  FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
  char *line = NULL;
  size_t cap = 0;
  int rc = 0;
  off_t whole = 0;
  if (f == NULL) {
    if (fd >= 0) close(fd);
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
  }
  for (;;) {
    ssize_t n = getline(&line, &cap, f);
    char type, key[JC_INBOX_KEY_MAX + 1];
    double at = 0;
    size_t len = 0;
    int count = -1, fields;
    if (n <= 0) break;                   /* the end */
    if (line[n - 1] != '\n') break;      /* a torn header */
    type = line[0];
    if (type == 'E') fields = sscanf(line, "E %64s %lf %zu", key, &at, &len) == 3;
    else if (type == 'F') fields = sscanf(line, "F %64s %d", key, &count) == 2;
    else fields = (type == 'H' || type == 'P' || type == 'R') && sscanf(line + 1, " %64s", key) == 1;
    if (!fields || !valid_key(key)) {
      snprintf(err, errlen, "%s: the record at byte %lld is damaged; mend or remove it by hand", path,
               (long long)whole);
      rc = -1;
      break;
    }
    if (type == 'E') {
      off_t body = whole + (off_t)n;
      if (fseeko(f, (off_t)len, SEEK_CUR) != 0) break;
      int c = getc(f);
      if (c == EOF) break; /* a torn body */
      if (c != '\n') {
        snprintf(err, errlen, "%s: the event at byte %lld is damaged; mend or remove it by hand", path,
                 (long long)whole);
        rc = -1;
        break;
      }
      if (replay_record(b, type, key, count, at, body, len) != 0) goto out_of_memory;
      whole = body + (off_t)len + 1;
    } else {
      if (replay_record(b, type, key, count, 0, 0, 0) != 0) goto out_of_memory;
      whole += (off_t)n;
    }
  }
  free(line);
  fclose(f);
  if (rc == 0) {
    off_t size = lseek(b->fd, 0, SEEK_END);
    if (size > whole && (ftruncate(b->fd, whole) != 0 || fdatasync(b->fd) != 0)) {
      snprintf(err, errlen, "%s: cannot cut its torn last record: %s", path, strerror(errno));
      return -1;
    }
    b->end = whole;
  }
  return rc;
out_of_memory:
  free(line);
  fclose(f);
  snprintf(err, errlen, "%s: not enough memory", path);
  return -1;
}

jc_inbox *jc_inbox_open(const char *path, char *err, size_t errlen) {
  jc_inbox *b = calloc(1, sizeof *b);
  if (b == NULL) {
    snprintf(err, errlen, "not enough memory");
    return NULL;
  }
  b->fd = jc_open_durably(path, strlen(path), O_RDWR | O_APPEND);
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
  pthread_mutex_init(&b->mu, NULL);
  pthread_cond_init(&b->work, NULL);
  pthread_cond_init(&b->durable, NULL);
  pthread_cond_init(&b->arrived, NULL);
  if (read_inbox(b, path, err, errlen) != 0) {
    jc_inbox_close(b);
    return NULL;
  }
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
  free(b);
}
