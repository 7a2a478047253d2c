/* MD5 through OpenSSL's MD5_* functions.
   MD5_Init and friends are deprecated since OpenSSL 3.0 in favour of EVP, but they are still
   there, and EVP costs about 1,000 instructions a digest more (a provider's dispatch, a context
   to reset): an eighth of what the whole sign() costs now (make bench). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/md5.h>
#include "md5.h"

void jc_md5_hex(const jc_slice *parts, size_t nparts, char hex[JC_MD5_HEX]) {
  static const char digits[] = "0123456789abcdef";
  unsigned char raw[MD5_DIGEST_LENGTH];
  MD5_CTX ctx;
  MD5_Init(&ctx);
  for (size_t i = 0; i < nparts; i++) MD5_Update(&ctx, parts[i].p, parts[i].n);
  MD5_Final(raw, &ctx);
  for (size_t i = 0; i < MD5_DIGEST_LENGTH; i++) {
    hex[2 * i] = digits[raw[i] >> 4];
    hex[2 * i + 1] = digits[raw[i] & 15];
  }
}

/* md5(a .. "::" .. b .. "::" .. secret) as hex: the shape of both the request hash and the
   reply hash. */
void jc_md5_joined(jc_slice a, jc_slice b, jc_slice secret, char hex[JC_MD5_HEX]) {
  const jc_slice sep = {"::", 2};
  const jc_slice parts[5] = {a, sep, b, sep, secret};
  jc_md5_hex(parts, 5, hex);
}


int jc_md5_same(const char *a, const char *b) {
  return CRYPTO_memcmp(a, b, JC_MD5_HEX) == 0;
}
