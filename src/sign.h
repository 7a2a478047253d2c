/* MD5 through OpenSSL's EVP interface: request hashes and reply checks. */
#ifndef JC_SIGN_H
#define JC_SIGN_H

#include <stddef.h>
#include <openssl/evp.h>

#define JC_MD5_HEX 32

typedef struct {
  EVP_MD *md;       /* the fetched MD5 implementation */
  EVP_MD_CTX *ctx;  /* reused for every digest */
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

#endif
