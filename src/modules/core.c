/* luaopen_justclick_core: the module table and its state, then each binding adds its own
   functions (jc_open_*), as LuaSocket's luasocket.c does. */
#include "../bind/constants.h"
#include "../bind/form.h"
#include "../bind/http.h"
#include "../bind/journal.h"
#include "../bind/notify.h"
#include "../bind/query.h"
#include "../bind/reply.h"
#include "../bind/secret.h"
#include "../bind/sign.h"
#include "../bind/support.h"
#include "../bind/sys.h"
#include "../pure/version.h"
#include "modules.h"

JC_EXPORT int luaopen_justclick_core(lua_State *L) {
  jc_module_begin(L, 1);
  jc_open_query(L);
  jc_open_form(L);
  jc_open_sign(L);
  jc_open_reply(L);
  jc_open_http(L);
  jc_open_journal(L);
  jc_open_sys(L);
  jc_open_secret(L);
  jc_open_notify(L);
  jc_open_constants(L);
  jc_module_end(L);
  lua_pushliteral(L, JC_VERSION);
  lua_setfield(L, -2, "_VERSION");
  return 1;
}
