/*
 * Hash flooding, the worst case: jc_form_parse on 64 KiB bodies whose keys all collide. The
 * form is hashed with a cheap hash (form.c: fast_hash) until a probe runs past SIP_AFTER slots,
 * then with SipHash. Here form.c is built with a cheap hash that sends every string key to one
 * slot, which no body can do to the real one: what an attacker who broke fast_hash would get.
 * Run: make bench-flood  (prints ms per parse, best of a few runs)
 */
#define _DEFAULT_SOURCE 1 /* as form.c, which this includes, asks */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <stddef.h>
#define JC_FORM_FAST_HASH all_collide
static uint64_t all_collide(uint64_t seed, const unsigned char *m, size_t n);
#include "../src/pure/form.c"

static int colliding = 1; /* 0: the real fast_hash */

static uint64_t all_collide(uint64_t seed, const unsigned char *m, size_t n) {
  return colliding ? 42 : fast_hash(seed, m, n);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ms per parse of body under lim, best of 5; *keyed: whether the parse went over to SipHash */
static double time_parse(const char *body, size_t len, const jc_form_limits *lim, int *keyed, size_t *count) {
  double best = 1e9;
  for (int r = 0; r < 5; r++) {
    double t = now();
    jc_form *f = jc_form_parse(body, len, lim);
    t = now() - t;
    if (f == NULL) {
      fprintf(stderr, "out of memory\n");
      exit(1);
    }
    *keyed = f->keyed;
    *count = jc_form_count(f);
    jc_form_free(f);
    if (t < best) best = t;
  }
  return best * 1e3;
}

/* n pairs "NAME=1&", each name `width` bytes: prefix + distinct digits, into buf (64 KiB) */
static size_t make_body(char *buf, size_t cap, const char *prefix, size_t n, int width) {
  size_t len = 0;
  for (size_t i = 0; i < n && len + (size_t)width + 4 < cap; i++)
    len += (size_t)snprintf(buf + len, cap - len, "%s%0*zu=1&", prefix, width - (int)strlen(prefix), i);
  return len;
}

/* PHP's own flood: names made of "Ez" and "FY", which collide under DJBX33A */
static size_t make_djb_body(char *buf, size_t cap, size_t n) {
  size_t len = 0;
  for (size_t i = 0; i < n; i++) {
    for (int b = 0; b < 15; b++) {
      memcpy(buf + len, (i >> b) & 1 ? "FY" : "Ez", 2);
      len += 2;
    }
    memcpy(buf + len, "=1&", 3);
    len += 3;
    if (len + 40 > cap) break;
  }
  return len;
}

/* The parse went over to SipHash and still holds what it should: each name's last value. */
static void check(const char *body, size_t len, const jc_form_limits *lim) {
  jc_form *f = jc_form_parse(body, len, lim);
  size_t n = 0;
  if (f == NULL || !f->keyed) {
    fprintf(stderr, "flood: the parse did not go over to SipHash\n");
    exit(1);
  }
  for (size_t pos = 0; pos < len;) {
    const char *amp = memchr(body + pos, '&', len - pos), *eq = memchr(body + pos, '=', len - pos);
    const char *v;
    size_t vn;
    if (!jc_form_scalar(f, body + pos, (size_t)(eq - body) - pos, &v, &vn) || vn != 1 || v[0] != '1') {
      fprintf(stderr, "flood: a name lost after the switch\n");
      exit(1);
    }
    n++;
    pos = (size_t)(amp - body) + 1;
  }
  if (n != jc_form_count(f)) {
    fprintf(stderr, "flood: %zu names, %zu vars\n", n, jc_form_count(f));
    exit(1);
  }
  jc_form_free(f);
}

static void report(const char *what, const char *body, size_t len, const jc_form_limits *lim) {
  int keyed;
  size_t count;
  double ms = time_parse(body, len, lim, &keyed, &count);
  printf("  %-56s %6zu B %6zu vars %8.3f ms%s\n", what, len, count, ms, keyed ? "  (went over to SipHash)" : "");
}

int main(void) {
  static char body[65536];
  jc_form_limits php = {1000, 64}, unlimited = {0, 64};
  size_t len;
  printf("jc_form_parse on 64 KiB bodies of colliding keys, best of 5:\n");
  len = make_body(body, sizeof body, "k", 1000, 60);
  colliding = 0;
  report("1000 vars, 60-byte keys, the real hash", body, len, &php);
  colliding = 1;
  report("1000 vars, 60-byte keys, every key colliding", body, len, &php);
  len = make_body(body, sizeof body, "k", 8000, 5);
  report("8000 vars, no max_input_vars, every key colliding", body, len, &unlimited);
  check(body, len, &unlimited);
  len = 0;
  for (size_t i = 0; i < 7000 && len + 16 < sizeof body; i++)
    len += (size_t)snprintf(body + len, sizeof body - len, "a[k%04zu]=1&", i);
  report("a[kNNNN]=1 as many as fit, no limit, every key colliding", body, len, &unlimited);
  colliding = 0;
  len = make_djb_body(body, sizeof body, 2000);
  report("1000 vars colliding under PHP's DJBX33A, the real hash", body, len, &php);
  return 0;
}
