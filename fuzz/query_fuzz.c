/*
 * libFuzzer harness for build_query and sign: fuzz bytes become a nested Lua table of every
 * value type (strings with hostile bytes, integers, any double including NaN and infinities,
 * booleans, null, functions), with keys of every kind (hostile strings, integers, floats,
 * booleans, tables), cycles and nesting past PHP's limit. The encoder must never crash, must
 * terminate, and must either raise a string error or return well-formed output.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include <lualib.h>

int luaopen_justclick_core(lua_State *L);

typedef struct {
  const uint8_t *p;
  size_t n;
} input;

static unsigned byte(input *in) {
  if (in->n == 0) return 0;
  in->n--;
  return *in->p++;
}

static void push_bytes(lua_State *L, input *in, size_t len) {
  char buf[64];
  if (len > sizeof buf) len = sizeof buf;
  for (size_t i = 0; i < len; i++) buf[i] = (char)byte(in);
  lua_pushlstring(L, buf, len);
}

static uint64_t word(input *in) {
  uint64_t w = 0;
  for (int i = 0; i < 8; i++) w = w << 8 | byte(in);
  return w;
}

static int never_called(lua_State *L) {
  return luaL_error(L, "the encoder called a function value");
}

#define KEY(s) {s, sizeof s - 1}
static const struct {
  const char *s;
  size_t n;
} hostile[] = {
  KEY(""), KEY(" "), KEY("a b"), KEY(" a"), KEY("a.b"), KEY("a[b"), KEY("a[b]c"), KEY("[a]"),
  KEY("a[]"), KEY("a[ ]"), KEY("a]"), KEY("b]c"), KEY("["), KEY("0"), KEY("1"), KEY("01"),
  KEY("-1"), KEY("utm[utm_medium]"), KEY("goods[0][good_name]"), KEY("a[b][c]"), KEY("a[b[c]"),
  KEY("\t"), KEY("x\0y"),
};

static void push_key(lua_State *L, input *in, int count) {
  switch (byte(in) % 8) {
    case 0: push_bytes(L, in, byte(in) % 12); break;
    case 1: {
      unsigned k = byte(in) % (sizeof hostile / sizeof *hostile);
      lua_pushlstring(L, hostile[k].s, hostile[k].n);
      break;
    }
    case 2: lua_pushinteger(L, count); break; /* a sequence, usually */
    case 3: lua_pushinteger(L, (lua_Integer)(int8_t)byte(in)); break;
    case 4: lua_pushnumber(L, (double)byte(in) + 0.5); break;
    case 5: lua_pushboolean(L, byte(in) & 1); break;
    default: {
      static const char *const names[] = {"a", "b", "goods", "utm", "bill_email", "good_name"};
      lua_pushstring(L, names[byte(in) % 6]);
    }
  }
}

static void push_value(lua_State *L, input *in, int depth, int root);

static void push_table(lua_State *L, input *in, int depth, int root) {
  int entries = byte(in) % 8;
  lua_createtable(L, 0, entries);
  for (int i = 1; i <= entries && in->n > 0; i++) {
    push_key(L, in, i);
    push_value(L, in, depth + 1, root);
    if (lua_isnil(L, -2) || (lua_type(L, -2) == LUA_TNUMBER && lua_tonumber(L, -2) != lua_tonumber(L, -2))) {
      lua_pop(L, 2);
    } else {
      lua_rawset(L, -3);
    }
  }
}

static void push_value(lua_State *L, input *in, int depth, int root) {
  luaL_checkstack(L, 8, "fuzz: deep");
  switch (byte(in) % 12) {
    case 0: case 1: push_bytes(L, in, byte(in) % 24); break;
    case 2: lua_pushinteger(L, (lua_Integer)word(in)); break;
    case 3: {
      uint64_t w = word(in);
      double d;
      memcpy(&d, &w, sizeof d); /* any double: NaN, infinities, subnormals */
      lua_pushnumber(L, d);
      break;
    }
    case 4: lua_pushboolean(L, byte(in) & 1); break;
    case 5: lua_pushlightuserdata(L, NULL); break; /* justclick.null */
    case 6: lua_pushcfunction(L, never_called); break;
    case 7: /* a chain past PHP's nesting limit, or the root again: a cycle */
      if (byte(in) & 1) {
        lua_pushvalue(L, root);
      } else {
        int levels = 60 + (int)(byte(in) % 10);
        lua_pushinteger(L, 1);
        for (int i = 0; i < levels; i++) {
          lua_createtable(L, 0, 1);
          lua_insert(L, -2);
          lua_setfield(L, -2, "d");
        }
      }
      break;
    default:
      if (depth < 6) push_table(L, in, depth, root);
      else lua_pushinteger(L, depth);
  }
}

/* PHP's output alphabet: urlencoded bytes, '=' and '&'; every '%' starts two uppercase hex. */
static void check_query(const char *q, size_t n) {
  for (size_t i = 0; i < n; i++) {
    char c = q[i];
    if (c == '%') {
      if (i + 2 >= n) abort();
      if (!strchr("0123456789ABCDEF", q[i + 1]) || !strchr("0123456789ABCDEF", q[i + 2])) abort();
      i += 2;
    } else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 strchr("-._+=&", c))) {
      abort();
    }
  }
  if (n > 0 && (q[0] == '&' || q[n - 1] == '&' || strstr(q, "&&"))) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static lua_State *L;
  input in = {data, size};
  size_t n;
  if (L == NULL) {
    L = luaL_newstate();
    luaL_openlibs(L);
    luaL_requiref(L, "justclick.core", luaopen_justclick_core, 0);
    lua_setglobal(L, "core");
  }
  lua_settop(L, 0);
  lua_createtable(L, 0, 0); /* 1: the root */
  {
    int entries = byte(&in) % 16;
    for (int i = 1; i <= entries && in.n > 0; i++) {
      push_key(L, &in, i);
      push_value(L, &in, 1, 1);
      if (lua_isnil(L, -2) || (lua_type(L, -2) == LUA_TNUMBER && lua_tonumber(L, -2) != lua_tonumber(L, -2))) {
        lua_pop(L, 2);
      } else {
        lua_rawset(L, 1);
      }
    }
  }
  lua_getglobal(L, "core");
  lua_getfield(L, -1, "build_query");
  lua_pushvalue(L, 1);
  if (lua_pcall(L, 1, 1, 0) == LUA_OK) {
    const char *q = lua_tolstring(L, -1, &n);
    if (q == NULL || memchr(q, '\0', n)) abort();
    check_query(q, n);
    lua_getfield(L, 2, "sign");
    lua_pushvalue(L, 1);
    lua_pushliteral(L, "user");
    lua_pushliteral(L, "secret");
    if (lua_pcall(L, 3, 1, 0) != LUA_OK || lua_rawlen(L, -1) != 32) abort();
  } else if (lua_type(L, -1) != LUA_TSTRING) {
    abort(); /* errors are messages naming the key */
  }
  lua_settop(L, 0);
  lua_gc(L, LUA_GCSTEP, 0);
  return 0;
}
