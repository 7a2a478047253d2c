/* Durable files for Lua: append_durably, truncate_durably, lock, realpath. */
#ifndef JC_BIND_JOURNAL_H
#define JC_BIND_JOURNAL_H

#include <lua.h>

/* Adds append_durably, truncate_durably, lock and realpath to the module table on top of the
   stack. */
int jc_open_journal(lua_State *L);

#endif
