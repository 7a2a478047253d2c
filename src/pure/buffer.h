/* A growable byte buffer. The forms that raise a Lua error when memory runs out are the bindings'
   (bind/support.h); these never raise. */
#ifndef JC_BUFFER_H
#define JC_BUFFER_H

#include <stddef.h>
#include <string.h>

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
