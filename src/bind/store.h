/* The inbox's store for Lua: the Lua thread's methods of justclick.receiver's inbox (over
   pure/store.c). */
#ifndef JC_BIND_STORE_H
#define JC_BIND_STORE_H

#include <lua.h>

/* Adds next, begin, handled, failed, replay, parked, counts, events, trim, store, store_many,
   duplicate and payment to the inbox type that jc_open_receiver made. */
int jc_open_store(lua_State *L);

#endif
