/* Lua table -> the exact bytes of PHP's http_build_query, refusing what PHP would alter: the
   encoder that build_query and sign share, run through the call protocol of support.h. */
#ifndef JC_ENCODE_H
#define JC_ENCODE_H

#include <stdint.h>
#include <lua.h>
#include "../pure/buffer.h"
#include "../pure/limits.h"

struct jc_item;
struct jc_sort_key;

/* Nodes of up to this many entries remember the order their entries were last sorted into. */
#define JC_PERM_MAX 64
/* Key names remembered (a power of 2), and the longest: Lua 5.4 interns strings up to 40 bytes
   long (LUAI_MAXSHORTLEN), so that a name read again is the same string. */
#define JC_NAMES 512
#define JC_NAME_MAX 40

/* What a key name's bytes told the encoder: see encode.c. */
typedef struct {
  const char *p;   /* the name's bytes, those of a string kept alive in the memo's anchors */
  size_t n;
  uint64_t prefix;
  unsigned cls;
  /* A top-level flat key ("utm[utm_medium]") that passed its checks: the length, prefix and
     plainness of its name before the brackets; top_len 0 until then. */
  unsigned top_len, top_plain;
  uint64_t top_prefix;
} jc_name;

/* What the encoder learnt from earlier calls, so as to do less on the orders that follow, which
   are built by the same code: owned by the module's state, never by a private scratch.
   - For each node size n from 2 to JC_PERM_MAX (bit n-1 of perm_known), the permutation that
     last sorted a node of n entries, at perm[n * (n - 1) / 2 - 1]: tables built by the same code
     have the same keys in the same lua_next order, so it sorts them again, as a linear check
     confirms.
   - Key names already read, found by the address of their bytes. That address stands for the
     bytes only while the string lives: each remembered name's string is held in slot i + 1 of
     the anchors table (registry[memo]), so no other string can take its address. */
typedef struct {
  uint64_t perm_known;
  uint8_t perm[JC_PERM_MAX * (JC_PERM_MAX + 1) / 2 - 1];
  jc_name names[JC_NAMES];
} jc_memo;

/* Scratch space that one encoder reuses from call to call, so that a call in the steady state
   allocates nothing. Owned by the module's state userdata; freed by jc_query_free. */
typedef struct jc_query {
  jc_buf out;             /* the query being written */
  jc_buf key;             /* the encoded key of the node being written, e.g. goods%5B0%5D */
  struct jc_item *items;  /* a stack of the entries of the nodes on the current key path */
  size_t items_cap;
  struct jc_sort_key *keys; /* a stack of the sorted order of the nodes on the key path */
  size_t keys_cap;
  jc_memo *memo;          /* NULL: learn nothing, remember nothing */
  int refused;            /* the call's error is the encoder's refusal of its input */
} jc_query;

/* Sets up the memo (zeroed memory) and its anchors table; jc_memo_close lets them go. */
void jc_memo_open(lua_State *L, jc_memo *m);
void jc_memo_close(lua_State *L, jc_memo *m);

void jc_query_free(jc_query *q);
/* Frees scratch buffers that one large call left oversized. */
void jc_query_trim(jc_query *q);

/* Reads the options table at `idx` (absent, nil or a table) and returns max_input_vars. */
size_t jc_query_options(lua_State *L, int idx);
/* The max_input_vars option's value at `idx`: a positive integer, or false (0: no limit, for a
   server whose max_input_vars was raised); raises on anything else. The one reader of it, for
   build_query's and sign's options and parse_query's. */
size_t jc_max_input_vars(lua_State *L, int idx);

/* Inside a body: refuses the input with the problem msg (see support.h's jc_query_call). */
_Noreturn void jc_query_refuse(lua_State *L, jc_query *q, const char *msg);

/* Inside a body: raises "WHERE: msg", WHERE being the position of the Lua code that called the
   core, as luaL_error would in the core function itself: for a failure that is no refusal. */
_Noreturn void jc_query_error(lua_State *L, const char *msg);

/* Inside a body: encodes the table at stack index `idx` into q->out (q->out.len is its length).
   At most `max_vars` variables are written (0: no limit). `reserve_hash` refuses a top-level key
   named hash (also "hash[x]"), the field a signature adds. Raises a Lua error that names the key
   path for anything PHP would not read back unchanged. Leaves the Lua stack as it found it. */
void jc_query_encode(lua_State *L, jc_query *q, int idx, size_t max_vars, int reserve_hash);

#endif
