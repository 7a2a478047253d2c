/* Payment notifications for Lua: notification_check. */
#ifndef JC_BIND_NOTIFY_H
#define JC_BIND_NOTIFY_H

#include <lua.h>

/* Adds notification_check to the module table on top of the stack. */
int jc_open_notify(lua_State *L);

#endif
