#include <stdlib.h>
#include <stdint.h>
#include <lauxlib.h>
#include "buffer.h"

void jc_buf_free(jc_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

char *jc_buf_grow(lua_State *L, jc_buf *b, size_t n) {
  if (n > b->cap - b->len) {
    size_t need, cap;
    if (n > SIZE_MAX / 2 - b->len) luaL_error(L, "justclick: buffer size overflow");
    need = b->len + n;
    cap = b->cap ? b->cap : 256;
    while (cap < need) cap *= 2;
    char *p = realloc(b->data, cap);
    if (p == NULL) {
      lua_pushliteral(L, "not enough memory");
      lua_error(L);
    }
    b->data = p;
    b->cap = cap;
  }
  return b->data + b->len;
}
