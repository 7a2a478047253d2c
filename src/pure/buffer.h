/* A growable byte buffer whose memory errors become Lua errors. */
#ifndef JC_BUFFER_H
#define JC_BUFFER_H

#include <stddef.h>
#include <string.h>
#include <lua.h>

typedef struct {
  char *data;
  size_t len;
  size_t cap;
} jc_buf;

/* Releases the memory; the buffer is then empty and reusable. Idempotent. */
void jc_buf_free(jc_buf *b);

/* Grows the buffer to hold n more bytes; see jc_buf_reserve. */
char *jc_buf_grow(lua_State *L, jc_buf *b, size_t n);

/* Appends n bytes without ever raising, for code where a Lua error must not unwind (a libcurl
   callback). Returns 0, leaving the buffer as it was, when memory runs out. */
int jc_buf_try_add(jc_buf *b, const void *p, size_t n);

/* Makes room for n more bytes and returns where they go. On failure it raises a Lua memory
   error; the buffer is left as it was, so its owner can still free it. */
static inline char *jc_buf_reserve(lua_State *L, jc_buf *b, size_t n) {
  return n <= b->cap - b->len ? b->data + b->len : jc_buf_grow(L, b, n);
}

static inline void jc_buf_add(lua_State *L, jc_buf *b, const void *p, size_t n) {
  if (n == 0) return;
  memcpy(jc_buf_reserve(L, b, n), p, n);
  b->len += n;
}

static inline void jc_buf_addc(lua_State *L, jc_buf *b, char c) {
  if (b->len == b->cap) jc_buf_grow(L, b, 1);
  b->data[b->len++] = c;
}

#endif
