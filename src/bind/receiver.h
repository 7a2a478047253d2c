/* The notification receiver for Lua: justclick.receiver's inbox (libmicrohttpd in front of
   pure/inbox.c). */
#ifndef JC_BIND_RECEIVER_H
#define JC_BIND_RECEIVER_H

#include <lua.h>

/* Adds inbox, and the inbox type, to the module table on top of the stack. */
int jc_open_receiver(lua_State *L);

#endif
