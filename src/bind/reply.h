/* JSON replies: decode_reply and verify_reply. */
#ifndef JC_BIND_REPLY_H
#define JC_BIND_REPLY_H

#include <lua.h>

/* Adds decode_reply and verify_reply to the module table on top of the stack. */
int jc_open_reply(lua_State *L);

#endif
