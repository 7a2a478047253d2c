/* The notification receiver: core.inbox (libmicrohttpd in front of inbox.c). */
#ifndef JC_SERVE_H
#define JC_SERVE_H

#include <lua.h>

/* Adds inbox, and the inbox type, to the module table on top of the stack. */
int jc_open_serve(lua_State *L);

#endif
