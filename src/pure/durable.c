/* Files made durably: a file this makes has its directory fsynced (pure/durable.h). */
#define _GNU_SOURCE /* memrchr */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "durable.h"

static int sync_directory(const char *path, size_t len) {
  const char *slash = path != NULL && len > 0 ? memrchr(path, '/', len) : NULL;
  char *dir = strndup(slash == NULL ? "." : path, slash == NULL ? 1 : slash == path ? 1 : (size_t)(slash - path));
  int fd, ok = 0;
  if (dir == NULL) return 0;
  fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ok = fsync(fd) == 0;
    close(fd);
  }
  free(dir);
  return ok;
}

/* Opens path with flags, making it (mode 0600) when it is missing; a file it makes has its
   directory fsynced, so that the file survives a crash. -1 and errno on failure. */
int jc_open_durably(const char *path, size_t len, int flags) {
  int fd = open(path, flags | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    if (sync_directory(path, len)) return fd;
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  return errno == EEXIST ? open(path, flags | O_CLOEXEC) : -1;
}
