/*
 * Lua table -> the exact bytes of PHP 8's http_build_query($a) with default arguments.
 *
 * JustClick checks a request by rebuilding http_build_query($_POST). So the bytes must not only
 * equal PHP's, they must also come back unchanged through PHP's request parsing. Anything that
 * parsing would alter is refused here with an error naming the key path.
 *
 * The walk: a node's entries are gathered from its sources (a Lua table, and the remaining
 * bracketed parts of flat keys such as "utm[utm_medium]"), sorted (list elements by index, then
 * string keys in byte order), grouped by name, and written. A group with one scalar is a
 * variable; anything else is a child node, so flat keys merge with nested tables of the same
 * name exactly as PHP merges them when it parses the request.
 *
 * Speed: a key is read once, through a table of byte classes; entries are sorted as small
 * records keyed by a 64-bit prefix of their name; a variable reserves its room once.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include "../pure/phpfmt.h"
#include "compat.h"
#include "encode.h"
#include "luabuf.h"

enum { V_STRING, V_INTEGER, V_FLOAT, V_BOOLEAN, V_TABLE };

typedef struct jc_item {
  uint64_t order;     /* sort key: a list index, or the first 8 bytes of the name, big-endian */
  const char *name;   /* a string key, or one part of a flat key; NULL for a list element */
  const char *rest;   /* bracketed parts of a flat key still to descend into: "[b][c]" */
  size_t name_len;
  size_t rest_len;
  unsigned char type;
  unsigned char plain; /* the name is written as it is: urlencoding leaves it unchanged */
  union {
    struct {
      const char *p;
      size_t n;
    } s;
    lua_Integer i;
    lua_Number d;
    int b;
    int slot; /* stack index where a table value is kept */
  } v;
} jc_item;

typedef struct {
  lua_State *L;
  jc_query *q;
  size_t nitems;                  /* entries in use on q->items */
  size_t nkeys;                   /* entries in use on q->keys */
  size_t vars, max_vars;          /* variables written, and the limit (0: none) */
  int reserve_hash;               /* refuse a top-level "hash", the field sign adds */
  int anchors;                    /* stack index of the memo's anchors table, or 0: no memo */
  size_t path[JC_MAX_DEPTH + 2];  /* the entry that names each level of the current key */
} encoder;

void jc_query_free(jc_query *q) {
  jc_buf_free(&q->out);
  jc_buf_free(&q->key);
  free(q->items);
  free(q->keys);
  memset(q, 0, sizeof *q);
}

/* ---- bytes ---- */

enum {
  B_ENCODE = 1, /* urlencode changes it: all but A-Z a-z 0-9 - . _ */
  B_TOP = 2,    /* PHP alters or splits a top-level name at it: NUL ' ' . [ */
  B_NESTED = 4  /* PHP ends or cuts a bracketed key part at it: NUL ] */
};

static const unsigned char byte_class[256] = {
    7, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 2, 1,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1,
    1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 1, 5, 1, 0,
    1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

static unsigned key_class(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  unsigned a = 0, b = 0, c = 0, d = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) { /* four chains, so the lookups overlap */
    a |= byte_class[p[i]];
    b |= byte_class[p[i + 1]];
    c |= byte_class[p[i + 2]];
    d |= byte_class[p[i + 3]];
  }
  for (; i < n; i++) a |= byte_class[p[i]];
  return a | b | c | d;
}

/* The first 8 bytes, big-endian, zero-padded: integer order equals byte order on them. Names
   hold no NUL (it is refused), so the padding cannot tie with a real byte. */
static uint64_t name_prefix(const char *s, size_t n) {
  unsigned char b[8] = {0};
  memcpy(b, s, n < 8 ? n : 8);
  return (uint64_t)b[0] << 56 | (uint64_t)b[1] << 48 | (uint64_t)b[2] << 40 | (uint64_t)b[3] << 32 |
         (uint64_t)b[4] << 24 | (uint64_t)b[5] << 16 | (uint64_t)b[6] << 8 | (uint64_t)b[7];
}

static const char hexdigits[] = "0123456789ABCDEF";

/* memcpy for the short names and values of an order, without a call into libc: up to 16 bytes
   go as two words that may overlap. Returns the end. */
static inline char *put_bytes(char *d, const char *s, size_t n) {
  if (n >= 8 && n <= 16) {
    uint64_t a, b;
    memcpy(&a, s, 8);
    memcpy(&b, s + n - 8, 8);
    memcpy(d, &a, 8);
    memcpy(d + n - 8, &b, 8);
  } else if (n >= 4 && n < 8) {
    uint32_t a, b;
    memcpy(&a, s, 4);
    memcpy(&b, s + n - 4, 4);
    memcpy(d, &a, 4);
    memcpy(d + n - 4, &b, 4);
  } else if (n > 16) {
    memcpy(d, s, n);
  } else {
    for (size_t i = 0; i < n; i++) d[i] = s[i];
  }
  return d + n;
}

