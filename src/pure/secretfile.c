/* The secret from a file (--secret-file): for the host's options and for `justclick serve`.
   Whatever the file is, at most JC_SECRET_BUF bytes are read: a pipe (--secret-file
   <(pass show shop)) is read as a file is, and a device such as /dev/zero is refused once it
   passes the limit. A file that the group or others may read works, with a warning, as ssh gives
   for keys. No message ever holds the secret. The callers print the texts: the host on stderr,
   the Lua binding hands them back. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "secretfile.h"

void jc_wipe(void *p, size_t n) {
  volatile unsigned char *b = p; /* through volatile, so the writes are not dropped */
  while (n-- > 0) *b++ = 0;
}

int jc_read_secret_file(const char *path, char *buf, size_t *len, jc_secret_outcome *out) {
  struct stat st;
  size_t n = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  memset(out, 0, sizeof *out);
  if (fd < 0 || fstat(fd, &st) != 0) goto cannot_read;
  while (n < JC_SECRET_BUF) {
    ssize_t got = read(fd, buf + n, JC_SECRET_BUF - n);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) goto cannot_read;
    if (got == 0) break;
    n += (size_t)got;
  }
  close(fd);
  if (n == JC_SECRET_BUF) goto too_long; /* not read to its end */
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) n--;
  if (n > JC_SECRET_MAX) goto too_long;
  if (n == 0 || memchr(buf, '\0', n)) {
    out->status = JC_SECRET_EMPTY;
    return -1;
  }
  if ((S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode)) && (st.st_mode & 077)) out->mode = (unsigned)(st.st_mode & 07777);
  *len = n;
  return 0;
cannot_read:
  out->status = JC_SECRET_UNREADABLE;
  out->errnum = errno;
  if (fd >= 0) close(fd);
  return -1;
too_long:
  out->status = JC_SECRET_TOO_LONG;
  return -1;
}

void jc_secret_text(const jc_secret_outcome *o, const char *path, char *text, size_t cap) {
  switch (o->status) {
  case JC_SECRET_UNREADABLE:
    snprintf(text, cap, "cannot read the secret file %s: %s", path, strerror(o->errnum));
    break;
  case JC_SECRET_EMPTY: snprintf(text, cap, "the secret file %s holds no secret", path); break;
  case JC_SECRET_TOO_LONG: snprintf(text, cap, "the secret file %s is longer than %d bytes", path, JC_SECRET_MAX); break;
  default:
    if (o->mode)
      snprintf(text, cap, "warning: the secret file %s can be read by others (mode %04o); chmod 600 %s", path, o->mode,
               path);
    else if (cap > 0)
      text[0] = '\0';
  }
}
