/* notification_check for Lua: the check of pure/notice.c, and the body as a table whose sums
   are numbers. */
#include <float.h>
#include <string.h>
#include <lauxlib.h>
#include "../pure/form.h"
#include "../pure/notice.h"
#include "formtable.h"
#include "support.h"
#include "notify.h"

/* A plain decimal number, as the form wrote it: [+-]digits[.digits][e[+-]digits]. */
static int is_decimal(const char *p, size_t n) {
  size_t i = 0, digits = 0;
  if (i < n && (p[i] == '+' || p[i] == '-')) i++;
  for (; i < n && p[i] >= '0' && p[i] <= '9'; i++) digits++;
  if (i < n && p[i] == '.')
    for (i++; i < n && p[i] >= '0' && p[i] <= '9'; i++) digits++;
  if (digits == 0) return 0;
  if (i < n && (p[i] == 'e' || p[i] == 'E')) {
    size_t exp = 0;
    if (++i < n && (p[i] == '+' || p[i] == '-')) i++;
    for (; i < n && p[i] >= '0' && p[i] <= '9'; i++) exp++;
    if (exp == 0) return 0;
  }
  return i == n && n < 64;
}

/* The fast path below needs doubles computed as doubles (no x87 excess precision). */
#if FLT_EVAL_METHOD == 0 && LUA_FLOAT_TYPE == LUA_FLOAT_DOUBLE
#define FAST_DECIMAL 1
#else
#define FAST_DECIMAL 0
#endif

