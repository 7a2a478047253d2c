/*
 * PHP form bytes -> a tree, as PHP 8 builds $_POST (the rules: form.h), and a walk over it;
 * parse_query, its Lua face, is bind/form.c.
 *
 * The tree: every PHP array is an `array` record, every key of one an `entry`, both in flat
 * vectors and named by index. An array keeps its entries in insertion order as a linked list;
 * all entries of all arrays share one open-addressing hash table keyed by (array, key). Keys and
 * values point into one copy of the body, decoded in place (decoding only shrinks). An entry
 * that a later pair replaces by an array keeps its place; an array replaced by a scalar is left
 * unreachable; a top-level variable that PHP deletes (nesting too deep) is marked dead and stays
 * in its list and its slot, where the next entry of the same key takes its slot. Each pair
 * costs a hash lookup per level, so a body costs time and memory linear in its length.
 */
#define _DEFAULT_SOURCE 1 /* getentropy */
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "buffer.h"
#include "form.h"

#define NONE SIZE_MAX
#define ROOT 0

typedef struct {
  uint64_t hash;   /* of (parent, key): where the hash table puts it */
  size_t parent;   /* the array that holds it */
  size_t next;     /* the parent's next entry in insertion order, or NONE */
  const char *key; /* a string key's bytes; NULL for an integer key */
  size_t key_len;
  int64_t ikey;
  union {
    struct {
      const char *p;
      size_t n;
    } s;        /* a scalar */
    size_t arr; /* an array */
  } v;
  unsigned char is_array;
  unsigned char dead;   /* deleted by PHP: only top-level entries, see register_pair */
  unsigned char in_seq; /* in its array's list prefix: Lua's key is ikey + 1 (set by finish) */
} entry;

typedef struct {
  size_t first, last; /* entries in insertion order, or NONE */
  int64_t next_free;  /* PHP's nNextFreeElement: the key an append takes */
  unsigned char has_next_free; /* no integer key yet: an append takes 0 */
  unsigned char reachable;     /* from the root, through live entries (set by finish) */
  size_t live;                 /* live entries (set by finish) */
  size_t prefix;               /* how many of them, from the first, have the keys 0, 1, 2... */
  size_t holder;               /* the entry that holds it (NONE for the root) */
} array;

typedef struct {
  const char *s; /* a string key's bytes */
  size_t n;
  int64_t i;     /* an integer key */
  int is_int;
} key;

/* The entries that hold arrays, found for the last pairs' names, by level: consecutive names
   share their first levels ("items[0][id]", "items[0][sum]"), and these skip the hash for
   them. (arr, k) -> at stays true until a top-level variable is deleted (delete_top). */
#define PATH_CACHE 8
typedef struct {
  size_t arr; /* NONE: nothing cached */
  size_t at;
  key k;
} path_step;

struct jc_form {
  char *buf; /* the body, each pair decoded in place */
  /* e, a and slot start in the block that holds the form (one malloc a parse); a vector that
     outgrows it moves to memory of its own, and its flag says so */
  unsigned char e_own, a_own, slot_own;
  entry *e;
  size_t ne, ecap;
  array *a;
  size_t na, acap;
  size_t *slot; /* the hash table: entry index + 1, or 0 for an empty slot */
  size_t mask;  /* slots - 1; slots is a power of 2 */
  size_t used;  /* slots in use */
  uint64_t k0, k1; /* the SipHash key; k0 seeds fast_hash too */
  int keyed;       /* 1: the table is hashed with SipHash (see fast_hash) */
  size_t max_vars;
  int max_depth;
  int oom;
  size_t dropped;
  size_t count;
  path_step path[PATH_CACHE];
};

/* ---- keys ---- */

/* A key as PHP's symbol tables read it: the canonical decimal of a 64-bit integer ("0", "-5",
   but not "05", "-0", "+5" or 2^63) is that integer (zend_hash's ZEND_HANDLE_NUMERIC_STR). */
