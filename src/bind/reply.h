/* JSON replies: decode_reply. */
#ifndef JC_REPLY_H
#define JC_REPLY_H

#include <lua.h>

/* Adds decode_reply to the module table on top of the stack. */
int jc_open_reply(lua_State *L);

#endif
