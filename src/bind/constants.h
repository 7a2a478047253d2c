/* The shared limits and the null value for Lua: core.limits, core.null. */
#ifndef JC_BIND_CONSTANTS_H
#define JC_BIND_CONSTANTS_H

#include <lua.h>

/* Adds limits (the limits of pure/limits.h that the Lua side checks against) and null (the
   same value as cjson.null) to the module table on top of the stack. */
int jc_open_constants(lua_State *L);

#endif
