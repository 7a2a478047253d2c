/* A parsed form as a Lua table, built from the parser's walk (jc_form_next). */
#include <limits.h>
#include <lauxlib.h>
#include "../pure/phpfmt.h"
#include "support.h"
#include "formtable.h"

static int size_to_int(size_t n) {
  return n > INT_MAX ? INT_MAX : (int)n;
}

/* Pushes the step's key as Lua's: the sequence index, the string, or PHP's integer key as a
   string. */
static void push_key(lua_State *L, const jc_form_step *s) {
  if (s->in_seq) {
    lua_pushinteger(L, (lua_Integer)s->ikey + 1);
  } else if (s->key != NULL) {
    lua_pushlstring(L, s->key, s->key_len);
  } else {
    char num[JC_NUMBUF];
    lua_pushlstring(L, num, jc_fmt_integer(s->ikey, num));
  }
}

void jc_form_push(lua_State *L, const jc_form *f) {
  jc_form_push_typed(L, f, NULL);
}

/* Each open table sits on the Lua stack above the key it goes under in its parent. */
void jc_form_push_typed(lua_State *L, const jc_form *f, jc_form_typer typer) {
  jc_form_cursor c;
  jc_form_step s;
  size_t seq, other;
  luaL_checkstack(L, 4, "justclick: form nested too deep");
  jc_form_sizes(f, &seq, &other);
  lua_createtable(L, size_to_int(seq), size_to_int(other));
  jc_form_start(&c, f);
  while (jc_form_next(&c, &s)) {
    if (s.what == JC_FORM_CLOSE) {
      lua_rawset(L, -3); /* parent, key, table */
    } else if (s.what == JC_FORM_OPEN) {
      luaL_checkstack(L, 4, "justclick: form nested too deep");
      push_key(L, &s);
      lua_createtable(L, size_to_int(s.seq), size_to_int(s.other));
    } else {
      if (!s.in_seq) push_key(L, &s);
      if (typer == NULL || !typer(L, s.key, s.key_len, s.depth, s.value, s.value_len))
        lua_pushlstring(L, s.value, s.value_len);
      if (s.in_seq) lua_rawseti(L, -2, (lua_Integer)s.ikey + 1);
      else lua_rawset(L, -3);
    }
  }
}
