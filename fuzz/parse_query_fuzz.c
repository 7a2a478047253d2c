/*
 * libFuzzer harness for parse_query: the form parser (pure/form.c) through Lua (bind/form.c,
 * bind/formtable.c); form_fuzz.c fuzzes the parser alone, without Lua. Input: a byte that picks
 * max_input_vars, a byte that picks max_input_nesting_level, then the body.
 *
 * For every body: jc_form_parse never fails (nor crashes, nor hangs); no more pairs are dropped
 * than the body has; jc_form_push (under lua_pcall) gives a table of strings and tables, its
 * integer keys a sequence 1..n (a table empty below the top only where a forbidden key, "__Host-"
 * or "__Secure-", left PHP's walk after it made the levels before it), as many strings as
 * jc_form_count says; jc_form_scalar finds each top-level string under its PHP key, and no
 * table and no absent name; core.parse_query gives the same table and the same count of drops.
 * Then the round trip: build_query accepts whatever parse_query returns (within PHP's 64
 * levels), parse_query reads its bytes back to the same variables (PHP keys and values, order
 * aside: a string key "1" may join a list), and build_query writes those bytes again.
 *
 * And memory: parse_query runs once more in a Lua state whose allocator fails from a point the
 * input picks; it must succeed or raise "not enough memory" (or a stack overflow, where Lua could
 * not grow its stack), and leak nothing (the form is C
 * memory that parse_query must free before the error goes on; LeakSanitizer checks).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include <lualib.h>
#include "../src/bind/formtable.h"
#include "../src/pure/form.h"

int luaopen_justclick_core(lua_State *L);

/* Each table as a set of "path" = value, the path made of PHP's keys (Lua's integer i is PHP's
   i - 1, a string key is itself, length-prefixed so that no two paths meet). */
static const char driver[] =
    "local core = require 'justclick.core'\n"
    "local function flat(t, path, out, top)\n"
    "  local n = #t\n"
    "  assert(top or next(t) ~= nil or out.forbidden, 'an empty table below the top')\n"
    "  for k, v in pairs(t) do\n"
    "    local key\n"
    "    if math.type(k) == 'integer' then\n"
    "      assert(k >= 1 and k <= n, 'an integer key outside the sequence')\n"
    "      key = tostring(k - 1)\n"
    "    else\n"
    "      assert(type(k) == 'string', 'a key neither integer nor string')\n"
    "      key = k\n"
    "    end\n"
    "    local p = path .. '[' .. #key .. ':' .. key .. ']'\n"
    "    if type(v) == 'table' then\n"
    "      flat(v, p, out)\n"
    "    else\n"
    "      assert(type(v) == 'string', 'a value neither string nor table')\n"
    "      out[p] = v\n"
    "      out.n = out.n + 1\n"
    "    end\n"
    "  end\n"
    "  return out\n"
    "end\n"
    "local function same(a, b)\n"
    "  for k, v in pairs(a) do assert(b[k] == v, 'the round trip changed ' .. k) end\n"
    "  for k in pairs(b) do assert(a[k] ~= nil, 'the round trip added ' .. k) end\n"
    "end\n"
    "local lifted = {max_input_vars = false}\n"
    "return function(t, body, limits, dropped, round_trip)\n"
    "  local text = body:gsub('%+', ' '):gsub('%%(%x%x)', function(h) return string.char(tonumber(h, 16)) end)\n"
    "  local forbidden = text:find('Host-', 1, true) or text:find('Secure-', 1, true)\n"
    "  local a = flat(t, '', {n = 0, forbidden = forbidden}, true)\n"
    "  local t2, d2 = core.parse_query(body, limits)\n"
    "  assert(d2 == dropped, 'parse_query counts other drops')\n"
    "  same(a, flat(t2, '', {n = 0, forbidden = forbidden}, true))\n"
    "  if round_trip then\n"
    "    local s = core.build_query(t, lifted)\n"
    "    local back, d = core.parse_query(s, lifted)\n"
    "    assert(d == 0, 'dropped on the round trip')\n"
    "    same(a, flat(back, '', {n = 0, forbidden = forbidden}, true))\n"
    "    assert(core.build_query(back, lifted) == s, 'build_query wrote other bytes')\n"
    "  end\n"
    "  return a.n\n"
    "end\n";

static int push_form(lua_State *L) {
  jc_form_push(L, (const jc_form *)lua_touserdata(L, 1));
  return 1;
}

/* The failing allocator: once `fail_at` allocations that grow have been made, every later one
   fails (Lua retries once after a full collection), until the harness resets it. */
typedef struct {
  long countdown; /* < 0: never fail */
} failing;

static void *fail_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  failing *fa = (failing *)ud;
  if (nsize == 0) {
    free(ptr);
    return NULL;
  }
  if (ptr == NULL || nsize > osize) {
    if (fa->countdown == 0) return NULL;
    if (fa->countdown > 0) fa->countdown--;
  }
  return realloc(ptr, nsize);
}

