/* Durable files: the import's journal and lock, and the inbox's file. */
#ifndef JC_JOURNAL_H
#define JC_JOURNAL_H

#include <stddef.h>
#include <lua.h>

/* Adds append_durably, truncate_durably, lock and realpath to the module table on top of the
   stack. */
int jc_open_journal(lua_State *L);

/* Opens path with flags, making it (mode 0600) when it is missing and fsyncing its directory
   then. -1 and errno on failure. */
int jc_open_durably(const char *path, size_t len, int flags);

#endif
