/*
 * libFuzzer harness for build_query, sign and signed_body: fuzz bytes become a nested Lua table
 * of every value type (strings with hostile bytes, integers, any double including NaN and
 * infinities, booleans, null, functions), with keys of every kind (hostile strings, integers,
 * floats, booleans, tables), cycles, nesting past PHP's limit, and metatables (__index, __pairs
 * and __len, which are refused; __gc, __tostring or a marker, which are not). The encoder must
 * never crash, must terminate, and must either raise a string error or return well-formed
 * output.
 *
 * Finalizers that call the core while it runs: after the root, the bytes may give a table, a
 * count and a list length. Each call is then made a second time with that many copies of the
 * table made garbage, each with a __gc that calls build_query, sign or signed_body on its copy
 * (which may fail; the first copy may also hold a list long enough to make the core grow or
 * free its scratch), and with the collector (generational, stopped outside these windows) owing
 * a step: the first chance the call gives it (a string pushed for an error message, or for the
 * result) runs a collection that calls every such finalizer. The second outcome must equal the
 * first, byte for byte. On the code before jc_query_call this found a corrupted message within
 * a few hundred executions, and, without that comparison, ASan's heap-use-after-free in fail().
 */
#include <stdint.h>
#include <stdio.h>
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
  KEY("\t"), KEY("x\0y"), KEY("hash"), KEY("hash[x]"),
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
      static const char *const names[] = {"a", "b", "goods", "utm", "bill_email", "good_name", "hash"};
      lua_pushstring(L, names[byte(in) % 7]);
    }
  }
}

static void push_value(lua_State *L, input *in, int depth, int root);