static void push_limits(lua_State *L, const jc_form_limits *lim) {
  lua_createtable(L, 0, 2);
  if (lim->max_vars == 0) lua_pushboolean(L, 0);
  else lua_pushinteger(L, (lua_Integer)lim->max_vars);
  lua_setfield(L, -2, "max_input_vars");
  lua_pushinteger(L, lim->max_depth);
  lua_setfield(L, -2, "max_input_nesting_level");
}

static size_t pieces(const char *body, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++) n += body[i] == '&';
  return n + 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static lua_State *L, *M;
  static failing fa = {-1};
  static const size_t vars[] = {0, 1, 2, 3, 5, 8, 1000};
  static const int depths[] = {0, 1, 2, 3, 5, 64, 64, 100};
  const char *body;
  size_t len, count;
  jc_form_limits lim;
  jc_form *f;
  int t, status;

  if (L == NULL) {
    L = luaL_newstate();
    luaL_openlibs(L);
    luaL_requiref(L, "justclick.core", luaopen_justclick_core, 0);
    lua_pop(L, 1);
    if (luaL_loadstring(L, driver) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK) abort();
    lua_setglobal(L, "check");
    M = lua_newstate(fail_alloc, &fa);
    luaL_requiref(M, "justclick.core", luaopen_justclick_core, 0);
    lua_getfield(M, -1, "parse_query");
    lua_setglobal(M, "parse_query");
    lua_pop(M, 1);
  }
  if (size < 2) return 0;
  lim.max_vars = vars[data[0] % (sizeof vars / sizeof *vars)];
  lim.max_depth = depths[data[1] % (sizeof depths / sizeof *depths)];
  body = (const char *)data + 2;
  len = size - 2;

  f = jc_form_parse(body, len, &lim);
  if (f == NULL) abort();
  if (jc_form_dropped(f) > pieces(body, len)) abort();

  lua_settop(L, 0);
  lua_pushcfunction(L, push_form);
  lua_pushlightuserdata(L, f);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) abort();
  t = lua_gettop(L);

  lua_getglobal(L, "check");
  lua_pushvalue(L, t);
  lua_pushlstring(L, body, len);
  push_limits(L, &lim);
  lua_pushinteger(L, (lua_Integer)jc_form_dropped(f));
  lua_pushboolean(L, lim.max_depth <= 64);
  if (lua_pcall(L, 5, 1, 0) != LUA_OK) {
    fprintf(stderr, "%s\n", lua_tostring(L, -1));
    abort();
  }
  count = (size_t)lua_tointeger(L, -1);
  lua_pop(L, 1);
  if (count != jc_form_count(f)) abort();

  /* jc_form_scalar: every top-level value under its PHP key */
  lua_pushnil(L);
  while (lua_next(L, t)) {
    char num[32];
    const char *name, *value = NULL;
    size_t n, vn = 0;
    int found;
    if (lua_type(L, -2) == LUA_TNUMBER) {
      n = (size_t)snprintf(num, sizeof num, "%lld", (long long)lua_tointeger(L, -2) - 1);
      name = num;
    } else {
      name = lua_tolstring(L, -2, &n);
    }
    found = jc_form_scalar(f, name, n, &value, &vn);
    if (lua_type(L, -1) == LUA_TSTRING) {
      size_t sn;
      const char *s = lua_tolstring(L, -1, &sn);
      if (!found || vn != sn || memcmp(value, s, sn) != 0) abort();
    } else if (found) {
      abort();
    }
    lua_pop(L, 1);
  }
  {
    const char *value;
    size_t vn;
    if (jc_form_scalar(f, "a\0b", 3, &value, &vn)) abort(); /* no top-level name holds NUL */
  }
  jc_form_free(f);
  lua_settop(L, 0);
  lua_gc(L, LUA_GCSTEP, 0);

  /* parse_query where memory runs out at some allocation */
  lua_settop(M, 0);
  lua_getglobal(M, "parse_query");
  lua_pushlstring(M, body, len);
  push_limits(M, &lim);
  fa.countdown = (long)(size * 7 % 97);
  status = lua_pcall(M, 2, 2, 0);
  fa.countdown = -1;
  /* parse_query raises the error again with lua_error, as a runtime error with the message */
  if (status != LUA_OK && status != LUA_ERRMEM &&
      !(lua_type(M, -1) == LUA_TSTRING && (strcmp(lua_tostring(M, -1), "not enough memory") == 0 ||
                                           strstr(lua_tostring(M, -1), "stack overflow") != NULL))) {
    fprintf(stderr, "parse_query with failing allocations: %s\n", lua_tostring(M, -1));
    abort();
  }
  lua_settop(M, 0);
  lua_gc(M, LUA_GCCOLLECT, 0);
  return 0;
}
