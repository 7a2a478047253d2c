/* Request hashes for Lua: sign, signed_body and md5. */
#ifndef JC_BIND_SIGN_H
#define JC_BIND_SIGN_H

#include <lua.h>

/* Adds sign, signed_body and md5 to the module table on top of the stack, and to its `safe` table
   their forms that return nil and the problem. */
int jc_open_sign(lua_State *L);

#endif
