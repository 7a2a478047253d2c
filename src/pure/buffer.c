#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include "buffer.h"

void jc_buf_free(jc_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

/* Makes room for n more bytes; 0 when that cannot be had. */
static int grow(jc_buf *b, size_t n) {
  if (n <= b->cap - b->len) return 1;
  if (n > SIZE_MAX / 2 - b->len) return 0;
  return jc_grow((void **)&b->data, &b->cap, b->len + n, 1, 256);
}

char *jc_buf_try_reserve(jc_buf *b, size_t n) {
  return grow(b, n) ? b->data + b->len : NULL;
}

int jc_buf_try_add(jc_buf *b, const void *p, size_t n) {
  if (n == 0) return 1;
  if (!grow(b, n)) return 0;
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return 1;
}