/* 10^0 .. 10^22: each exact as a double. */
static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                     1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Pushes a decimal (is_decimal's) as Lua reads it, lua_stringtonumber then a float. Without an
   exponent, and 15 digits at most, the digits m are exact in a double and so is 10^k: m / 10^k
   is then one correctly rounded division, the double strtod gives (and "-0" is 0, as Lua reads
   it as the integer 0). Anything else goes through Lua. */
static int push_decimal(lua_State *L, const char *v, size_t len) {
  size_t i = 0, digits = 0, frac = 0;
  int neg = 0, point = 0;
  long long m = 0;
  char num[64];
  if (v[0] == '+' || v[0] == '-') neg = v[i++] == '-';
  for (; i < len; i++) {
    if (v[i] == '.') {
      point = 1;
      continue;
    }
    if (v[i] < '0' || v[i] > '9' || ++digits > 15) break; /* an exponent, or too many digits */
    m = m * 10 + (v[i] - '0');
    frac += (size_t)point;
  }
#if FAST_DECIMAL
  if (i == len) {
    double x = (double)m / pow10_exact[frac];
    lua_pushnumber(L, neg && (point || m != 0) ? -x : x);
    return 1;
  }
#endif
  memcpy(num, v, len); /* len < 64: is_decimal */
  num[len] = '\0';
  /* Lua's reading, not strtod's: a locale with a decimal comma does not cut "1500.50" */
  if (lua_stringtonumber(L, num) == 0) return 0;
  lua_pushnumber(L, lua_tonumber(L, -1));
  lua_remove(L, -2);
  return 1;
}

/* Which of a notification's keys is k[0..n): what notice_typer does with its value. */
enum { PLAIN, DECIMAL, INTEGER, BILL_ID };
static int key_kind(const char *k, size_t n) {
  switch (n) { /* by length first: most keys are none of these */
  case 2: return memcmp(k, "id", 2) == 0 ? BILL_ID : PLAIN;
  case 3: return memcmp(k, "sum", 3) == 0 ? DECIMAL : PLAIN;
  case 5: return memcmp(k, "price", 5) == 0 ? DECIMAL : PLAIN;
  case 10: return memcmp(k, "partner_id", 10) == 0 ? INTEGER : PLAIN;
  case 11:
    if (memcmp(k, "partner_fee", 11) == 0) return DECIMAL;
    return memcmp(k, "partner_lvl", 11) == 0 ? INTEGER : PLAIN;
  case 12: return memcmp(k, "is_recurrent", 12) == 0 ? INTEGER : PLAIN;
  case 14: return memcmp(k, "prepayment_sum", 14) == 0 ? DECIMAL : PLAIN;
  case 16: return memcmp(k, "last_payment_sum", 16) == 0 ? DECIMAL : PLAIN;
  default: return PLAIN;
  }
}

/* A notification's numbers as numbers: sums and fees as numbers, the bill id (at the top; an
   item's id is a product code) and partner ids and levels as integers. */
static int notice_typer(lua_State *L, const char *key, size_t n, int depth, const char *v, size_t len) {
  int kind;
  if (key == NULL || len == 0 || (kind = key_kind(key, n)) == PLAIN) return 0;
  if (kind == DECIMAL) {
    return is_decimal(v, len) && push_decimal(L, v, len);
  }
  if (kind == INTEGER || depth == 0) {
    lua_Integer x = 0;
    if (len > 18) return 0;
    for (size_t i = 0; i < len; i++) {
      if (v[i] < '0' || v[i] > '9') return 0;
      x = x * 10 + (v[i] - '0');
    }
    if (x > JC_LUA_INTEGER_MAX) return 0; /* kept as its text where Lua would round it */
    lua_pushinteger(L, x);
    return 1;
  }
  return 0;
}

#define JC_FORM_BOX "justclick.form"

static int form_box_gc(lua_State *L) {
  jc_form **box = luaL_checkudata(L, 1, JC_FORM_BOX);
  jc_form_free(*box);
  *box = NULL;
  return 0;
}

/* notification_check(body, secret) -> kind, id, key, form | nil, err (kind "input" or "forged"): the
   check above, and the body's form as parse_query reads it, so that notification() parses once.
   secret false: a body from the inbox, verified when it came (with the key of that day). */
static int l_notification_check(lua_State *L) {
  size_t body_len, secret_len = 0;
  const char *body = luaL_checklstring(L, 1, &body_len);
  const char *secret = lua_isboolean(L, 2) && !lua_toboolean(L, 2) ? NULL : luaL_checklstring(L, 2, &secret_len);
  jc_form_limits limits = JC_FORM_LIMITS_DEFAULT;
  jc_form **box = lua_newuserdatauv(L, sizeof *box, 0); /* frees the form if a push below raises */
  jc_notice n;
  int rc;
  *box = NULL;
  luaL_setmetatable(L, JC_FORM_BOX);
  if ((*box = jc_form_parse(body, body_len, &limits)) == NULL) return luaL_error(L, "not enough memory");
  if (jc_form_dropped(*box) > 0) {
    rc = JC_NOTICE_INPUT;
    n.problem = "not a notification: more variables or deeper nesting than PHP reads";
  } else {
    rc = jc_notice_check(*box, secret, secret_len, &n);
  }
  if (rc != JC_NOTICE_OK) {
    return jc_push_error(L, rc == JC_NOTICE_FORGED ? "forged" : "input", n.problem);
  }
  if (n.id > JC_LUA_INTEGER_MAX) { /* Lua 5.1 and LuaJIT: it would come back as another number */
    return jc_push_error(L, "input", "its bill id is past 2^53, which this Lua's numbers cannot hold exactly");
  }
  lua_pushstring(L, n.kind);
  lua_pushinteger(L, (lua_Integer)n.id);
  lua_pushstring(L, n.key);
  jc_form_push_typed(L, *box, notice_typer);
  jc_form_free(*box);
  *box = NULL;
  return 4;
}

/* notification_form(body) -> form: a stored body's form, typed as notification_check's, without
   checking it again: the receiver checked it when it came, and its kind and bill id come back
   from the inbox with it. */
static int l_notification_form(lua_State *L) {
  size_t body_len;
  const char *body = luaL_checklstring(L, 1, &body_len);
  jc_form_limits limits = JC_FORM_LIMITS_DEFAULT;
  jc_form **box = lua_newuserdatauv(L, sizeof *box, 0); /* frees the form if a push below raises */
  *box = NULL;
  luaL_setmetatable(L, JC_FORM_BOX);
  if ((*box = jc_form_parse(body, body_len, &limits)) == NULL) return luaL_error(L, "not enough memory");
  jc_form_push_typed(L, *box, notice_typer);
  jc_form_free(*box);
  *box = NULL;
  return 1;
}

static const luaL_Reg functions[] = {
  {"notification_check", l_notification_check},
  {"notification_form", l_notification_form},
  {NULL, NULL},
};

int jc_open_notify(lua_State *L) {
  luaL_newmetatable(L, JC_FORM_BOX);
  lua_pushcfunction(L, form_box_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  jc_add_functions(L, functions);
  return 0;
}
