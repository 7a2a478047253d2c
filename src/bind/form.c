/* parse_query for Lua: the form parser of pure/form.c, its tree as a table (formtable.c). */
#include <limits.h>
#include <string.h>
#include <lauxlib.h>
#include "../pure/form.h"
#include "encode.h"
#include "formtable.h"
#include "support.h"
#include "form.h"

/* Reads parse_query's options table at idx into lim. */
static void read_options(lua_State *L, int idx, jc_form_limits *lim) {
  if (lua_isnoneornil(L, idx)) return;
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    size_t n = 0;
    const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tolstring(L, -2, &n) : NULL;
    if (k == NULL) {
      luaL_error(L, "justclick: options are keyed by name");
    } else if (n == 14 && memcmp(k, "max_input_vars", 14) == 0) {
      lim->max_vars = jc_max_input_vars(L, -1);
    } else if (n == 23 && memcmp(k, "max_input_nesting_level", 23) == 0) {
      if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 0 && lua_tointeger(L, -1) <= INT_MAX) {
        lim->max_depth = (int)lua_tointeger(L, -1);
      } else {
        luaL_error(L, "justclick: max_input_nesting_level must be an integer from 0 to %d", INT_MAX);
      }
    } else {
      luaL_error(L, "justclick: unknown option '%s'", k);
    }
    lua_pop(L, 1);
  }
}

/* Runs under lua_pcall: the form at 1. */
static int push_protected(lua_State *L) {
  jc_form_push(L, (const jc_form *)lua_touserdata(L, 1));
  return 1;
}

/* parse_query(body [, options]) -> table, dropped */
static int l_parse_query(lua_State *L) {
  jc_form_limits lim = JC_FORM_LIMITS_DEFAULT;
  const char *body;
  size_t len, dropped;
  jc_form *f;
  int status;
  luaL_checktype(L, 1, LUA_TSTRING);
  read_options(L, 2, &lim);
  body = lua_tolstring(L, 1, &len);
  f = jc_form_parse(body, len, &lim);
  if (f == NULL) {
    lua_pushliteral(L, "not enough memory");
    return lua_error(L);
  }
  /* The form is C memory: the pushing runs protected, and the form is freed before any error
     goes on. A light C function and a light userdata allocate nothing. */
  lua_pushcfunction(L, push_protected);
  lua_pushlightuserdata(L, f);
  status = lua_pcall(L, 1, 1, 0);
  dropped = jc_form_dropped(f);
  jc_form_free(f);
  if (status != LUA_OK) return lua_error(L);
  lua_pushinteger(L, (lua_Integer)dropped);
  return 2;
}

static const luaL_Reg functions[] = {
  {"parse_query", l_parse_query},
  {NULL, NULL},
};

int jc_open_form(lua_State *L) {
  luaL_setfuncs(L, functions, 0);
  return 0;
}
