/* luaopen_justclick_receiver: the notification receiver (inbox), a module of its own so that the
   library links neither libmicrohttpd, SQLite nor threads. */
#include "../bind/receiver.h"
#include "../bind/store.h"
#include "../bind/support.h"
#include "../pure/version.h"
#include "modules.h"

JC_EXPORT int luaopen_justclick_receiver(lua_State *L) {
  jc_module_begin(L, 0);
  jc_open_receiver(L);
  jc_open_store(L); /* the store's methods of the receiver's inbox */
  jc_module_end(L);
  lua_pushliteral(L, JC_VERSION);
  lua_setfield(L, -2, "_VERSION");
  return 1;
}
