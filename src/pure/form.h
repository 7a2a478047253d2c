/*
 * PHP form bytes -> a tree, exactly as PHP 8 builds $_POST from an
 * application/x-www-form-urlencoded body; core.parse_query (bind/form.c) is its Lua face.
 *
 * The rules (php-src main/php_variables.c: add_post_var, add_post_vars,
 * php_register_variable_ex; main/php_url.c php_url_decode; zend_hash's integer keys). Each was
 * checked against PHP 8.2 (spec/parse_query_spec.lua: parse_str and a real $_POST):
 *
 *  - The body is split on '&' only. A pair without '=' has the value "". The pieces between two
 *    '&' count as variables even when empty ("a=1&&b=2" is three), a final '&' does not.
 *  - Name and value are decoded: '+' is a space, '%' and two hex digits a byte; any other '%'
 *    stays as it is ("%zz", "%4").
 *  - The name is read as a C string: it ends at its first NUL byte (raw or %00). The value keeps
 *    every byte.
 *  - Leading spaces of the name are dropped. Up to the first '[', ' ' and '.' become '_'. An empty
 *    name (also "[a]", " ", "=x") drops the variable.
 *  - Each "[...]" is one level down; a level's key ends at the first ']'. "[]", and a single
 *    blank in brackets ("[ ]", "[\t]"; C isspace), append with the next integer key. After a ']',
 *    anything but '[' ends the name: the rest is ignored ("a[b]c" is a[b]).
 *  - A '[' with no ']' after it: at the first level, it and every ' ', '.' and '[' after it
 *    become '_', and the whole name is one plain variable ("a[b.c d[e" is a_b_c_d_e; PHP 8 does
 *    this; PHP 7 kept the rest as it was). Deeper down the unmatched part is ignored
 *    ("a[b][c" is a[b]).
 *  - Keys are PHP array keys: a key that is the canonical decimal of a 64-bit integer ("5",
 *    "-1", "0", "-9223372036854775808"; not "05", "-0", "+1", "9223372036854775808") is the
 *    integer. Appending uses 1 + the largest integer key so far (0 in an array with none; -4
 *    after -5); after the key 9223372036854775807 an append is dropped.
 *  - The last value given for a key wins, in the key's first place: a scalar then an array of
 *    the same name gives the array, an array then a scalar the scalar.
 *  - Cookie prefixes: a key (the mangled top-level name, or any key below it) that starts with
 *    "__Host-" or "__Secure-" when the name as sent (leading spaces dropped, not yet mangled)
 *    does not start with the same prefix is forbidden: the pair stores nothing, but the levels
 *    before the key stay made ("_.Host-x=1" is dropped; "a[__Host-x]=1" makes a, empty;
 *    "__Host-a[__Host-b]=1" is kept).
 *  - max_input_nesting_level: a name whose bracket groups number more than it (counted as PHP
 *    does, an unmatched '[' included) is dropped, and PHP also deletes what its top-level
 *    variable held so far ("a[x]=1&a[..65 levels..]=2" leaves no a at all).
 *  - The order of those checks, PHP's walk over a name: at each level, the nesting check as the
 *    level is entered, then the level's group read, then the key in hand: an append, refused
 *    after the key 9223372036854775807, or the forbidden check. A refused append or a forbidden
 *    key at a level within the limit leaves the walk before the nesting check can delete
 *    anything: "_[9223372036854775807]=a&_[][b][c][d][e]=x" under a nesting level of 3 keeps _.
 *  - max_input_vars: as $_POST does it, which is not parse_str's way. $_POST stores a pair, then
 *    counts it, and stops once the count is past the limit: it keeps max_input_vars + 1 pairs,
 *    empty pieces counted (parse_str keeps max_input_vars and skips empty pieces).
 *
 * dropped: the pairs lost to the two limits: each pair nested too deep, and each pair past
 * max_input_vars whose name PHP would have kept. What a too-deep pair deleted besides itself is
 * not counted again. (Appends after the largest integer key and forbidden keys are lost too,
 * but not to a limit.)
 *
 * In Lua (jc_form_push, parse_query): every value is a string, and every PHP array a table. The
 * entries at the start of an array whose keys are 0, 1, 2... in order become the Lua sequence
 * 1..k; every other key is a string key: PHP's integer key 5 is the string "5", a string key is
 * itself. A PHP list is therefore a Lua sequence, and build_query, which writes a sequence as
 * 0..k-1 and then string keys, writes the same variables back. Numeric string keys: the two
 * kinds cannot collide, since PHP turns every canonical decimal string into an integer key; so a
 * Lua string key that reads as a canonical integer ("5", "-1") stands for PHP's integer key, and
 * any other ("05", "-0", "1.5") for PHP's string key. Look them up as strings: t.a["5"], not
 * t.a[5].
 *
 * Memory and time: linear in the body: 150 to 250 bytes for each level of each name kept (a
 * body of names nested too deep costs no more than the first block below, since they are
 * dropped before anything is built: a walk that only looks finds whether PHP's gets to the
 * limit). One malloc a parse holds the form, the body's copy and
 * room for the first entries (len/16 + 8 of them, at most 256: about 27 KB); a form that needs
 * more grows apart from it. Keys are found through one hash table, hashed with a cheap seeded
 * hash; a lookup that probes more than 32 slots turns the parse over to SipHash under a random
 * key, so that no body can make lookups collide for long (bench/flood.c: 64 KiB of keys that
 * all collide under the cheap hash parse in about 0.5 ms; without the switch, 100 ms).
 */
