/* Lua table -> the exact bytes of PHP's http_build_query, refusing what PHP would alter. */
#ifndef JC_QUERY_H
#define JC_QUERY_H

#include <stdint.h>
#include <lua.h>
#include "buffer.h"

/* PHP's max_input_nesting_level: a key may hold at most this many bracketed parts. */
#define JC_MAX_DEPTH 64
/* PHP's default max_input_vars: parse_str and $_POST keep no more variables than this. */
#define JC_DEFAULT_MAX_VARS 1000

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

/* Encodes the table at stack index `idx` into q->out (q->out.len is its length). At most
   `max_vars` variables are written (0: no limit). Raises a Lua error that names the key path for
   anything PHP would not read back unchanged. Leaves the Lua stack as it found it. */
void jc_query_encode(lua_State *L, jc_query *q, int idx, size_t max_vars);

#endif
