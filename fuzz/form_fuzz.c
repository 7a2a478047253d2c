/*
 * libFuzzer harness for the form parser alone (src/pure/form.c), built and linked without Lua.
 * Input: a byte that picks max_input_vars, a byte that picks max_input_nesting_level, then the
 * body (the corpus of parse_query_fuzz.c, which checks the same parser through Lua).
 *
 * For every body: jc_form_parse never fails (nor crashes, nor hangs, nor leaks); no more pairs
 * are dropped than the body has; the walk (jc_form_next) opens and closes each array once, at
 * depths that match, gives each array the sizes its OPEN step announced (its list prefix holding
 * the keys 0, 1, 2... in order), and as many scalars as jc_form_count says; jc_form_scalar finds
 * each top-level scalar under its PHP key, and no array; a second parse walks the same way.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../src/pure/form.h"

#define MAX_OPEN 256 /* deeper than any limit picked below allows */

static size_t pieces(const char *body, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++) n += body[i] == '&';
  return n + 1;
}

/* The PHP key of a step: its string, or its integer key as decimal text. */
static size_t key_text(const jc_form_step *s, const char **name, char num[32]) {
  if (s->key != NULL) {
    *name = s->key;
    return s->key_len;
  }
  *name = num;
  return (size_t)snprintf(num, 32, "%lld", (long long)s->ikey);
}

/* Walks f, checking its shape; returns a digest of the walk, so that two walks can be compared. */
static uint64_t walk(const jc_form *f) {
  struct {
    size_t seq, other, seen_seq, seen_other;
  } open[MAX_OPEN + 1];
  jc_form_cursor c;
  jc_form_step s;
  size_t scalars = 0;
  int level = 0;
  uint64_t digest = 1469598103934665603ULL;
  jc_form_sizes(f, &open[0].seq, &open[0].other);
  open[0].seen_seq = open[0].seen_other = 0;
  jc_form_start(&c, f);
  while (jc_form_next(&c, &s)) {
    digest = (digest ^ (uint64_t)s.what) * 1099511628211ULL;
    if (s.what == JC_FORM_CLOSE) {
      if (level == 0) abort(); /* a close without its open */
      if (open[level].seen_seq != open[level].seq || open[level].seen_other != open[level].other) abort();
      level--;
      continue;
    }
    if (s.depth != level) abort();
    if (s.in_seq) {
      if (s.key != NULL || s.ikey != (int64_t)open[level].seen_seq) abort(); /* the prefix is 0, 1, 2... */
      if (open[level].seen_other != 0) abort();                            /* and comes first */
      open[level].seen_seq++;
    } else {
      open[level].seen_other++;
    }
    digest = (digest ^ (uint64_t)s.ikey ^ (uint64_t)s.key_len) * 1099511628211ULL;
    if (s.what == JC_FORM_OPEN) {
      if (level == MAX_OPEN) abort();
      level++;
      open[level].seq = s.seq;
      open[level].other = s.other;
      open[level].seen_seq = open[level].seen_other = 0;
    } else {
      if (s.value == NULL && s.value_len != 0) abort();
      digest = (digest ^ (uint64_t)s.value_len) * 1099511628211ULL;
      scalars++;
    }
    if (level == 0 || (s.what == JC_FORM_OPEN && level == 1)) { /* a top-level entry */
      char num[32];
      const char *name, *value = NULL;
      size_t n = key_text(&s, &name, num), vn = 0;
      int found = jc_form_scalar(f, name, n, &value, &vn);
      if (s.what == JC_FORM_OPEN ? found : !found || vn != s.value_len || memcmp(value, s.value, vn) != 0) abort();
    }
  }
  if (level != 0) abort(); /* an open without its close */
  if (open[0].seen_seq != open[0].seq || open[0].seen_other != open[0].other) abort();
  if (scalars != jc_form_count(f)) abort();
  return digest;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const size_t vars[] = {0, 1, 2, 3, 5, 8, 1000};
  static const int depths[] = {0, 1, 2, 3, 5, 64, 64, 100};
  const char *body;
  size_t len;
  jc_form_limits lim;
  jc_form *f, *again;
  const char *value;
  size_t vn;

  if (size < 2) return 0;
  lim.max_vars = vars[data[0] % (sizeof vars / sizeof *vars)];
  lim.max_depth = depths[data[1] % (sizeof depths / sizeof *depths)];
  body = (const char *)data + 2;
  len = size - 2;

  f = jc_form_parse(body, len, &lim);
  again = jc_form_parse(body, len, &lim);
  if (f == NULL || again == NULL) abort();
  if (jc_form_dropped(f) > pieces(body, len)) abort();
  if (jc_form_dropped(f) != jc_form_dropped(again)) abort();
  if (walk(f) != walk(again)) abort();
  if (jc_form_scalar(f, "a\0b", 3, &value, &vn)) abort(); /* no top-level name holds NUL */
  jc_form_free(f);
  jc_form_free(again);
  return 0;
}