#ifndef JC_FORM_H
#define JC_FORM_H

#include <stddef.h>
#include <stdint.h>
#include "limits.h"

/* C's isspace in the C locale, whatever the process's locale: what PHP 8 skips after '[' in a
   name, and around a numeric string. */
static inline int jc_form_is_space(char c) {
  return c == ' ' || (c >= '\t' && c <= '\r');
}

/* PHP form bytes -> a tree, exactly as PHP builds $_POST; no Lua, so that any thread may parse. */
typedef struct {
  size_t max_vars;  /* PHP's max_input_vars; 0: no limit */
  int max_depth;    /* PHP's max_input_nesting_level */
} jc_form_limits;
#define JC_FORM_LIMITS_DEFAULT {JC_DEFAULT_MAX_VARS, JC_MAX_DEPTH}
typedef struct jc_form jc_form;  /* owns all of its memory */
/* NULL only when memory runs out. limits NULL: JC_FORM_LIMITS_DEFAULT. */
jc_form *jc_form_parse(const char *body, size_t len, const jc_form_limits *limits);
void jc_form_free(jc_form *f);
/* Variables PHP would have dropped because of the limits. */
size_t jc_form_dropped(const jc_form *f);
/* The top-level scalar named name[0..n): 1 and its bytes, or 0 when absent or an array. */
int jc_form_scalar(const jc_form *f, const char *name, size_t n, const char **value, size_t *value_len);
/* The number of variables in the tree: scalars that PHP would hold, at any depth. */
size_t jc_form_count(const jc_form *f);

/* A walk over the tree, depth first, each table's entries in PHP's order, for whoever turns it
   into something else (bind/formtable.c: a Lua table). */
enum { JC_FORM_OPEN, JC_FORM_SCALAR, JC_FORM_CLOSE };
typedef struct {
  int what;           /* JC_FORM_OPEN: an array begins; JC_FORM_SCALAR; JC_FORM_CLOSE: it ends */
  int depth;          /* levels above the entry: 0 at the top */
  int in_seq;         /* in its array's list prefix, which holds the keys 0, 1, 2... */
  const char *key;    /* a string key's bytes, or NULL for an integer key (ikey) */
  size_t key_len;
  int64_t ikey;
  const char *value;  /* JC_FORM_SCALAR: the value's bytes */
  size_t value_len;
  size_t seq, other;  /* JC_FORM_OPEN: its entries in the list prefix, and the others */
} jc_form_step;
typedef struct {
  const jc_form *f;
  size_t arr, at;
  int depth;
} jc_form_cursor;
/* The top level's entries in the list prefix, and the others. */
void jc_form_sizes(const jc_form *f, size_t *seq, size_t *other);
void jc_form_start(jc_form_cursor *c, const jc_form *f);
/* The next step into *s: 1, or 0 when the walk is over (after the last entry of the top level). */
int jc_form_next(jc_form_cursor *c, jc_form_step *s);

#endif
