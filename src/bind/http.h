/* libcurl sessions: core.session, core.multi. */
#ifndef JC_BIND_HTTP_H
#define JC_BIND_HTTP_H

#include <lua.h>

/* Adds session, multi, forbid_network and network_forbidden, and the session types, to the
   module table on top of the stack. */
int jc_open_http(lua_State *L);

#endif
