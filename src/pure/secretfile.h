/* The secret from a file (--secret-file). */
#ifndef JC_SECRETFILE_H
#define JC_SECRETFILE_H

#include <stddef.h>

/* The secret from a file, at most JC_SECRET_MAX bytes and a line end. */
enum { JC_SECRET_MAX = 4096, JC_SECRET_BUF = JC_SECRET_MAX + 3 /* "\r\n", and a byte to tell it is longer */ };
/* Reads it into buf (JC_SECRET_BUF bytes) without the line end: 0, or -1 after printing why. */
int jc_read_secret_file(const char *path, char *buf, size_t *len);
/* Wipes a buffer that held the secret. */
void jc_wipe(void *p, size_t n);

#endif
