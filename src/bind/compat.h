/* The Lua 5.1 / LuaJIT 2.1 / 5.3 / 5.4 differences, in one place: the module is written against
   Lua 5.4's C API, and this header supplies what an older Lua lacks. Under 5.1 and LuaJIT every
   number is a double; an integral one with |x| < 2^53 counts as an integer (ids, timestamps,
   sums in kopecks), as the README's "Lua versions" table says. */
#ifndef JC_COMPAT_H
#define JC_COMPAT_H

#include <stdio.h>
#include <lua.h>
#include <lauxlib.h>

#ifndef LUA_OK
#define LUA_OK 0
#endif

#if LUA_VERSION_NUM < 504
#define lua_newuserdatauv(L, size, nuv) lua_newuserdata((L), (size))
#endif

/* The largest integer Lua holds exactly: 2^63 - 1, or 2^53 - 1 where numbers are doubles. */
#if LUA_VERSION_NUM < 503
#define JC_LUA_INTEGER_MAX 9007199254740991LL
#else
#define JC_LUA_INTEGER_MAX 9223372036854775807LL
#endif

#if LUA_VERSION_NUM < 503
/* Whether the value at i is a number that the module writes as an integer. */
int jc_compat_isinteger(lua_State *L, int i);
#define lua_isinteger jc_compat_isinteger

/* Lua 5.4's lua_stringtonumber, on the decimal and hexadecimal forms the module reads, without
   the locale's decimal point: 0 when s is no number, else strlen(s) + 1 and the number pushed. */
size_t jc_compat_stringtonumber(lua_State *L, const char *s);
#define lua_stringtonumber jc_compat_stringtonumber
#endif

#if LUA_VERSION_NUM < 502
/* Lua 5.1 has none of these; LuaJIT has some, which these names leave alone. */
int jc_compat_absindex(lua_State *L, int i);
#define lua_absindex jc_compat_absindex
void jc_compat_setfuncs(lua_State *L, const luaL_Reg *l, int nup);
#define luaL_setfuncs jc_compat_setfuncs
void jc_compat_setmetatable(lua_State *L, const char *tname);
#define luaL_setmetatable jc_compat_setmetatable
int jc_compat_rawgetp(lua_State *L, int i, const void *p);
#define lua_rawgetp jc_compat_rawgetp
void jc_compat_rawsetp(lua_State *L, int i, const void *p);
#define lua_rawsetp jc_compat_rawsetp
#endif

/* The stream of the Lua file at i (io.stderr, say), or NULL when it is closed. */
FILE *jc_compat_tofile(lua_State *L, int i);

#endif
