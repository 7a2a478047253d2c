/* The limits that more than one file, or the Lua side, must agree on: core.limits gives them to
   Lua (lua/justclick.lua, lua/justclick/import.lua), so that no file keeps a copy of its own.
   (Never put src/ on the include path with -I: <limits.h> would then find this file.) */
#ifndef JC_LIMITS_H
#define JC_LIMITS_H

/* Requests a multi session runs at once: the import's --jobs is 1 to this. */
#define JC_MAX_JOBS 64
/* PHP's default max_input_vars: parse_str and $_POST keep no more variables than this. */
#define JC_DEFAULT_MAX_VARS 1000
/* PHP's max_input_nesting_level: a key may hold at most this many bracketed parts. */
#define JC_MAX_DEPTH 64
/* A reply longer than this is refused, unless a client's max_reply says otherwise: 8 MiB. */
#define JC_DEFAULT_MAX_REPLY (8u << 20)
/* Scratch and reply buffers that grew past this (1 MiB) are freed when a call ends, so that one
   large call leaves no large buffer behind. */
#define JC_KEEP_BYTES (1u << 20)
/* 2^63 as a double: an integral double d with -JC_INTEGER_BOUND <= d < JC_INTEGER_BOUND is a
   64-bit integer (lua_Integer in 5.3 and 5.4, PHP's int). */
#define JC_INTEGER_BOUND 9223372036854775808.0
/* 2^53: every integer below it in magnitude is exact in a double; under Lua 5.1 and LuaJIT an
   integral number below it counts as an integer (compat.h). */
#define JC_EXACT_BOUND 9007199254740992.0

/* A limit as a string literal, for usage texts: JC_STRING(JC_MAX_JOBS) is "64". */
#define JC_STRING(x) JC_STRING_(x)
#define JC_STRING_(x) #x

#endif
