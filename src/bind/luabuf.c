/* Buffers that raise: see luabuf.h. */
#include "luabuf.h"

char *jc_buf_grow(lua_State *L, jc_buf *b, size_t n) {
  char *p = jc_buf_try_reserve(b, n);
  if (p == NULL) {
    lua_pushliteral(L, "not enough memory");
    lua_error(L);
  }
  return p;
}
