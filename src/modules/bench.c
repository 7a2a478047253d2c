/* luaopen_justclick_bench: benchmark hooks, outside the public module (make bench, the specs): cpu(), md5(). */
#include "../bind/bench.h"
#include "modules.h"

JC_EXPORT int luaopen_justclick_bench(lua_State *L) {
  lua_newtable(L);
  jc_open_bench(L);
  return 1;
}
