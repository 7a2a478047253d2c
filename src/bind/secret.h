/* read_secret_file for Lua. */
#ifndef JC_BIND_SECRET_H
#define JC_BIND_SECRET_H

#include <lua.h>

/* Adds read_secret_file to the module table on top of the stack. */
int jc_open_secret(lua_State *L);

#endif