static inline key make_key(const char *s, size_t n) {
  key k;
  size_t i = 0;
  uint64_t v = 0;
  int neg;
  k.s = s;
  k.n = n;
  k.i = 0;
  k.is_int = 0;
  if (n == 0 || ((s[0] < '0' || s[0] > '9') && s[0] != '-')) return k; /* most keys: a name */
  neg = s[0] == '-';
  i = (size_t)neg;
  if (n - i == 0 || n - i > 19) return k; /* 19 digits cannot overflow v */
  if (s[i] == '0' && n > 1) return k;     /* a leading zero, or "-0" */
  for (; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return k;
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  if (v > (uint64_t)INT64_MAX + (uint64_t)neg) return k;
  k.is_int = 1;
  if (!neg) k.i = (int64_t)v;
  else k.i = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
  return k;
}

/* ---- hashing: SipHash-1-3 under a key drawn for each parse ---- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                     \
  do {                                                               \
    v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);        \
    v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                           \
    v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                           \
    v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);        \
  } while (0)

static uint64_t load64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

static uint64_t siphash(uint64_t k0, uint64_t k1, const unsigned char *m, size_t n) {
  uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
  uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
  uint64_t b = (uint64_t)n << 56;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w = load64(m + i);
    v3 ^= w;
    SIPROUND;
    v0 ^= w;
  }
  for (int shift = 0; i < n; i++, shift += 8) b |= (uint64_t)m[i] << shift;
  v3 ^= b;
  SIPROUND;
  v0 ^= b;
  v2 ^= 0xff;
  SIPROUND;
  SIPROUND;
  SIPROUND;
  return v0 ^ v1 ^ v2 ^ v3;
}

/* A bijection of 64-bit words (murmur3's finalizer): spreads array indexes over the table. */
static uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

/* The everyday hash: a few multiplies a word, seeded by the process's key. It is not a
   keyed PRF: a body could be made whose keys all collide under it, so a probe longer than
   SIP_AFTER slots turns the parse over to SipHash for good (lookup), and no body can
   make a lookup cost more than SIP_AFTER probes before SipHash takes over. */
static inline uint64_t fast_hash(uint64_t seed, const unsigned char *m, size_t n) {
  uint64_t h = seed ^ ((uint64_t)n * 0x9e3779b97f4a7c15ULL), w = 0;
  size_t i = 0;
  for (; i + 8 < n; i += 8) {
    memcpy(&w, m + i, 8);
    h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 31;
  }
  if (n >= 8) { /* the last 8 bytes, overlapping the word before */
    memcpy(&w, m + n - 8, 8);
  } else if (n >= 4) { /* the first 4 and the last 4, overlapping */
    uint32_t a, b;
    memcpy(&a, m, 4);
    memcpy(&b, m + n - 4, 4);
    w = (uint64_t)a << 32 | b;
  } else if (n > 0) {
    w = (uint64_t)m[0] << 16 | (uint64_t)m[n / 2] << 8 | m[n - 1];
  }
  return mix(h ^ w);
}

#ifndef JC_FORM_FAST_HASH /* bench/flood.c puts a hash of its own here, to measure the worst */
#define JC_FORM_FAST_HASH fast_hash
#endif

static inline uint64_t key_hash(const jc_form *f, size_t arr, const key *k) {
  uint64_t h;
  if (!f->keyed) {
    /* an integer key: a bijection of it, which the seed hides */
    if (k->is_int) h = mix((uint64_t)k->i ^ f->k0);
    else h = JC_FORM_FAST_HASH(f->k0, (const unsigned char *)k->s, k->n);
  } else if (k->is_int) {
    unsigned char b[8];
    uint64_t u = (uint64_t)k->i;
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(u >> 8 * i);
    h = siphash(f->k0, f->k1 ^ 1, b, 8);
  } else {
    h = siphash(f->k0, f->k1, (const unsigned char *)k->s, k->n);
  }
  return h ^ (uint64_t)arr * 0x9e3779b97f4a7c15ULL; /* h is mixed already: arrays apart */
}

/* The process's secret key, drawn once (a system call per parse cost more than the parse of a
   small body); each parse then keys its table with it and a count of its own. */
static uint64_t seed0, seed1;
static pthread_once_t seeded = PTHREAD_ONCE_INIT;

static void draw_seed(void) {
  unsigned char k[16];
  if (getentropy(k, sizeof k) == 0) {
    seed0 = load64(k);
    seed1 = load64(k + 8);
  } else { /* not expected on Linux; a key an attacker still does not know in advance */
    struct timespec t = {0, 0};
    clock_gettime(CLOCK_MONOTONIC, &t);
    seed0 = mix((uint64_t)(uintptr_t)&t ^ (uint64_t)t.tv_nsec);
    seed1 = mix((uint64_t)t.tv_sec ^ ((uint64_t)(uintptr_t)&seed0 << 16));
  }
}

static void draw_key(jc_form *f) {
  static _Atomic uint64_t parses;
  pthread_once(&seeded, draw_seed);
  f->k0 = seed0 ^ mix(++parses);
  f->k1 = seed1;
}

/* ---- the table ---- */

static int same_key(const entry *e, const key *k) {
  if (k->is_int) return e->key == NULL && e->ikey == k->i;
  return e->key != NULL && e->key_len == k->n && memcmp(e->key, k->s, k->n) == 0;
}

/* Probes beyond which a lookup hands the table to SipHash. At a load of at most 1/2, an honest
   body under a decent hash comes nowhere near it. */
#ifndef SIP_AFTER /* bench/flood.c may lift it, to show what it prevents */
#define SIP_AFTER 32
#endif

/* The slot that holds (arr, k), live or dead, or the empty slot where it would go; *probes: the
   slots looked at past the first. */
static inline size_t find_slot(const jc_form *f, size_t arr, const key *k, uint64_t h, size_t *probes) {
  size_t i = (size_t)h & f->mask, n = 0;
  for (;; i = (i + 1) & f->mask, n++) {
    size_t s = f->slot[i];
    const entry *e;
    if (s == 0) break;
    e = &f->e[s - 1];
    if (e->hash == h && e->parent == arr && same_key(e, k)) break;
  }
  *probes = n;
  return i;
}

/* p grown to twice *cap elements of size `size`; NULL when it cannot be. p is freed (realloc'd)
   only when *own, and the result is always the vector's own. */
static void *grow(void *p, size_t *cap, size_t size, unsigned char *own) {
  size_t n = *cap ? *cap : 8;
  void *q;
  if (*own) return jc_grow(&p, cap, *cap + 1, size, 16) ? p : NULL;
  if (n > SIZE_MAX / 2 / size) return NULL;
  q = malloc(2 * n * size); /* the first storage is not the vector's own: copied out */
  if (q != NULL && *cap > 0) memcpy(q, p, *cap * size);
  if (q != NULL) {
    *cap = 2 * n;
    *own = 1;
  }
  return q;
}

/* The table at `cap` slots; with `rekey`, each entry's hash recomputed first (under SipHash,
   once f->keyed is set). Dead entries keep their slots: a later entry of the key takes it. */
static int rebuild(jc_form *f, size_t cap, int rekey) {
  size_t *s = calloc(cap, sizeof *s);
  if (s == NULL) return 0;
  for (size_t i = 0; i <= f->mask; i++) {
    size_t j;
    entry *e;
    if (f->slot[i] == 0) continue;
    e = &f->e[f->slot[i] - 1];
    if (rekey) {
      key k;
      k.s = e->key;
      k.n = e->key_len;
      k.i = e->ikey;
      k.is_int = e->key == NULL;
      e->hash = key_hash(f, e->parent, &k);
    }
    j = (size_t)e->hash & (cap - 1);
    while (s[j] != 0) j = (j + 1) & (cap - 1);
    s[j] = f->slot[i];
  }
  if (f->slot_own) free(f->slot);
  f->slot = s;
  f->slot_own = 1;
  f->mask = cap - 1;
  return 1;
}

static int rehash(jc_form *f) {
  size_t cap = f->mask + 1;
  if (cap > SIZE_MAX / 2 / sizeof *f->slot) return 0;
  return rebuild(f, 2 * cap, 0);
}

/* The slot of (arr, k) as find_slot gives it, and *h its hash; a probe too long turns the
   table over to SipHash first. NONE (and f->oom) when memory runs out. */
static inline size_t lookup(jc_form *f, size_t arr, const key *k, uint64_t *h) {
  size_t probes, slot;
  *h = key_hash(f, arr, k);
  slot = find_slot(f, arr, k, *h, &probes);
  if (probes > SIP_AFTER && !f->keyed) {
    f->keyed = 1;
    if (!rebuild(f, f->mask + 1, 1)) {
      f->oom = 1;
      return NONE;
    }
    *h = key_hash(f, arr, k);
    slot = find_slot(f, arr, k, *h, &probes);
  }
  return slot;
}

/* Room for one more entry, array and slot; 0 (and f->oom) when memory runs out. */
static inline int reserve(jc_form *f) {
  if (f->ne == f->ecap) {
    entry *e = grow(f->e, &f->ecap, sizeof *e, &f->e_own);
    if (e == NULL) goto oom;
    f->e = e;
  }
  if (f->na == f->acap) {
    array *a = grow(f->a, &f->acap, sizeof *a, &f->a_own);
    if (a == NULL) goto oom;
    f->a = a;
  }
  if (2 * (f->used + 1) > f->mask + 1 && !rehash(f)) goto oom;
  return 1;
oom:
  f->oom = 1;
  return 0;
}

static size_t new_array(jc_form *f) { /* room reserved */
  array *a = &f->a[f->na];
  memset(a, 0, sizeof *a);
  a->first = a->last = a->holder = NONE;
  return f->na++;
}

/* A new entry for k in arr (holding ""), put in `slot`, which is empty or held k's dead entry. */
static inline size_t add_entry(jc_form *f, size_t arr, const key *k, uint64_t h, size_t slot) {
  size_t i = f->ne++;
  entry *e = &f->e[i];
  array *a = &f->a[arr];
  e->hash = h;
  e->parent = arr;
  e->next = NONE;
  e->key = k->is_int ? NULL : k->s;
  e->key_len = k->n;
  e->ikey = k->i;
  e->v.s.p = "";
  e->v.s.n = 0;
  e->is_array = 0;
  e->dead = 0;
  e->in_seq = 0;
  if (f->slot[slot] == 0) f->used++;
  f->slot[slot] = i + 1;
  if (a->first == NONE) a->first = i;
  else f->e[a->last].next = i;
  a->last = i;
  if (k->is_int && (!a->has_next_free || k->i >= a->next_free)) {
    a->next_free = k->i < INT64_MAX ? k->i + 1 : INT64_MAX;
    a->has_next_free = 1;
  }
  return i;
}

/* The live entry of k in arr, made when missing: PHP's zend_symtable_str_update. NONE when
   memory runs out. Leaves room for one more array. */
static inline size_t entry_for(jc_form *f, size_t arr, const key *k) {
  uint64_t h;
  size_t slot;
  if (!reserve(f) || (slot = lookup(f, arr, k, &h)) == NONE) return NONE;
  if (f->slot[slot] != 0 && !f->e[f->slot[slot] - 1].dead) return f->slot[slot] - 1;
  return add_entry(f, arr, k, h, slot);
}

/* entry_for, for a key that holds an array at level d of a name, through f->path. */
static inline size_t path_entry(jc_form *f, int d, size_t arr, const key *k) {
  size_t at;
  path_step *p = d < PATH_CACHE ? &f->path[d] : NULL;
  if (p != NULL && p->arr == arr && p->k.is_int == k->is_int &&
      (k->is_int ? p->k.i == k->i : p->k.n == k->n && memcmp(p->k.s, k->s, k->n) == 0)) {
    if (!reserve(f)) return NONE; /* entry_for's room for one more array */
    return p->at;
  }
  at = entry_for(f, arr, k);
  if (p != NULL && at != NONE) {
    p->arr = arr;
    p->at = at;
    p->k = *k;
  }
  return at;
}

/* The key an append to arr takes: PHP's nNextFreeElement. */
static key append_key(const jc_form *f, size_t arr) {
  key k;
  k.s = NULL;
  k.n = 0;
  k.is_int = 1;
  k.i = f->a[arr].has_next_free ? f->a[arr].next_free : 0;
  return k;
}

/* A new entry at the end of arr under the next integer key: PHP's zend_hash_next_index_insert.
   NONE when memory runs out, or when PHP refuses: the next key (9223372036854775807) is taken.
   Leaves room for one more array. */
static size_t append(jc_form *f, size_t arr) {
  key k = append_key(f, arr);
  uint64_t h;
  size_t slot;
  if (!reserve(f)) return NONE;
  if ((slot = lookup(f, arr, &k, &h)) == NONE) return NONE;
  if (f->slot[slot] != 0 && !f->e[f->slot[slot] - 1].dead) return NONE;
  return add_entry(f, arr, &k, h, slot);
}

/* The array entry i holds, made (in its place) when it holds a scalar. */
static size_t make_array(jc_form *f, size_t i) {
  if (!f->e[i].is_array) {
    size_t a = new_array(f);
    f->a[a].holder = i;
    f->e[i].is_array = 1;
    f->e[i].v.arr = a;
  }
  return f->e[i].v.arr;
}

static void set_scalar(jc_form *f, size_t i, const char *p, size_t n) {
  f->e[i].is_array = 0;
  f->e[i].v.s.p = p;
  f->e[i].v.s.n = n;
}

/* ---- PHP's reading of one pair: php_register_variable_ex ---- */

/* Deletes the top-level variable name[0..n), as PHP does when a name nests too deep. */
static void delete_top(jc_form *f, const char *name, size_t n) {
  key k = make_key(name, n);
  uint64_t h;
  size_t slot = lookup(f, ROOT, &k, &h);
  if (slot != NONE && f->slot[slot] != 0) f->e[f->slot[slot] - 1].dead = 1;
  for (int d = 0; d < PATH_CACHE; d++) f->path[d].arr = NONE;
}

/* Which of the cookie prefixes a name or key s[0..n) starts with: "__Host-" and "__Secure-"
   mean something to browsers, and PHP keeps a name from gaining one by its mangling. */
enum { HOST_PREFIX = 1, SECURE_PREFIX = 2 };
static unsigned cookie_prefix(const char *s, size_t n) {
  if (n < 7 || s[0] != '_' || s[1] != '_') return 0;
  if (memcmp(s, "__Host-", 7) == 0) return HOST_PREFIX;
  if (n >= 9 && memcmp(s, "__Secure-", 9) == 0) return SECURE_PREFIX;
  return 0;
}

/* PHP's php_is_forbidden_variable_name: key k (the mangled top-level name, or a key below it)
   starts with a cookie prefix that the name as sent, `sent` (cookie_prefix of it, leading spaces
   dropped, before mangling), does not. PHP then leaves the pair there: "a[__Host-x]=1" makes
   a, and an empty one. */
static int forbidden(const key *k, unsigned sent) {
  return !k->is_int && (cookie_prefix(k->s, k->n) & ~sent) != 0;
}

/* Whether the bracket groups of name[0..n), from the '[' at ip, number more than max_depth as
   PHP's walk counts them (an unmatched '[' is a level, and anything but '[' after a ']' ends
   the name): whether the walk could get to its nesting check at level max_depth + 1. By the
   bytes alone; reaches_limit says whether it does. */
static int too_deep(const char *name, size_t n, size_t ip, int max_depth) {
  for (int level = 1; ip < n; level++) { /* name[ip] is a '[' */
    if (level > max_depth) return 1;
    /* the group ends at the next ']' ("[ ]" and "[]" as well) */
    const char *close = memchr(name + ip + 1, ']', n - ip - 1);
    if (close == NULL) return 0;
    ip = (size_t)(close - name) + 1;
    if (ip < n && name[ip] != '[') return 0;
  }
  return 0;
}

enum { GROUP_KEY, GROUP_APPEND, GROUP_OPEN };

/* The bracket group at name[*ip] (a '['), as PHP reads it: "[]", or a single blank in brackets,
   appends (GROUP_APPEND); any other runs to the next ']' and is the key *k (GROUP_KEY); a '['
   with no ']' after it is not an index (GROUP_OPEN, *ip unchanged). *ip: past the ']'. */
static inline int read_group(const char *name, size_t n, size_t *ip, key *k) {
  size_t start = *ip + 1, i = start;
  const char *close;
  if (i < n && jc_form_is_space(name[i])) i++;
  if (i < n && name[i] == ']') {
    *ip = i + 1;
    *k = make_key("", 0); /* unused: the level appends */
    return GROUP_APPEND;
  }
  close = memchr(name + i, ']', n - i);
  if (close == NULL) return GROUP_OPEN;
  *ip = (size_t)(close - name) + 1;
  *k = make_key(name + start, (size_t)(close - name) - start);
  return GROUP_KEY;
}

/* Whether PHP's walk over a name that too_deep found deep enough (top-level part name[0..var_len),
   mangled) gets to level max_depth + 1, where PHP deletes the top-level variable. The walk
   leaves earlier, deleting nothing, at a level where an append is refused (the array holds the
   key 9223372036854775807 already) or a key is forbidden: register_pair's walk, which then
   runs. An append is refused only in an array made before this pair: one the walk makes is
   empty. Changes nothing in the tree (a lookup may rehash it); 0 when memory runs out (f->oom).
   PHP builds the levels before it finds a name too deep, and then deletes the whole top-level
   variable, which leaves nothing of them; so a name this finds too deep builds nothing, and a
   body of such names costs no memory. */
static int reaches_limit(jc_form *f, const char *name, size_t n, size_t var_len, unsigned sent) {
  size_t arr = ROOT, ip = var_len, slot;
  key index = make_key(name, var_len), next;
  int append_here = 0;
  int made = 0; /* arr is made by this walk */
  uint64_t h;
  for (int level = 1; level <= f->max_depth; level++) { /* name[ip] is a '[' */
    int g = read_group(name, n, &ip, &next);
    if (g == GROUP_OPEN) return 0;
    if (append_here) {
      if (!made) {
        key k = append_key(f, arr);
        if ((slot = lookup(f, arr, &k, &h)) == NONE) return 0;
        if (f->slot[slot] != 0 && !f->e[f->slot[slot] - 1].dead) return 0; /* refused */
      }
      made = 1;
    } else {
      if (forbidden(&index, sent)) return 0;
      if (!made) {
        const entry *e;
        if ((slot = lookup(f, arr, &index, &h)) == NONE) return 0;
        e = f->slot[slot] != 0 ? &f->e[f->slot[slot] - 1] : NULL;
        if (e != NULL && !e->dead && e->is_array) arr = e->v.arr;
        else made = 1;
      }
    }
    index = next;
    append_here = g == GROUP_APPEND;
    if (ip >= n || name[ip] != '[') return 0;
  }
  return 1;
}

/* Stores the value val[0..vlen) under the decoded name name[0..n) (cut at its first NUL by the
   caller), which it mangles in place. The walk is PHP's: at each level, the nesting check as it
   is entered, then the level's group read, then the step for the key in hand (an append, or
   the forbidden check and a lookup), which may leave the walk with nothing stored. */
static void register_pair(jc_form *f, char *name, size_t n, const char *val, size_t vlen) {
  size_t var_len, ip, at;
  size_t arr = ROOT; /* the array that `index` is a key of */
  key index;
  int append_here = 0; /* index is "[]": append to arr */
  int level = 0;
  unsigned sent; /* the cookie prefix of the name as sent */

  while (n > 0 && name[0] == ' ') {
    name++;
    n--;
  }
  sent = cookie_prefix(name, n);
  for (var_len = 0; var_len < n && name[var_len] != '['; var_len++)
    if (name[var_len] == ' ' || name[var_len] == '.') name[var_len] = '_';
  if (var_len == 0) return; /* no name: PHP drops it */
  /* each level takes a byte at least: a short rest cannot nest too deep */
  if (n - var_len > (size_t)f->max_depth && too_deep(name, n, var_len, f->max_depth) &&
      reaches_limit(f, name, n, var_len, sent)) {
    delete_top(f, name, var_len);
    f->dropped++;
    return;
  }
  if (f->oom) return;
  index = make_key(name, var_len);

  for (ip = var_len; ip < n;) { /* name[ip] is a '[' */
    key next;
    int g;
    if (++level > f->max_depth) { /* reaches_limit found it first: not reached */
      delete_top(f, name, var_len);
      f->dropped++;
      return;
    }
    g = read_group(name, n, &ip, &next);
    if (g == GROUP_OPEN) {
      /* Not an index. At the first level the whole name is one plain variable, the '[' and
         every ' ', '.' and '[' after it turned into '_'. Deeper down, the key in hand stays. */
      if (level == 1) {
        for (size_t i = var_len; i < n; i++)
          if (name[i] == ' ' || name[i] == '.' || name[i] == '[') name[i] = '_';
        index = make_key(name, n);
      }
      break;
    }
    if (append_here) at = append(f, arr);
    else if (forbidden(&index, sent)) return;
    else at = path_entry(f, level - 1, arr, &index);
    if (at == NONE) return; /* out of memory (f->oom), or an append PHP refuses */
    arr = make_array(f, at);
    index = next;
    append_here = g == GROUP_APPEND;
    if (ip < n && name[ip] != '[') break; /* the rest is ignored */
  }
  if (append_here) at = append(f, arr);
  else if (forbidden(&index, sent)) return;
  else at = entry_for(f, arr, &index);
  if (at != NONE) set_scalar(f, at, val, vlen);
}

/* ---- the body ---- */

/* The bytes the body scan stops at: what ends a name or a value, and what decodes. */
enum { AMP = 1, EQ = 2, PLUS = 4, PCT = 8, NUL = 16 };
static const unsigned char byte_class[256] = {['&'] = AMP, ['='] = EQ, ['+'] = PLUS, ['%'] = PCT, [0] = NUL};
/* A hex digit's value + 1; 0 for any other byte ('&' and '=' among them). */
static const unsigned char hex1[256] = {
    ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,  ['7'] = 8,
    ['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
    ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16};

/* php_url_decode in place, from s[i] up to the first byte of class `stop`: '+' is a space,
   "%XX" a byte, any other '%' itself. s[len] must be a stop byte (the parse puts '&' there), so
   that the loops need no bound: a '%' before it finds no hex digit there, and reads no further.
   Returns where it stopped; *end: where the decoded bytes end; *nul: where the first NUL byte
   went (raw or %00), or NONE. One pass finds the end of a name or value and decodes it; a '%'
   next to a stop byte stays itself, as when the part is decoded on its own, since no stop byte
   is a hex digit. */
static inline size_t decode_to(char *s, size_t i, unsigned stop, size_t *end, size_t *nul) {
  const unsigned char *u = (const unsigned char *)s;
  size_t o;
  *nul = NONE;
  while (!(byte_class[u[i]] & (stop | PLUS | PCT | NUL))) i++; /* nothing to move yet */
  o = i;
  for (;;) {
    unsigned c = byte_class[u[i]];
    if (c == 0) {
      s[o++] = s[i++];
    } else if (c & stop) {
      break;
    } else if (c == PLUS) {
      s[o++] = ' ';
      i++;
    } else if (c == PCT && hex1[u[i + 1]] && hex1[u[i + 2]]) {
      s[o] = (char)((hex1[u[i + 1]] - 1) << 4 | (hex1[u[i + 2]] - 1));
      if (s[o] == '\0' && *nul == NONE) *nul = o;
      o++;
      i += 3;
    } else {
      if (c == NUL && *nul == NONE) *nul = o;
      s[o++] = s[i++];
    }
  }
  *end = o;
  return i;
}

/* Whether PHP would store something under the decoded name: it is not empty once cut at NUL
   and stripped of leading spaces, and does not start with '['. */
static int keeps_name(const char *name, size_t n) {
  size_t i = 0;
  while (i < n && name[i] == ' ') i++;
  return i < n && name[i] != '\0' && name[i] != '[';
}

/* Which arrays the root reaches, the sizes of their list prefixes, and the variables held. */
static void finish(jc_form *f) {
  f->a[ROOT].reachable = 1;
  for (size_t a = 0; a < f->na; a++) { /* an array's index is above its parent's */
    array *r = &f->a[a];
    if (!r->reachable) continue;
    for (size_t i = r->first; i != NONE; i = f->e[i].next) {
      const entry *e = &f->e[i];
      if (e->dead) continue;
      if (r->prefix == r->live && e->key == NULL && e->ikey == (int64_t)r->live) {
        r->prefix++;
        f->e[i].in_seq = 1;
      }
      r->live++;
      if (e->is_array) f->a[e->v.arr].reachable = 1;
      else f->count++;
    }
  }
}

/* n rounded up to a multiple of 16, so that what follows it in the block is aligned. */
static size_t align16(size_t n) {
  return (n + 15) & ~(size_t)15;
}

jc_form *jc_form_parse(const char *body, size_t len, const jc_form_limits *limits) {
  static const jc_form_limits defaults = JC_FORM_LIMITS_DEFAULT;
  /* First sizes from the length: a pair of a notification takes about 20 bytes of body; no
     more than 256 entries up front, so that a large body of few variables costs little. */
  size_t ecap = len / 16 + 8 < 256 ? len / 16 + 8 : 256, acap = ecap / 4 + 4, slots = 64;
  size_t pos = 0, pairs = 0, at_e, at_a, at_s, total;
  int past_limit = 0;
  jc_form *f;
  char *block;
  while (slots < 2 * ecap) slots *= 2;
  if (len > SIZE_MAX / 2) return NULL;
  at_e = align16(sizeof *f) + align16(len + 1);
  at_a = at_e + ecap * sizeof(entry);
  at_s = at_a + acap * sizeof(array);
  total = at_s + slots * sizeof(size_t);
  if ((block = malloc(total)) == NULL) return NULL;
  f = (jc_form *)(void *)block;
  memset(f, 0, sizeof *f);
  for (int d = 0; d < PATH_CACHE; d++) f->path[d].arr = NONE;
  if (limits == NULL) limits = &defaults;
  f->max_vars = limits->max_vars;
  f->max_depth = limits->max_depth;
  draw_key(f);
  f->buf = block + align16(sizeof *f);
  f->e = (entry *)(void *)(block + at_e);
  f->ecap = ecap;
  f->a = (array *)(void *)(block + at_a);
  f->acap = acap;
  f->slot = (size_t *)(void *)(block + at_s);
  memset(f->slot, 0, slots * sizeof *f->slot);
  f->mask = slots - 1;
  if (!reserve(f)) goto fail;
  if (len > 0) memcpy(f->buf, body, len);
  f->buf[len] = '&'; /* decode_to's sentinel; the NUL again once parsed */
  new_array(f); /* the root */

  /* add_post_var: each piece between '&' is a pair, empty ones too; a final '&' ends it. */
  while (pos < len) {
    char *piece = f->buf + pos;
    size_t name_end, nul, stop = decode_to(f->buf, pos, AMP | EQ, &name_end, &nul);
    if (past_limit) {
      const char *amp = stop < len ? memchr(f->buf + stop, '&', len - stop) : NULL;
      f->dropped += keeps_name(piece, name_end - pos);
      stop = amp ? (size_t)(amp - f->buf) : len;
    } else {
      size_t val = stop, val_end = stop, val_nul;
      if (stop < len && f->buf[stop] == '=') stop = decode_to(f->buf, val = stop + 1, AMP, &val_end, &val_nul);
      /* the name is a C string: it ends at its first NUL */
      register_pair(f, piece, (nul != NONE ? nul : name_end) - pos, f->buf + val, val_end - val);
      if (f->oom) goto fail;
      /* add_post_vars counts a pair after storing it, and stops once past the limit */
      if (++pairs > f->max_vars && f->max_vars != 0) past_limit = 1;
    }
    pos = stop + 1;
  }
  f->buf[len] = '\0';
  finish(f);
  return f;
fail:
  jc_form_free(f);
  return NULL;
}

void jc_form_free(jc_form *f) {
  if (f == NULL) return;
  if (f->e_own) free(f->e);
  if (f->a_own) free(f->a);
  if (f->slot_own) free(f->slot);
  free(f); /* the block, the body's copy in it */
}

size_t jc_form_dropped(const jc_form *f) {
  return f->dropped;
}

size_t jc_form_count(const jc_form *f) {
  return f->count;
}

int jc_form_scalar(const jc_form *f, const char *name, size_t n, const char **value, size_t *value_len) {
  key k = make_key(n > 0 ? name : "", n);
  size_t probes; /* not bounded by SIP_AFTER here, only by the table: callers ask a few names */
  size_t slot = find_slot(f, ROOT, &k, key_hash(f, ROOT, &k), &probes);
  const entry *e;
  if (f->slot[slot] == 0) return 0;
  e = &f->e[f->slot[slot] - 1];
  if (e->dead || e->is_array) return 0;
  *value = e->v.s.p;
  *value_len = e->v.s.n;
  return 1;
}

/* ---- the walk ---- */

void jc_form_sizes(const jc_form *f, size_t *seq, size_t *other) {
  const array *r = &f->a[ROOT];
  *seq = r->prefix;
  *other = r->live - r->prefix;
}

void jc_form_start(jc_form_cursor *c, const jc_form *f) {
  c->f = f;
  c->arr = ROOT;
  c->at = f->a[ROOT].first;
  c->depth = 0;
}

static void step_key(jc_form_step *s, const entry *e, int depth) {
  s->depth = depth;
  s->in_seq = e->in_seq;
  s->key = e->key;
  s->key_len = e->key ? e->key_len : 0;
  s->ikey = e->ikey;
}

/* Depth first without recursion, so that no nesting the limits allow can exhaust the C stack:
   the way back up is each array's holder. */
int jc_form_next(jc_form_cursor *c, jc_form_step *s) {
  const jc_form *f = c->f;
  for (;;) {
    const entry *e;
    if (c->at == NONE) { /* this table is done */
      size_t holder;
      if (c->arr == ROOT) return 0;
      holder = f->a[c->arr].holder;
      c->arr = f->e[holder].parent;
      c->at = f->e[holder].next;
      c->depth--;
      s->what = JC_FORM_CLOSE;
      return 1;
    }
    e = &f->e[c->at];
    if (e->dead) {
      c->at = e->next;
    } else if (e->is_array) {
      const array *r = &f->a[e->v.arr];
      step_key(s, e, c->depth);
      s->what = JC_FORM_OPEN;
      s->seq = r->prefix;
      s->other = r->live - r->prefix;
      c->arr = e->v.arr;
      c->at = r->first;
      c->depth++;
      return 1;
    } else {
      step_key(s, e, c->depth);
      s->what = JC_FORM_SCALAR;
      s->value = e->v.s.p;
      s->value_len = e->v.s.n;
      c->at = e->next;
      return 1;
    }
  }
}