/* registry[&metatables]: the metatables values may get, see push_value. */
static const char metatables = 0;
#define N_METATABLES 8
/* registry[&reentrant]: the metatables of the garbage copies, one per function of the core. */
static const char reentrant = 0;
static const char *const calls[] = {"build_query", "sign", "signed_body"};

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
  switch (byte(in) % 14) {
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
    case 12: /* a table with a metatable */
      if (depth < 6) push_table(L, in, depth, root);
      else lua_createtable(L, 0, 0);
      lua_rawgetp(L, LUA_REGISTRYINDEX, &metatables);
      lua_rawgeti(L, -1, 1 + (lua_Integer)(byte(in) % N_METATABLES));
      lua_setmetatable(L, -3);
      lua_pop(L, 1);
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

/* Pushes core[calls[which]] and its arguments for the table at `t`; returns how many. */
static int push_call(lua_State *L, int which, int t) {
  t = lua_absindex(L, t);
  luaL_checkstack(L, 6, "fuzz: call");
  lua_getglobal(L, "core");
  lua_getfield(L, -1, calls[which]);
  lua_remove(L, -2);
  lua_pushvalue(L, t);
  if (which == 0) return 1;
  lua_pushliteral(L, "user");
  lua_pushliteral(L, "secret");
  return 3;
}

/* Makes the call push_call prepared; leaves its result or its error on the stack, having
   checked it. Returns whether it succeeded. */
static int finish_call(lua_State *L, int which, int nargs) {
  size_t n;
  const char *s;
  int ok = lua_pcall(L, nargs, 1, 0) == LUA_OK;
  if (lua_type(L, -1) != LUA_TSTRING) abort(); /* results and errors are strings */
  s = lua_tolstring(L, -1, &n);
  if (ok && which == 1 && n != 32) abort();
  if (ok && which != 1) {
    if (memchr(s, '\0', n)) abort();
    check_query(s, n);
  }
  return ok;
}

/* __gc of the garbage copies: the core again, on the copy. */
static int reenter(lua_State *L) {
  int which = (int)lua_tointeger(L, lua_upvalueindex(1));
  finish_call(L, which, push_call(L, which, 1));
  return 0;
}

static int returns_nothing(lua_State *L) {
  (void)L;
  return 0;
}

static void make_metatables(lua_State *L) {
  static const char *const events[] = {"__index", "__index", "__pairs", "__len", "__tostring", "__gc"};
  lua_createtable(L, N_METATABLES, 0);
  for (int i = 0; i < N_METATABLES; i++) {
    lua_createtable(L, 0, 1);
    if (i == 0) { /* __index: a table */
      lua_newtable(L);
      lua_setfield(L, -2, events[i]);
    } else if (i < 6) {
      lua_pushcfunction(L, returns_nothing);
      lua_setfield(L, -2, events[i]);
    } else if (i == 6) { /* a marker, as JSON libraries set */
      lua_pushliteral(L, "array");
      lua_setfield(L, -2, "__name");
    } else { /* a value in the params that calls the core when it is collected */
      lua_pushinteger(L, 0);
      lua_pushcclosure(L, reenter, 1);
      lua_setfield(L, -2, "__gc");
    }
    lua_rawseti(L, -2, i + 1);
  }
  lua_rawsetp(L, LUA_REGISTRYINDEX, &metatables);
  lua_createtable(L, 3, 0);
  for (int i = 0; i < 3; i++) {
    lua_createtable(L, 0, 1);
    lua_pushinteger(L, i);
    lua_pushcclosure(L, reenter, 1);
    lua_setfield(L, -2, "__gc");
    lua_rawseti(L, -2, i + 1);
  }
  lua_rawsetp(L, LUA_REGISTRYINDEX, &reentrant);
}

/* Makes `count` copies of the table at `t`, each with a finalizer that calls the core, and
   drops them: garbage for the next collection. The first copy also holds the list at `big`, if
   not 0: long enough to make the core grow its scratch, or free it as oversized. */
static void make_garbage(lua_State *L, int t, int big, int count) {
  t = lua_absindex(L, t);
  luaL_checkstack(L, 6, "fuzz: garbage");
  lua_rawgetp(L, LUA_REGISTRYINDEX, &reentrant);
  for (int i = 0; i < count; i++) {
    lua_createtable(L, 0, 0);
    lua_pushnil(L);
    while (lua_next(L, t)) {
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_rawset(L, -4);
    }
    if (i == 0 && big != 0) {
      lua_pushvalue(L, big);
      lua_setfield(L, -2, "~big");
    }
    lua_rawgeti(L, -2, 1 + i % 3);
    lua_setmetatable(L, -2);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static lua_State *L;
  input in = {data, size};
  int garbage = 0;
  if (L == NULL) {
    L = luaL_newstate();
    luaL_openlibs(L);
    luaL_requiref(L, "justclick.core", luaopen_justclick_core, 0);
    lua_setglobal(L, "core");
    make_metatables(L);
    /* Generational: a collection, young or major, ends by calling every pending finalizer. */
    lua_gc(L, LUA_GCGEN, 0, 0);
    lua_gc(L, LUA_GCSTOP);
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
  if (in.n > 0) {
    int big = (int)byte(&in);
    garbage = (int)(byte(&in) % 16);
    push_table(L, &in, 1, 1); /* 2: what the garbage copies hold */
    /* 3: a list for the first copy, for 7 values of the byte: 4 to 17000 entries, enough to
       make the core grow its scratch of entries, or, past 16384, free it after the call. */
    big = big > 248 ? 17000 >> 2 * (255 - big) : 0;
    lua_createtable(L, big, 0);
    for (int i = 1; i <= big; i++) {
      lua_pushboolean(L, 1);
      lua_rawseti(L, -2, i);
    }
  }

  for (int which = 0; which < 3; which++) {
    size_t n;
    const char *s;
    int ok = finish_call(L, which, push_call(L, which, 1));
    if (garbage > 0) {
      /* Again, with a collection due at the first chance the call gives the collector. */
      int nargs, ok2;
      size_t n2;
      const char *s2;
      make_garbage(L, 2, lua_rawlen(L, 3) > 0 ? 3 : 0, garbage);
      lua_createtable(L, 0, 0);
      nargs = push_call(L, which, 1);
      lua_gc(L, LUA_GCRESTART);
      /* The collector owes a step once memory grows, as a table growing makes it grow (with no
         step taken there); the call's first lua_push* of a string, say, then takes it. */
      lua_pushboolean(L, 1);
      lua_rawseti(L, -nargs - 3, 1);
      ok2 = finish_call(L, which, nargs);
      lua_gc(L, LUA_GCSTOP);
      lua_remove(L, -2);
      s = lua_tolstring(L, -2, &n);
      s2 = lua_tolstring(L, -1, &n2);
      if (ok != ok2 || n != n2 || memcmp(s, s2, n) != 0) {
        fprintf(stderr, "finalizers changed what %s gives:\n%s\n%s\n", calls[which], s, s2);
        abort();
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  lua_settop(L, 0);
  /* Free this input's objects: libFuzzer takes more mallocs than frees for a possible leak, and
     checks, slowly. A young collection does, but finalized copies take a full one. */
  lua_gc(L, garbage > 0 ? LUA_GCCOLLECT : LUA_GCSTEP, 0);
  return 0;
}
