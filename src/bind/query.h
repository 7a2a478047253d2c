/* build_query for Lua. */
#ifndef JC_BIND_QUERY_H
#define JC_BIND_QUERY_H

#include <lua.h>

/* Adds build_query to the module table on top of the stack, and to its `safe` table the form
   that returns nil and the problem instead of raising it. */
int jc_open_query(lua_State *L);

#endif