/* PHP's urlencode into d, which has room for 3 * n bytes: the kept bytes stay, space is '+',
   every other byte is %XX. Returns the end. */
static char *urlencode(char *d, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!(byte_class[c] & B_ENCODE)) {
      *d++ = (char)c;
    } else if (c == ' ') {
      *d++ = '+';
    } else {
      d[0] = '%';
      d[1] = hexdigits[c >> 4];
      d[2] = hexdigits[c & 15];
      d += 3;
    }
  }
  return d;
}

/* Room for n bytes urlencoded, with `extra` more. */
static char *reserve_encoded(lua_State *L, jc_buf *b, size_t n, size_t extra) {
  if (n > (SIZE_MAX - extra) / 3) jc_query_error(L, "justclick: string too long to encode");
  return jc_buf_reserve(L, b, 3 * n + extra);
}

/* ---- error messages: "justclick: goods[2].good_sum: <problem>" ---- */

static int is_identifier(const char *s, size_t n) {
  if (n == 0 || (s[0] >= '0' && s[0] <= '9')) return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
      return 0;
  }
  return 1;
}

/* How much of a long name an error message shows. */
#define NAME_SHOWN 40
/* Room for the longest path fail() shows: 12 parts of at most 2 + 4 * NAME_SHOWN + 5 bytes. */
#define PATH_SHOWN 2304

/* The key path of an error message, written in C memory: it is read from the scratch and from
   key strings, which must not be read once a Lua allocation may have run a finalizer. */
typedef struct {
  char s[PATH_SHOWN];
  size_t n;
} path_text;

static void put(path_text *t, const char *s, size_t n) {
  if (n > sizeof t->s - t->n) n = sizeof t->s - t->n; /* not reached: PATH_SHOWN bounds it */
  memcpy(t->s + t->n, s, n);
  t->n += n;
}

static void put_char(path_text *t, char c) {
  put(t, &c, 1);
}

/* One key part in Lua's notation: .name, ["odd key"], or [n] with Lua's 1-based index. */
static void add_path_part(path_text *b, const jc_item *it, int first) {
  if (it->name == NULL) {
    char num[JC_NUMBUF];
    size_t n = jc_fmt_integer((lua_Integer)it->order + 1, num);
    put_char(b, '[');
    put(b, num, n);
    put_char(b, ']');
  } else if (it->name_len == 0) {
    put(b, "[\"\"]", 4);
  } else if (is_identifier(it->name, it->name_len) && it->name_len <= NAME_SHOWN) {
    if (!first) put_char(b, '.');
    put(b, it->name, it->name_len);
  } else {
    static const char hex[] = "0123456789abcdef";
    size_t n = it->name_len < NAME_SHOWN ? it->name_len : NAME_SHOWN;
    put(b, "[\"", 2);
    /* cppcheck 2.10 carries a caller's name_len == 0 past the branch above into this one. */
    // cppcheck-suppress knownConditionTrueFalse
    for (size_t i = 0; i < n; i++) {
      unsigned char c = (unsigned char)it->name[i];
      if (c == '"' || c == '\\') {
        put_char(b, '\\');
        put_char(b, (char)c);
      } else if (c < 0x20 || c >= 0x7f) {
        char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
        put(b, esc, 4);
      } else {
        put_char(b, (char)c);
      }
    }
    // cppcheck-suppress knownConditionTrueFalse
    if (n < it->name_len) put(b, "...", 3);
    put(b, "\"]", 2);
  }
}

/* Level of the Lua code that called the core, seen from a body run by jc_query_call: 0 is
   support.c's protected_call, 1 the core function (build_query, sign...). */
#define CALLER 2

/* `refused` is set once the message is made: a finalizer's error raised while it is allocated
   (Lua 5.1 and LuaJIT raise them) is no refusal. */
_Noreturn void jc_query_refuse(lua_State *L, jc_query *q, const char *msg) {
  lua_pushstring(L, msg);
  q->refused = 1;
  lua_error(L);
  abort(); /* not reached: lua_error does not return */
}

_Noreturn void jc_query_error(lua_State *L, const char *msg) {
  luaL_where(L, CALLER);
  lua_pushstring(L, msg);
  lua_concat(L, 2);
  lua_error(L);
  abort(); /* not reached: lua_error does not return */
}

/* luaL_checkstack, with the error at the caller's position. */
static void need_stack(lua_State *L, int n) {
  if (!lua_checkstack(L, n)) jc_query_error(L, "stack overflow (justclick: too many tables to encode)");
}

