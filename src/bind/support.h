/* What every binding shares, and nothing else: registration of functions and types, the module's
   state, the call protocol of the functions that use the encoder's scratch, the one push of a
   failure; and through luabuf.h, buffers whose memory errors become Lua errors. A binding includes this, the pure
   units' headers, and the Lua-side libraries it uses (encode.h, formtable.h); never another
   binding's header, nor a module entry's. */
#ifndef JC_SUPPORT_H
#define JC_SUPPORT_H

#include <lua.h>
#include "compat.h"
#include "luabuf.h"

struct jc_query; /* encode.h: the encoder's scratch, which the call protocol claims */

/* ---- registration ---- */

/* For module entries: pushes a new module table holding an empty `safe` table (the forms that
   return nil and an "input" error where the plain ones raise, as cjson.safe's return nil), and, when with_state, makes the module's state
   (the encoder's scratch and memo), which jc_add_functions then gives every function as upvalue
   1. jc_module_end drops the registry's hold of the state (the functions' upvalues keep it). */
void jc_module_begin(lua_State *L, int with_state);
void jc_module_end(lua_State *L);

/* Adds the functions of l to the table on top of the stack (the module table, or a table of
   it), each with the module's state (or nil) as upvalue 1. Only between jc_module_begin and
   jc_module_end, as the jc_open_* functions run. */
void jc_add_functions(lua_State *L, const luaL_Reg *l);
/* The same, into the module's `safe` table: the forms that return nil and an error. */
void jc_add_safe_functions(lua_State *L, const luaL_Reg *l);

/* Makes the metatable `name` of a userdata type (once per Lua state): methods as __index, gc as
   __gc and __close. Leaves the stack as it was. */
void jc_new_type(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction gc);

/* ---- the call protocol ---- */

/* What a call does with the scratch it is given: reads the params table at stack index 1, and
   pushes its one result. */
typedef void (*jc_query_body)(lua_State *L, struct jc_query *q, void *ud);

/* Runs body(L, q, ud) under lua_pcall, with the params table at `params`, and returns 1 with its
   result on the stack. Any allocation of a Lua object may run a finalizer that calls the core
   again, so a call claims the module's scratch for its whole length, and a call that finds it
   claimed (or the module's state finalized) gets a private scratch instead. Whether the body
   returns or raises, the claim is released and the scratch trimmed (a private one freed) first.
   When the encoder refused the input (a key or value PHP would not read back, too many
   variables; see jc_query_refuse), the call raises "WHERE: justclick: PROBLEM" for the Lua code
   that called the core, or, when `safe`, returns 0 with PROBLEM on the stack, as cjson.safe
   does. Any other error (memory, an interrupt) is raised again as it came. Only in functions
   added with the module's state (jc_module_begin(L, 1)). */
int jc_query_call(lua_State *L, int params, jc_query_body body, void *ud, int safe);

/* After jc_query_call returned 0, or with a problem of its own on top: replaces the problem with
   nil and the error {kind = "input", message = problem} (see below), and returns 2. */
int jc_query_refused(lua_State *L);

/* ---- failures ---- */

/* The one shape of a failure that a caller handles, `nil, err`, as luafilesystem's pusherror:
   each pushes nil and the error table {kind =, message =}, leaves the table on top (a caller
   adds the rest of its fields: code, path, ...), and returns 2, for `return jc_push_error(...)`.
   kind names the class, as the Lua front's errors do ("input", "forged", "transport",
   "protocol", "api", "io"...); message is shown to people and never holds the secret. */
int jc_push_error(lua_State *L, const char *kind, const char *message);
/* The same, with the message as lua_pushfstring formats it. */
int jc_push_errorf(lua_State *L, const char *kind, const char *fmt, ...);
/* A file or OS call that failed with errnum: {kind = "io", message = "path: strerror", path =
   path, errno = errnum}; without a path, the message is strerror's alone. */
int jc_push_io_error(lua_State *L, int errnum, const char *path);

#endif
