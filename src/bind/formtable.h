/* A parsed form (pure/form.h) as a Lua table: for parse_query and notification_check. */
#ifndef JC_BIND_FORMTABLE_H
#define JC_BIND_FORMTABLE_H

#include <stddef.h>
#include <lua.h>
#include "../pure/form.h"

/* Pushes the tree as parse_query's Lua table. It raises only Lua's own errors (memory, a stack
   too deep for Lua), and f stays the caller's to free: call it under lua_pcall, or own f
   through a userdata, as notification_check does. */
void jc_form_push(lua_State *L, const jc_form *f);

/* Pushes a value of its own in place of the string, and returns 1, or returns 0 for the string:
   key[0..key_len) names the value (NULL for an integer key), at `depth` levels below the top. */
typedef int (*jc_form_typer)(lua_State *L, const char *key, size_t key_len, int depth, const char *value,
                             size_t len);
/* jc_form_push, with typer deciding each scalar's Lua value. */
void jc_form_push_typed(lua_State *L, const jc_form *f, jc_form_typer typer);

#endif
