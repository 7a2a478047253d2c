/* A growable byte buffer. The forms that raise a Lua error when memory runs out are the bindings'
   (bind/support.h); these never raise. */
#ifndef JC_BUFFER_H
#define JC_BUFFER_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The one growth of an array: *p, of *cap elements of `size` bytes, made to hold at least
   `need`, doubling from `first`. 1, or 0 when memory runs out or the size would pass SIZE_MAX
   (*p and *cap are then as they were). Inline: the pure units built alone (bench/flood.c) have
   it too. */
static inline int jc_grow(void **p, size_t *cap, size_t need, size_t size, size_t first) {
  size_t n = *cap ? *cap : first;
  void *q;
  if (need <= *cap) return 1;
  while (n < need) {
    if (n > SIZE_MAX / 2 / size) return 0;
    n *= 2;
  }
  if ((q = realloc(*p, n * size)) == NULL) return 0;
  *p = q;
  *cap = n;
  return 1;
}

typedef struct {
  char *data;
  size_t len;
  size_t cap;
} jc_buf;

/* Releases the memory; the buffer is then empty and reusable. Idempotent. */
void jc_buf_free(jc_buf *b);

/* Makes room for n more bytes and returns where they go, or NULL, leaving the buffer as it was,
   when memory runs out. */
char *jc_buf_try_reserve(jc_buf *b, size_t n);

/* Appends n bytes without ever raising, for code where a Lua error must not unwind (a libcurl
   callback). Returns 0, leaving the buffer as it was, when memory runs out. */
int jc_buf_try_add(jc_buf *b, const void *p, size_t n);

#endif
