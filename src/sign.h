/* MD5 through OpenSSL's EVP interface: request hashes and reply checks. Only sign.c and
   notify.c include OpenSSL's headers: this one names its types by their struct tags, which are
   OpenSSL's EVP_MD and EVP_MD_CTX. */
#ifndef JC_SIGN_H
#define JC_SIGN_H

#include <stddef.h>
#include <lua.h>

struct evp_md_st;
struct evp_md_ctx_st;

#define JC_MD5_HEX 32

typedef struct {
  struct evp_md_st *md;       /* EVP_MD: the fetched MD5 implementation */
  struct evp_md_ctx_st *ctx;  /* EVP_MD_CTX: reused for every digest */
} jc_md5;

typedef struct {
  const char *p;
  size_t n;
} jc_slice;

/* Returns 0 when OpenSSL cannot provide MD5. jc_md5_close is safe either way, and twice. */
int jc_md5_open(jc_md5 *m);
void jc_md5_close(jc_md5 *m);

/* MD5 of the parts one after another, as 32 lowercase hex digits (no NUL). 0 on failure. */
int jc_md5_hex(jc_md5 *m, const jc_slice *parts, size_t nparts, char hex[JC_MD5_HEX]);

/* Adds sign, signed_body, verify_reply and md5 to the module table on top of the stack, and to
   its `safe` table the forms of sign and signed_body that return nil and the problem. */
int jc_open_sign(lua_State *L);

/* Whether the reply table at `reply` carries a valid hash, as verify_reply tells; a function
   added by jc_add_functions calls it (the state's md5 context). */
int jc_reply_verified(lua_State *L, int reply, const char *secret, size_t secret_len);

#endif
