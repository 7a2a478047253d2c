/* MD5 through OpenSSL: request hashes and reply checks. Only sign.c and notify.c include
   OpenSSL's headers. */
#ifndef JC_SIGN_H
#define JC_SIGN_H

#include <stddef.h>
#include <lua.h>

#define JC_MD5_HEX 32

typedef struct {
  const char *p;
  size_t n;
} jc_slice;

/* MD5 of the parts one after another, as 32 lowercase hex digits (no NUL). Any thread; it
   keeps no state between calls. */
void jc_md5_hex(const jc_slice *parts, size_t nparts, char hex[JC_MD5_HEX]);

/* Adds sign, signed_body, verify_reply and md5 to the module table on top of the stack, and to
   its `safe` table the forms of sign and signed_body that return nil and the problem. */
int jc_open_sign(lua_State *L);

/* Whether the reply table at `reply` carries a valid hash, as verify_reply tells. */
int jc_reply_verified(lua_State *L, int reply, const char *secret, size_t secret_len);

#endif