/* Part k of the key path of fail(): an entry on the path, or `it` after them. */
static void add_key_path_part(path_text *b, const encoder *e, int level, const jc_item *it, int k) {
  if (k < level) {
    add_path_part(b, &e->q->items[e->path[k]], k == 0);
  } else {
    /* A flat key is shown as written: ["utm[utm_medium]"], not just utm. */
    jc_item shown = *it;
    if (shown.rest_len && shown.rest == shown.name + shown.name_len)
      shown.name_len += shown.rest_len;
    add_path_part(b, &shown, k == 0);
  }
}

/* Refuses the input with "PATH: MESSAGE" (jc_query_refuse), where PATH is the current key down
   to `level` parts, then `it` if given. Long paths (cycles) show their first 6 and last 3 parts.
   The path is written before anything is allocated; the format's arguments are numbers and
   static strings, written by vsnprintf (Lua 5.1's lua_pushfstring knows no integers wider than
   int). */
__attribute__((format(printf, 4, 5))) _Noreturn static void fail(encoder *e, int level, const jc_item *it,
                                                                 const char *fmt, ...) {
  lua_State *L = e->L;
  path_text b;
  char msg[256];
  va_list ap;
  int parts = level + (it != NULL);
  int head = parts > 12 ? 6 : parts;
  b.n = 0;
  if (parts == 0) put(&b, "top-level table", 15);
  for (int k = 0; k < head; k++) add_key_path_part(&b, e, level, it, k);
  if (head < parts) {
    put(&b, "...", 3);
    for (int k = parts - 3; k < parts; k++) add_key_path_part(&b, e, level, it, k);
  }
  put(&b, ": ", 2);
  need_stack(L, 3);
  lua_pushlstring(L, b.s, b.n);
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  lua_pushstring(L, msg);
  lua_concat(L, 2);
  e->q->refused = 1; /* as in jc_query_refuse */
  lua_error(L);
  abort(); /* not reached: lua_error does not return */
}

/* ---- the rules PHP's request parsing imposes on key names ---- */

static int is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* A key part inside brackets. PHP ends the part at the first ']', cuts it at NUL, and reads
   "[]" or a single blank in brackets as "append to the list". NULL when it is fine. */
static const char *nested_key_problem(const char *s, size_t n) {
  if (n == 0) return "empty key; PHP reads [] as a new list element";
  if (memchr(s, '\0', n)) return "key contains a NUL byte, where PHP cuts it";
  if (memchr(s, ']', n)) return "key contains ']', where PHP ends a key part";
  if (n == 1 && is_blank(s[0])) return "key is a single blank; PHP reads [ ] as a new list element";
  return NULL;
}

/* Names the entry `it` by s[0..n), of the class cls and the prefix name_prefix(s, n). */
static void set_name(jc_item *it, const char *s, size_t n, unsigned cls, uint64_t prefix) {
  it->name = s;
  it->name_len = n;
  it->order = prefix;
  it->plain = !(cls & B_ENCODE);
}

/* Names the entry `it` by the key name s[0..n), the string lua_next left at -2. Returns the
   name's class, and its memo slot (NULL when there is none): from the memo when the name was
   read before, else worked out, and remembered with the string anchored. */
static jc_name *read_name(encoder *e, jc_item *it, const char *s, size_t n, unsigned *cls) {
  jc_name *slot, *other;
  size_t h;
  if (e->anchors == 0 || n > JC_NAME_MAX) {
    *cls = key_class(s, n);
    set_name(it, s, n, *cls, name_prefix(s, n));
    return NULL;
  }
  /* Fibonacci hashing of the address: two slots to choose from, h and its neighbour */
  h = (size_t)(((uint64_t)(uintptr_t)s >> 4) * 0x9E3779B97F4A7C15u >> 55) & (JC_NAMES - 1);
  slot = &e->q->memo->names[h];
  other = &e->q->memo->names[h ^ 1];
  if (slot->p != s && other->p == s) slot = other;
  if (slot->p != s || slot->n != n) {
    if (slot->p != NULL && other->p == NULL) slot = other;
    memset(slot, 0, sizeof *slot);
    slot->p = s;
    slot->n = n;
    slot->prefix = name_prefix(s, n);
    slot->cls = key_class(s, n);
    lua_pushvalue(e->L, -2); /* the anchors' array part is full of false: nothing is allocated */
    lua_rawseti(e->L, e->anchors, (lua_Integer)(slot - e->q->memo->names) + 1);
  }
  *cls = slot->cls;
  set_name(it, s, n, slot->cls, slot->prefix);
  return slot;
}

/* A top-level key that is not a plain name: it is refused, or it is a flat key such as
   "utm[utm_medium]", split into its name and its bracketed rest. PHP drops leading spaces,
   turns '.' and ' ' in the name into '_', ignores text after the last ']', and mangles an
   unmatched '['. */
