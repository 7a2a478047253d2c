/* MD5 through OpenSSL, for request hashes, reply checks and notification checks; no Lua here.
   Only md5.c and notice.c include OpenSSL's headers. */
#ifndef JC_MD5_H
#define JC_MD5_H

#include <stddef.h>

#define JC_MD5_HEX 32

typedef struct {
  const char *p;
  size_t n;
} jc_slice;

/* MD5 of the parts one after another, as 32 lowercase hex digits (no NUL). Any thread; it
   keeps no state between calls. */
void jc_md5_hex(const jc_slice *parts, size_t nparts, char hex[JC_MD5_HEX]);

/* md5(a .. "::" .. b .. "::" .. secret) as hex: the shape of the request hash, the reply hash
   and the notification hash. */
void jc_md5_joined(jc_slice a, jc_slice b, jc_slice secret, char hex[JC_MD5_HEX]);

/* Whether two hashes of JC_MD5_HEX bytes are the same, in constant time. */
int jc_md5_same(const char *a, const char *b);

#endif
