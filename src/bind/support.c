/* The bindings' shared support: see support.h. */
#include <stdarg.h>
#include <string.h>
#include <lauxlib.h>
#include "encode.h"
#include "support.h"

#define JC_STATE_TYPE "justclick.state"

/* One per loaded module, passed to every function as upvalue 1. It holds scratch space, so
   that calls in the steady state allocate nothing. A finalizer may call the core while a call is
   under way (any Lua allocation may run one), so a call claims `query` through jc_query_call
   (`busy`). After the state's own finalizer, `busy` stays set: finalizers that run later, as the
   Lua state closes, work with scratch of their own. */
typedef struct {
  jc_query query;
  jc_memo memo; /* query's */
  int busy;
} jc_state;

static const char state_key = 0; /* registry[&state_key]: the state, while the module opens */

/* ---- registration ---- */

static int state_gc(lua_State *L) {
  jc_state *s = (jc_state *)luaL_checkudata(L, 1, JC_STATE_TYPE);
  jc_query_free(&s->query);
  jc_memo_close(L, &s->memo);
  s->busy = 1; /* for good: calls from later finalizers take scratch of their own */
  return 0;
}

void jc_module_begin(lua_State *L, int with_state) {
  lua_newtable(L);
  lua_newtable(L);
  lua_setfield(L, -2, "safe");
  if (with_state) {
    jc_state *s = (jc_state *)lua_newuserdatauv(L, sizeof *s, 0);
    memset(s, 0, sizeof *s);
    /* The finalizer is in place before anything is allocated, so nothing leaks on failure. */
    if (luaL_newmetatable(L, JC_STATE_TYPE)) {
      lua_pushcfunction(L, state_gc);
      lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    jc_memo_open(L, &s->memo);
    s->query.memo = &s->memo;
    /* Held in the registry only while the files add their functions: then their upvalues hold
       it. */
    lua_rawsetp(L, LUA_REGISTRYINDEX, &state_key);
  }
}

void jc_module_end(lua_State *L) {
  lua_pushnil(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &state_key);
}

void jc_add_functions(lua_State *L, const luaL_Reg *l) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &state_key);
  luaL_setfuncs(L, l, 1);
}

void jc_add_safe_functions(lua_State *L, const luaL_Reg *l) {
  lua_getfield(L, -1, "safe");
  jc_add_functions(L, l);
  lua_pop(L, 1);
}

void jc_new_type(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction gc) {
  if (luaL_newmetatable(L, name)) {
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__close");
  }
  lua_pop(L, 1);
}

/* ---- the call protocol ---- */

typedef struct {
  jc_query *q;
  jc_query_body body;
  void *ud;
} protected_job;

/* Runs in lua_pcall: the params at 1, the job at 2. */
static int protected_call(lua_State *L) {
  protected_job *job = (protected_job *)lua_touserdata(L, 2);
  lua_settop(L, 1);
  job->body(L, job->q, job->ud);
  return 1;
}

int jc_query_call(lua_State *L, int params, jc_query_body body, void *ud, int safe) {
  jc_state *s = (jc_state *)lua_touserdata(L, lua_upvalueindex(1));
  jc_query own;
  protected_job job;
  int shared, status, refused;
  memset(&own, 0, sizeof own);
  params = lua_absindex(L, params);
  /* Before the claim: Lua 5.1 and LuaJIT allocate a closure for a C function, and a finalizer
     that raises there must not leave the scratch claimed for good. */
  lua_pushcfunction(L, protected_call);
  lua_pushvalue(L, params);
  lua_pushlightuserdata(L, &job);
  shared = !s->busy;
  job.q = shared ? &s->query : &own;
  job.q->refused = 0;
  job.body = body;
  job.ud = ud;
  s->busy = 1;
  status = lua_pcall(L, 2, 1, 0);
  refused = status == LUA_ERRRUN && job.q->refused; /* read before the scratch goes */
  if (shared) {
    jc_query_trim(&s->query);
    s->busy = 0;
  } else {
    jc_query_free(&own);
  }
  if (status == LUA_OK) return 1;
  if (!refused) return lua_error(L);
  if (safe) return 0;
  luaL_where(L, 1); /* the Lua code that called the core function */
  lua_pushliteral(L, "justclick: ");
  lua_pushvalue(L, -3);
  lua_concat(L, 3);
  return lua_error(L);
}

static int push_error_table(lua_State *L, const char *kind);

/* A core function's safe form: nil and the error {kind = "input", message = the problem} when
   its input was refused. */
int jc_query_refused(lua_State *L) {
  return push_error_table(L, "input");
}


/* ---- failures ---- */

/* The one place an error table is made: nil, then {kind =, message = the string on top}. */
static int push_error_table(lua_State *L, const char *kind) {
  lua_pushnil(L);
  lua_insert(L, -2);
  lua_createtable(L, 0, 4);
  lua_pushstring(L, kind);
  lua_setfield(L, -2, "kind");
  lua_insert(L, -2);
  lua_setfield(L, -2, "message");
  return 2;
}

int jc_push_error(lua_State *L, const char *kind, const char *message) {
  lua_pushstring(L, message);
  return push_error_table(L, kind);
}

int jc_push_errorf(lua_State *L, const char *kind, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  lua_pushvfstring(L, fmt, ap);
  va_end(ap);
  return push_error_table(L, kind);
}

int jc_push_io_error(lua_State *L, int errnum, const char *path) {
  if (path != NULL) {
    lua_pushfstring(L, "%s: %s", path, strerror(errnum));
  } else {
    lua_pushstring(L, strerror(errnum));
  }
  push_error_table(L, "io");
  if (path != NULL) {
    lua_pushstring(L, path);
    lua_setfield(L, -2, "path");
  }
  lua_pushinteger(L, errnum);
  lua_setfield(L, -2, "errno");
  return 2;
}