static void check_top_key(encoder *e, jc_item *it) {
  const char *k = it->name, *end = it->name + it->name_len;
  const char *open;
  size_t name_len;
  int parts = 0;

  if (it->name_len == 0) fail(e, 0, it, "empty key, which PHP drops");
  if (memchr(k, '\0', it->name_len)) fail(e, 0, it, "key contains a NUL byte, where PHP cuts it");
  if (k[0] == ' ') fail(e, 0, it, "key starts with a space, which PHP drops");
  open = memchr(k, '[', it->name_len);
  name_len = open ? (size_t)(open - k) : it->name_len;
  if (name_len == 0) fail(e, 0, it, "key starts with '[', and PHP drops a key with no name");
  for (size_t i = 0; i < name_len; i++)
    if (k[i] == '.' || k[i] == ' ')
      fail(e, 0, it, "PHP turns '.' and ' ' in a top-level name into '_'");
  if (open == NULL) return; /* a plain name after all */

  for (const char *p = open; p < end;) {
    const char *close = memchr(p + 1, ']', (size_t)(end - p - 1));
    const char *problem;
    if (close == NULL) fail(e, 0, it, "'[' without a matching ']', which PHP mangles");
    problem = nested_key_problem(p + 1, (size_t)(close - p - 1));
    if (problem) fail(e, 0, it, "%s", problem);
    if (++parts > JC_MAX_DEPTH)
      fail(e, 0, it, "more than %d bracketed parts; PHP's max_input_nesting_level drops it",
           JC_MAX_DEPTH);
    p = close + 1;
    if (p < end && *p != '[') fail(e, 0, it, "text after ']' that PHP drops");
  }
  set_name(it, k, name_len, key_class(k, name_len), name_prefix(k, name_len));
  it->rest = open;
  it->rest_len = (size_t)(end - open);
}

/* ---- gathering a node's entries ---- */

/* Room for n more elements of `size` bytes in the scratch array `array` (cap elements, `used` of
   them in use): the array, moved if it had to grow (doubling from 64). A memory error leaves it
   as it was. Callers test for room first: out of line, the call costs the hot loops nothing. */
#if defined(__GNUC__)
__attribute__((noinline, cold))
#endif
static void *reserve(lua_State *L, void *array, size_t *cap, size_t used, size_t n, size_t size) {
  if (n <= *cap - used) return array;
  if (n > SIZE_MAX - used || !jc_grow(&array, cap, used + n, size, 64)) {
    lua_pushliteral(L, "not enough memory");
    lua_error(L);
  }
  return array;
}

static jc_item *push_item(encoder *e) {
  if (e->nitems == e->q->items_cap)
    e->q->items = reserve(e->L, e->q->items, &e->q->items_cap, e->nitems, 1, sizeof *e->q->items);
  return &e->q->items[e->nitems++];
}

/* Classifies the value on top of the stack into `it`. A table value is kept on the stack, moved
   below the key so that lua_next can go on. Returns 0 for null, which PHP skips like an absent
   key. */
static int take_value(encoder *e, jc_item *it, int level) {
  lua_State *L = e->L;
  switch (lua_type(L, -1)) {
    case LUA_TSTRING:
      it->type = V_STRING;
      it->v.s.p = lua_tolstring(L, -1, &it->v.s.n);
      break;
    case LUA_TNUMBER:
      if (lua_isinteger(L, -1)) {
        it->type = V_INTEGER;
        it->v.i = lua_tointeger(L, -1);
      } else {
        it->type = V_FLOAT;
        it->v.d = lua_tonumber(L, -1);
        if (isnan(it->v.d)) fail(e, level, it, "NaN cannot be sent");
        if (isinf(it->v.d)) fail(e, level, it, "infinity cannot be sent");
      }
      break;
    case LUA_TBOOLEAN:
      it->type = V_BOOLEAN;
      it->v.b = lua_toboolean(L, -1);
      break;
    case LUA_TTABLE:
      it->type = V_TABLE;
      need_stack(L, 3);
      lua_insert(L, -2);
      it->v.slot = lua_gettop(L) - 1;
      return 1;
    case LUA_TLIGHTUSERDATA:
      if (lua_touserdata(L, -1) == NULL) {
        lua_pop(L, 1);
        return 0;
      }
      /* fallthrough */
    default:
      fail(e, level, it, "a %s value cannot be sent (only justclick.null may stand for nothing)",
           luaL_typename(L, -1));
  }
  lua_pop(L, 1);
  return 1;
}

/* The metamethod of the metatable on top of the stack that changes what Lua code reads from a
   table (the Lua layer's checks read through it), or NULL. Read with lua_next, which allocates
   nothing. */
