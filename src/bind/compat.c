/* What compat.h promises an older Lua: Lua 5.4's behaviour, written with the 5.1 C API. */
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <lualib.h> /* LUA_FILEHANDLE, in Lua 5.1 */
#include "compat.h"
#include "../pure/limits.h"

#if LUA_VERSION_NUM < 503
int jc_compat_isinteger(lua_State *L, int i) {
  lua_Number n;
  if (lua_type(L, i) != LUA_TNUMBER) return 0;
  n = lua_tonumber(L, i);
  return n == floor(n) && fabs(n) < JC_EXACT_BOUND; /* every integer below is exact */
}

size_t jc_compat_stringtonumber(lua_State *L, const char *s) {
  char buf[128], *end;
  size_t len = strlen(s), i;
  char point = localeconv()->decimal_point[0];
  double d;
  /* strtod also reads "inf" and "nan", which Lua does not, and the locale's decimal point */
  if (len == 0 || len >= sizeof buf || strpbrk(s, "iInN") != NULL) return 0;
  if (point != '.' && memchr(s, point, len) != NULL) return 0;
  memcpy(buf, s, len + 1);
  /* strtod reads the locale's decimal point; Lua numbers have a '.' */
  for (i = 0; i < len; i++)
    if (buf[i] == '.') buf[i] = point;
  d = strtod(buf, &end);
  if (end == buf) return 0;
  while (*end == ' ' || (*end >= '\t' && *end <= '\r')) end++;
  if (*end != '\0') return 0;
  lua_pushnumber(L, d);
  return len + 1;
}
#endif

#if LUA_VERSION_NUM < 502
int jc_compat_absindex(lua_State *L, int i) {
  return i > 0 || i <= LUA_REGISTRYINDEX ? i : lua_gettop(L) + i + 1;
}

void jc_compat_setfuncs(lua_State *L, const luaL_Reg *l, int nup) {
  int i;
  luaL_checkstack(L, nup + 1, "too many upvalues");
  for (; l->name != NULL; l++) {
    for (i = 0; i < nup; i++) lua_pushvalue(L, -nup);
    lua_pushcclosure(L, l->func, nup);
    lua_setfield(L, -(nup + 2), l->name);
  }
  lua_pop(L, nup);
}

void jc_compat_setmetatable(lua_State *L, const char *tname) {
  luaL_getmetatable(L, tname);
  lua_setmetatable(L, -2);
}

int jc_compat_rawgetp(lua_State *L, int i, const void *p) {
  i = jc_compat_absindex(L, i);
  lua_pushlightuserdata(L, (void *)(size_t)p);
  lua_rawget(L, i);
  return lua_type(L, -1);
}

void jc_compat_rawsetp(lua_State *L, int i, const void *p) {
  i = jc_compat_absindex(L, i);
  lua_pushlightuserdata(L, (void *)(size_t)p);
  lua_insert(L, -2);
  lua_rawset(L, i);
}
#endif

FILE *jc_compat_tofile(lua_State *L, int i) {
#if LUA_VERSION_NUM >= 502
  luaL_Stream *s = (luaL_Stream *)luaL_checkudata(L, i, LUA_FILEHANDLE);
  return s->closef != NULL ? s->f : NULL;
#else
  /* Lua 5.1's file is a FILE *, NULL once closed; LuaJIT's starts with one */
  return *(FILE **)luaL_checkudata(L, i, LUA_FILEHANDLE);
#endif
}
