/* parse_query for Lua. */
#ifndef JC_BIND_FORM_H
#define JC_BIND_FORM_H

#include <lua.h>

/* Adds parse_query to the module table on top of the stack. */
int jc_open_form(lua_State *L);

#endif