static const char *reading_metamethod(lua_State *L) {
  static const struct {
    const char *s;
    size_t n;
  } names[] = {{"__index", 7}, {"__pairs", 7}, {"__len", 5}};
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    size_t n = 0;
    const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tolstring(L, -2, &n) : NULL;
    lua_pop(L, 1);
    for (size_t i = 0; k != NULL && i < sizeof names / sizeof *names; i++) {
      if (n == names[i].n && memcmp(k, names[i].s, n) == 0) {
        lua_pop(L, 1);
        return names[i].s;
      }
    }
  }
  return NULL;
}

/* Adds the entries of the table at `slot`, whose keys are at key `level`. */
static void gather_table(encoder *e, int slot, int level) {
  lua_State *L = e->L;
  lua_Integer count = 0, largest = 0;

  need_stack(L, 3);
  if (lua_getmetatable(L, slot)) {
    const char *mm = reading_metamethod(L);
    lua_pop(L, 1);
    if (mm != NULL)
      fail(e, level, NULL, "a table with %s in its metatable cannot be sent (its contents would "
           "differ from what Lua code reads); pass a plain table", mm);
  }
  lua_pushnil(L);
  while (lua_next(L, slot)) {
    jc_item *it = push_item(e);
    it->rest = NULL;
    it->rest_len = 0;
    if (lua_type(L, -2) == LUA_TSTRING) {
      size_t n;
      const char *s = lua_tolstring(L, -2, &n);
      unsigned cls;
      jc_name *memo = read_name(e, it, s, n, &cls);
      if (level == 0) {
        if (memo != NULL && memo->top_len > 0) { /* a flat key, checked before */
          it->name_len = memo->top_len;
          it->order = memo->top_prefix;
          it->plain = (unsigned char)memo->top_plain;
          it->rest = s + memo->top_len;
          it->rest_len = n - memo->top_len;
        } else if (n == 0 || (cls & B_TOP)) {
          check_top_key(e, it);
          if (memo != NULL && it->rest_len > 0) {
            memo->top_len = (unsigned)it->name_len;
            memo->top_prefix = it->order;
            memo->top_plain = it->plain;
          }
        }
        if (e->reserve_hash && it->name_len == 4 && memcmp(it->name, "hash", 4) == 0)
          fail(e, 0, it, "the key is reserved for the request's signature");
      } else if (n == 0 || (cls & B_NESTED) || (n == 1 && is_blank(s[0]))) {
        fail(e, level, it, "%s", nested_key_problem(s, n));
      }
    } else if (lua_isinteger(L, -2)) {
      lua_Integer k = lua_tointeger(L, -2);
      if (k < 1) fail(e, level, NULL, "integer key %lld is not a list position 1..n", (long long)k);
      it->name = NULL;
      it->name_len = 0;
      it->order = (uint64_t)(k - 1);
      count++;
      if (k > largest) largest = k;
    } else if (lua_type(L, -2) == LUA_TNUMBER) {
      fail(e, level, NULL, "key %.14g is a float; keys are strings or list positions 1..n",
           lua_tonumber(L, -2));
    } else {
      fail(e, level, NULL, "a %s key cannot be sent; keys are strings or list positions 1..n",
           luaL_typename(L, -2));
    }
    if (!take_value(e, it, level)) e->nitems--;
  }
  if (count != largest)
    fail(e, level, NULL, "integer keys must run 1..n without gaps, but %lld keys reach %lld", (long long)count,
         (long long)largest);
}

/* Adds the next part of the flat key entry `src`: "[b][c]" gives an entry named b with rest
   "[c]" and the flat key's value. The parts were checked when the key was first read. */
static void gather_flat(encoder *e, size_t src) {
  jc_item *it = push_item(e);
  const jc_item *from = &e->q->items[src];
  const char *part = from->rest + 1;
  const char *close = memchr(part, ']', from->rest_len - 1);
  size_t n = (size_t)(close - part);
  *it = *from;
  set_name(it, part, n, key_class(part, n), name_prefix(part, n));
  it->rest = close + 1;
  it->rest_len = from->rest_len - (size_t)(it->rest - from->rest);
}

/* ---- ordering: list elements by index, then names in byte order ---- */

static int item_cmp(const jc_item *a, const jc_item *b) {
  size_t n;
  if ((a->name == NULL) != (b->name == NULL)) return a->name == NULL ? -1 : 1;
  if (a->order != b->order) return a->order < b->order ? -1 : 1;
  if (a->name == NULL) return 0;
  n = a->name_len < b->name_len ? a->name_len : b->name_len;
  if (n > 8) {
    int c = memcmp(a->name + 8, b->name + 8, n - 8);
    if (c) return c;
  }
  return (a->name_len > b->name_len) - (a->name_len < b->name_len);
}

