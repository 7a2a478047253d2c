/* The secret from a file (--secret-file). */
#ifndef JC_SECRETFILE_H
#define JC_SECRETFILE_H

#include <stddef.h>

/* The secret from a file, at most JC_SECRET_MAX bytes and a line end. */
enum { JC_SECRET_MAX = 4096, JC_SECRET_BUF = JC_SECRET_MAX + 3 /* "\r\n", and a byte to tell it is longer */ };

/* What a read came to, for the caller to tell people: the reader prints nothing. */
typedef enum { JC_SECRET_OK, JC_SECRET_UNREADABLE, JC_SECRET_EMPTY, JC_SECRET_TOO_LONG } jc_secret_status;
typedef struct {
  jc_secret_status status;
  int errnum;    /* JC_SECRET_UNREADABLE: why */
  unsigned mode; /* JC_SECRET_OK: the file's mode bits when the group or others may read it, else 0 */
} jc_secret_outcome;

/* Reads it into buf (JC_SECRET_BUF bytes) without the line end: 0, or -1, and *out either way. */
int jc_read_secret_file(const char *path, char *buf, size_t *len, jc_secret_outcome *out);
/* The text of a refusal (status not OK), or else of the warning (mode set), or "": never the
   secret, and without "justclick: ". A buffer of JC_SECRET_TEXT holds it for a path of up to
   PATH_MAX (4096) bytes, which is the longest that opens. */
enum { JC_SECRET_TEXT = 2 * 4096 + 160 };
void jc_secret_text(const jc_secret_outcome *o, const char *path, char *text, size_t cap);
/* Wipes a buffer that held the secret. */
void jc_wipe(void *p, size_t n);

#endif
