/* package.preload for programs with justclick inside (the host, the fuzz harnesses). */
#ifndef JC_PRELOAD_H
#define JC_PRELOAD_H

#include <lua.h>

/* Registers justclick.core, justclick.receiver and the embedded Lua modules in package.preload,
   so that require finds them before any file on the paths. */
void jc_preload(lua_State *L);

#endif
