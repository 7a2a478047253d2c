/* The notification receiver for Lua: justclick.receiver's inbox (libmicrohttpd in front of
   pure/store.c, whose Lua methods are bind/store.c's). */
#ifndef JC_BIND_RECEIVER_H
#define JC_BIND_RECEIVER_H

#include <lua.h>

/* Adds inbox, and the inbox type, to the module table on top of the stack. */
int jc_open_receiver(lua_State *L);

#endif
