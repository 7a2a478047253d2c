/* Buffers (pure/buffer.h) whose memory errors become Lua errors: for the encoder and the
   bindings. */
#ifndef JC_LUABUF_H
#define JC_LUABUF_H

#include <string.h>
#include <lua.h>
#include "../pure/buffer.h"

/* Grows the buffer to hold n more bytes, or raises a Lua memory error, leaving the buffer as it
   was, so its owner can still free it. */
char *jc_buf_grow(lua_State *L, jc_buf *b, size_t n);

/* Makes room for n more bytes and returns where they go; see jc_buf_grow. */
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
