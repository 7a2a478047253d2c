/* The inbox object's userdata: see inboxud.h. */
#include <lauxlib.h>
#include "inboxud.h"

jc_inbox_ud *jc_inbox_check(lua_State *L, int writable) {
  jc_inbox_ud *ud = luaL_checkudata(L, 1, JC_INBOX_TYPE);
  if (ud->inbox == NULL) luaL_error(L, "justclick: the inbox is closed");
  if (writable && ud->readonly)
    luaL_error(L, "justclick: the inbox is open read-only: only parked, counts, events, payment, trim and close");
  return ud;
}
