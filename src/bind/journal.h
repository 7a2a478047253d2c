/* Durable files for Lua: append_durably, truncate_durably, lock, realpath; and row_id. */
#ifndef JC_BIND_JOURNAL_H
#define JC_BIND_JOURNAL_H

#include <lua.h>

/* Adds append_durably, truncate_durably, lock and realpath to the module table on top of the
   stack. */
int jc_open_journal(lua_State *L);

/* row_id(text) -> 32 hex digits, the md5 of the text: given an order's query, the identity of an
   imported row, as every journal written since 0.1 records it (lua/justclick/import/rows.lua).
   justclick.bench gives it as md5 too, the floor the benchmarks compare sign() with. */
int jc_row_id(lua_State *L);

#endif