static inline int same_name(const jc_item *a, const jc_item *b) {
  return a->order == b->order && (a->name == NULL) == (b->name == NULL) &&
         (a->name == NULL || (a->name_len == b->name_len &&
                              (a->name_len <= 8 ||
                               memcmp(a->name + 8, b->name + 8, a->name_len - 8) == 0)));
}

/* What entries are sorted by: the entry's `order` (a list index sorts below any name, whose
   prefix is at least 2^56 since its first byte is not NUL). Ties go to item_cmp. */
typedef struct jc_sort_key {
  uint64_t order;
  size_t at;
} jc_sort_key;

static int key_less(const jc_sort_key *a, const jc_sort_key *b, const jc_item *v) {
  if (a->order != b->order) return a->order < b->order;
  return item_cmp(&v[a->at], &v[b->at]) < 0;
}

/* Insertion sort for the few entries of a typical node, merge sort (through tmp) for many. */
static void sort_keys(jc_sort_key *k, jc_sort_key *tmp, size_t n, const jc_item *v) {
  if (n <= 24) {
    for (size_t i = 1; i < n; i++) {
      jc_sort_key x = k[i];
      size_t j = i;
      while (j > 0 && key_less(&x, &k[j - 1], v)) {
        k[j] = k[j - 1];
        j--;
      }
      k[j] = x;
    }
    return;
  }
  size_t half = n / 2, i = 0, j = half, m = 0;
  sort_keys(k, tmp, half, v);
  sort_keys(k + half, tmp, n - half, v);
  while (i < half && j < n) tmp[m++] = key_less(&k[j], &k[i], v) ? k[j++] : k[i++];
  while (i < half) tmp[m++] = k[i++];
  while (j < n) tmp[m++] = k[j++];
  memcpy(k, tmp, n * sizeof *k);
}

static void reserve_keys(encoder *e, size_t n) {
  if (n > e->q->keys_cap - e->nkeys)
    e->q->keys = reserve(e->L, e->q->keys, &e->q->keys_cap, e->nkeys, n, sizeof *e->q->keys);
}

static int in_order(const jc_sort_key *k, size_t n, const jc_item *v) {
  for (size_t i = 1; i < n; i++)
    if (key_less(&k[i], &k[i - 1], v)) return 0;
  return 1;
}

/* Puts the n entries at items[begin] in order, on top of the keys stack: returns where their
   order starts there (each key's `at` is the entry's index in items). Entries that come in order
   (a list's elements) or in the order that sorted the last node of their size are sorted no
   further. */
static size_t sort_entries(encoder *e, size_t begin, size_t n) {
  jc_query *q = e->q;
  size_t base = e->nkeys;
  jc_sort_key *k;
  jc_memo *m = q->memo;
  uint8_t *perm = NULL;
  reserve_keys(e, 2 * n); /* the order, and room for sort_keys' merges */
  k = q->keys + base;
  for (size_t i = 0; i < n; i++) {
    k[i].order = q->items[begin + i].order;
    k[i].at = begin + i;
  }
  e->nkeys = base + n;
  if (in_order(k, n, q->items)) return base;
  if (m != NULL && n <= JC_PERM_MAX) {
    perm = m->perm + n * (n - 1) / 2 - 1;
    if (m->perm_known >> (n - 1) & 1) {
      jc_sort_key *tried = k + n;
      for (size_t i = 0; i < n; i++) tried[i] = k[perm[i]];
      if (in_order(tried, n, q->items)) {
        memcpy(k, tried, n * sizeof *k);
        return base;
      }
    }
  }
  sort_keys(k, k + n, n, q->items);
  if (perm != NULL) {
    for (size_t i = 0; i < n; i++) perm[i] = (uint8_t)(k[i].at - begin);
    m->perm_known |= (uint64_t)1 << (n - 1);
  }
  return base;
}

/* Whether a string key reads in PHP as the integer position of one of the list's elements:
   PHP turns "7" (but not "07" or "+7") into the integer key 7. */
static int is_list_position(const jc_item *it, lua_Integer list_len) {
  unsigned long long v = 0;
  if (it->name_len == 0 || it->name_len > 18) return 0;
  if (it->name[0] == '0') return it->name_len == 1;
  for (size_t i = 0; i < it->name_len; i++) {
    char c = it->name[i];
    if (c < '0' || c > '9') return 0;
    v = v * 10 + (unsigned long long)(c - '0');
  }
  return v < (unsigned long long)list_len;
}

/* ---- writing ---- */

/* Writes the key part of `it` at d: at level 0 the name as it is, below it "%5Bname%5D", the
   name urlencoded unless it is plain. d has room for 3 * name_len + 6 or JC_NUMBUF + 6 bytes.
   Returns the end. */
