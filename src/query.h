/* Lua table -> the exact bytes of PHP's http_build_query, refusing what PHP would alter. */
#ifndef JC_QUERY_H
#define JC_QUERY_H

#include <stdint.h>
#include <lua.h>
#include "buffer.h"
#include "limits.h"

struct jc_item;
struct jc_sort_key;

/* Scratch space that one encoder reuses from call to call, so that a call in the steady state
   allocates nothing. Owned by the module's state userdata; freed by jc_query_free. */
typedef struct {
  jc_buf out;             /* the query being written */
  jc_buf key;             /* the encoded key of the node being written, e.g. goods%5B0%5D */
  struct jc_item *items;  /* a stack of the entries of the nodes on the current key path */
  size_t items_cap;
  struct jc_sort_key *keys; /* scratch for sorting one node's entries */
  size_t keys_cap;
} jc_query;

void jc_query_free(jc_query *q);
/* Frees scratch buffers that one large call left oversized. */
void jc_query_trim(jc_query *q);

/* Adds build_query (and safe.build_query) to the module table on top of the stack. */
int jc_open_query(lua_State *L);

/* Reads the options table at `idx` (absent, nil or a table) and returns max_input_vars. */
size_t jc_query_options(lua_State *L, int idx);

/* What a call does with the scratch it is given: reads the params table at stack index 1, and
   pushes its one result. */
typedef void (*jc_query_body)(lua_State *L, jc_query *q, void *ud);

/* Runs body(L, q, ud) under lua_pcall, with the params table at `params`, and returns its result
   on the stack. Any allocation of a Lua object may run a finalizer that calls the core again, so
   a call claims the module's scratch for its whole length, and a call that finds it claimed (or
   the module's state finalized) gets a private scratch instead. Whether the body returns or
   raises, the claim is released and the scratch trimmed (a private one freed) before the result
   is returned or the same error value raised again. */
void jc_query_call(lua_State *L, int params, jc_query_body body, void *ud);

/* Inside a body: raises "WHERE: msg", WHERE being the position of the Lua code that called the
   core, as luaL_error would in the core function itself. */
_Noreturn void jc_query_error(lua_State *L, const char *msg);

/* Inside a body: encodes the table at stack index `idx` into q->out (q->out.len is its length).
   At most `max_vars` variables are written (0: no limit). `reserve_hash` refuses a top-level key
   named hash (also "hash[x]"), the field a signature adds. Raises a Lua error that names the key
   path for anything PHP would not read back unchanged. Leaves the Lua stack as it found it. */
void jc_query_encode(lua_State *L, jc_query *q, int idx, size_t max_vars, int reserve_hash);

#endif
