/* The system for Lua: sleep, now, time, boottime, isatty. */
#ifndef JC_BIND_SYS_H
#define JC_BIND_SYS_H

#include <lua.h>

/* Adds sleep, now, time, boottime and isatty to the module table on top of the stack. */
int jc_open_sys(lua_State *L);

#endif