static inline char *put_key_part(char *d, const jc_item *it, int level) {
  if (level > 0) {
    memcpy(d, "%5B", 3);
    d += 3;
  }
  if (it->name == NULL) {
    d += jc_fmt_integer((lua_Integer)it->order, d);
  } else if (it->plain) {
    d = put_bytes(d, it->name, it->name_len);
  } else {
    d = urlencode(d, it->name, it->name_len);
  }
  if (level > 0) {
    memcpy(d, "%5D", 3);
    d += 3;
  }
  return d;
}

/* Room for the key part of `it`, with `extra` more bytes. */
static inline char *reserve_key_part(encoder *e, jc_buf *b, const jc_item *it, size_t extra) {
  return it->name == NULL ? jc_buf_reserve(e->L, b, JC_NUMBUF + 6 + extra)
                          : reserve_encoded(e->L, b, it->name_len, 6 + extra);
}

/* Appends the key part of `it` to the key of the node being written. */
static void add_key_part(encoder *e, const jc_item *it, int level) {
  jc_buf *key = &e->q->key;
  char *d = reserve_key_part(e, key, it, 0);
  key->len = (size_t)(put_key_part(d, it, level) - key->data);
}

/* Writes "&KEY=VALUE": the node's key, the key part of `it`, and its value. */
static void write_variable(encoder *e, const jc_item *it, int level) {
  jc_buf *out = &e->q->out, *key = &e->q->key;
  size_t value_room = it->type == V_STRING ? it->v.s.n : JC_NUMBUF;
  char num[JC_NUMBUF];
  char *d;
  if (++e->vars > e->max_vars && e->max_vars != 0)
    fail(e, level, it, "more than %zu variables; PHP's max_input_vars would drop the rest",
         e->max_vars);
  if (key->len > SIZE_MAX / 8) jc_query_refuse(e->L, e->q, "key too long to encode");
  if (value_room > SIZE_MAX / 8) jc_query_error(e->L, "justclick: string too long to encode");
  d = reserve_key_part(e, out, it, key->len + 2 + 3 * value_room);
  if (out->len > 0) *d++ = '&';
  d = put_key_part(put_bytes(d, key->data, key->len), it, level);
  *d++ = '=';
  switch (it->type) {
    case V_STRING:
      d = urlencode(d, it->v.s.p, it->v.s.n);
      break;
    case V_INTEGER:
      d += jc_fmt_integer(it->v.i, d);
      break;
    case V_FLOAT: /* PHP urlencodes the text, so the '+' of an exponent travels as %2B */
      d = urlencode(d, num, jc_fmt_double(it->v.d, num));
      break;
    default:
      *d++ = it->v.b ? '1' : '0';
  }
  out->len = (size_t)(d - out->data);
}

_Noreturn static void fail_too_deep(encoder *e, int level) {
  lua_State *L = e->L;
  for (int i = 0; i < level; i++) {
    const jc_item *a = &e->q->items[e->path[i]];
    if (a->type != V_TABLE || a->rest_len) continue;
    for (int j = i + 1; j < level; j++) {
      const jc_item *b = &e->q->items[e->path[j]];
      if (b->type == V_TABLE && !b->rest_len &&
          lua_topointer(L, a->v.slot) == lua_topointer(L, b->v.slot))
        fail(e, level, NULL, "a table contains itself (a reference cycle)");
    }
  }
  fail(e, level, NULL, "nested deeper than %d levels; PHP's max_input_nesting_level drops it",
       JC_MAX_DEPTH);
}

static void write_node(encoder *e, size_t first, size_t last, int level);

/* Writes the n entries of one node, in the order that starts at q->keys[order]. Their keys are
   at `level`. */
static void write_entries(encoder *e, size_t order, size_t n, int level) {
  lua_Integer list_len = 0;
  size_t key_len = e->q->key.len;
  size_t i, j;

  /* items and keys move when a child node makes them grow: read again after write_node */
  const jc_item *items = e->q->items;
  const jc_sort_key *keys = e->q->keys + order;

  for (i = 0; i < n && items[keys[i].at].name == NULL; i++) list_len = (lua_Integer)items[keys[i].at].order + 1;
  for (i = 0; i < n; i = j) {
    const jc_item *it = &items[keys[i].at];
    for (j = i + 1; j < n && same_name(it, &items[keys[j].at]); j++) {}
    if (it->name && list_len > 0 && is_list_position(it, list_len))
      fail(e, level, it, "string key names a list position that is also given; PHP would merge them");
    if (j == i + 1 && it->rest_len == 0 && it->type != V_TABLE) {
      write_variable(e, it, level);
    } else {
      size_t scalars = 0;
      for (size_t k = i; k < j; k++) {
        const jc_item *m = &items[keys[k].at];
        scalars += m->rest_len == 0 && m->type != V_TABLE;
      }
      if (scalars > 0)
        fail(e, level, it, scalars == j - i ? "given twice; PHP keeps only the last"
                                            : "given both as a value and as a table; PHP keeps only the last");
      add_key_part(e, it, level);
      e->path[level] = keys[i].at;
      write_node(e, order + i, order + j, level + 1);
      e->q->key.len = key_len;
      items = e->q->items;
      keys = e->q->keys + order;
    }
  }
}

/* Writes the node whose sources (tables, and flat keys with parts left) are the entries named
   by q->keys[first..last). Its entries have keys at `level`. */
static void write_node(encoder *e, size_t first, size_t last, int level) {
  lua_State *L = e->L;
  int top = lua_gettop(L);
  size_t begin = e->nitems, nkeys = e->nkeys, count;

  for (size_t s = first; s < last; s++) {
    size_t src = e->q->keys[s].at;
    if (e->q->items[src].rest_len > 0) {
      gather_flat(e, src);
    } else {
      if (level > JC_MAX_DEPTH) fail_too_deep(e, level);
      gather_table(e, e->q->items[src].v.slot, level);
    }
  }
  count = e->nitems - begin;
  if (count > 0) write_entries(e, sort_entries(e, begin, count), count, level);
  e->nitems = begin;
  e->nkeys = nkeys;
  lua_settop(L, top);
}

void jc_query_encode(lua_State *L, jc_query *q, int idx, size_t max_vars, int reserve_hash) {
  encoder e;
  jc_item *it;
  size_t root;
  e.L = L;
  e.q = q;
  e.nitems = 0;
  e.nkeys = 0;
  e.vars = 0;
  e.max_vars = max_vars;
  e.reserve_hash = reserve_hash;
  e.anchors = 0;
  need_stack(L, 1);
  if (q->memo != NULL) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, q->memo);
    if (lua_istable(L, -1)) e.anchors = lua_gettop(L);
  }
  q->out.len = 0;
  q->key.len = 0;
  root = e.nitems;
  it = push_item(&e);
  it->name = NULL;
  it->rest_len = 0;
  it->type = V_TABLE;
  it->v.slot = lua_absindex(L, idx);
  reserve_keys(&e, 1);
  q->keys[0].at = root;
  e.nkeys = 1;
  write_node(&e, 0, 1, 0);
  if (q->memo != NULL) lua_pop(L, 1);
}

void jc_memo_open(lua_State *L, jc_memo *m) {
  lua_createtable(L, JC_NAMES, 0);
  for (int i = 1; i <= JC_NAMES; i++) {
    lua_pushboolean(L, 0);
    lua_rawseti(L, -2, i);
  }
  lua_rawsetp(L, LUA_REGISTRYINDEX, m);
}

void jc_memo_close(lua_State *L, jc_memo *m) {
  lua_pushnil(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, m);
  memset(m, 0, sizeof *m);
}

size_t jc_query_options(lua_State *L, int idx) {
  size_t max_vars = JC_DEFAULT_MAX_VARS;
  if (lua_isnoneornil(L, idx)) return max_vars;
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    size_t n = 0;
    const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tolstring(L, -2, &n) : NULL;
    if (k == NULL || n != 14 || memcmp(k, "max_input_vars", 14) != 0) {
      lua_pop(L, 1);
      if (k != NULL) return (size_t)luaL_error(L, "justclick: unknown option '%s'", k);
      return (size_t)luaL_error(L, "justclick: options are keyed by name");
    }
    max_vars = jc_max_input_vars(L, -1);
    lua_pop(L, 1);
  }
  return max_vars;
}

size_t jc_max_input_vars(lua_State *L, int idx) {
  if (lua_type(L, idx) == LUA_TBOOLEAN && !lua_toboolean(L, idx)) return 0;
  if (lua_isinteger(L, idx) && lua_tointeger(L, idx) > 0) return (size_t)lua_tointeger(L, idx);
  return (size_t)luaL_error(L, "justclick: max_input_vars must be a positive integer or false");
}

void jc_query_trim(jc_query *q) {
  if (q->out.cap > JC_KEEP_BYTES) jc_buf_free(&q->out);
  if (q->key.cap > JC_KEEP_BYTES) jc_buf_free(&q->key);
  if (q->items_cap * sizeof *q->items > JC_KEEP_BYTES) {
    free(q->items);
    q->items = NULL;
    q->items_cap = 0;
  }
  if (q->keys_cap * sizeof *q->keys > JC_KEEP_BYTES) {
    free(q->keys);
    q->keys = NULL;
    q->keys_cap = 0;
  }
}
