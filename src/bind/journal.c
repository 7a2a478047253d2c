/* Durable files: appends and cuts for the import's journal, its lock, and the inbox's file.

   append_durably(path, data): appends data to the file at path (made with mode 0600 if it is
   missing) and fsyncs it before returning, so that a record survives a crash or SIGKILL the
   moment the call returns; a file it makes has its directory fsynced too. The import's journal
   writes each record this way before the next request goes out. Returns true, or nil and an
   io error {kind = "io", message = "path: strerror", path =, errno =} (support.h). */
#define _GNU_SOURCE /* memrchr */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <stdio.h>
#include <lauxlib.h>
#include "../pure/durable.h"
#include "../pure/md5.h"
#include "support.h"
#include "journal.h"

/* fsyncs the directory that holds path, so that a file just made there survives a crash. */

static int l_append_durably(lua_State *L) {
  size_t len, path_len, done = 0;
  const char *path = luaL_checklstring(L, 1, &path_len);
  const char *data = luaL_checklstring(L, 2, &len);
  int fd = -1;
  if (memchr(path, '\0', path_len) != NULL) { /* open() would take the name up to the NUL */
    errno = EINVAL;
    goto failed;
  }
  fd = jc_open_durably(path, path_len, O_WRONLY | O_APPEND);
  if (fd < 0) goto failed;
  while (done < len) {
    ssize_t n = write(fd, data + done, len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) goto failed_open;
    done += (size_t)n;
  }
  if (fsync(fd) != 0) goto failed_open;
  if (close(fd) != 0) goto failed;
  lua_pushboolean(L, 1);
  return 1;
failed_open: {
    int saved = errno;
    close(fd);
    errno = saved;
  }
failed:
  return jc_push_io_error(L, errno, path);
}

/* ---- lock(path): one import of a file at a time ---- */

#define JC_LOCK_TYPE "justclick.lock"

static int lock_release(lua_State *L) {
  int *fd = luaL_checkudata(L, 1, JC_LOCK_TYPE);
  if (*fd >= 0) close(*fd); /* closing the descriptor releases its flock */
  *fd = -1;
  return 0;
}

/* lock(path) -> lock | nil, err (an io error; its errno is EWOULDBLOCK when another holds it): an exclusive flock on the file at path (made with mode 0600
   if it is missing), held until lock:release(), <close> or the garbage collector. nil when
   another process holds it: two imports of one file at once could each send the same row. */
static int l_lock(lua_State *L) {
  size_t path_len;
  const char *path = luaL_checklstring(L, 1, &path_len);
  int *fd = lua_newuserdatauv(L, sizeof *fd, 0);
  *fd = -1;
  luaL_setmetatable(L, JC_LOCK_TYPE);
  *fd = jc_open_durably(path, path_len, O_RDWR);
  if (*fd < 0 || flock(*fd, LOCK_EX | LOCK_NB) != 0) {
    int busy = *fd >= 0 && errno == EWOULDBLOCK;
    int saved = errno;
    if (*fd >= 0) close(*fd);
    *fd = -1;
    if (!busy) return jc_push_io_error(L, saved, path);
    jc_push_errorf(L, "io", "%s is locked: another import of this file is running", path);
    lua_pushstring(L, path);
    lua_setfield(L, -2, "path");
    lua_pushinteger(L, saved);
    lua_setfield(L, -2, "errno");
    return 2;
  }
  return 1;
}

/* truncate_durably(path, length) -> true | nil, err (an io error): cuts the file to
   length bytes and fsyncs it. The journal cuts a torn last record this way, so that the next
   one starts clean. */
static int l_truncate_durably(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_Integer length = luaL_checkinteger(L, 2);
  int fd;
  luaL_argcheck(L, length >= 0, 2, "a length of 0 or more"); /* before open: raising leaks no fd */
  fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || ftruncate(fd, (off_t)length) != 0 || fsync(fd) != 0) {
    int saved = errno;
    if (fd >= 0) close(fd);
    return jc_push_io_error(L, saved, path);
  }
  close(fd);
  lua_pushboolean(L, 1);
  return 1;
}

/* realpath(path) -> the absolute path with no symbolic link in it, and the count of hard links of
   a regular file (1 for anything else) | nil, err (an io error). The import keys its journal and lock on the path, so that one file
   under two names is one file; a file with other hard links has names that no path reaches. */
static int l_realpath(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  struct stat st;
  char *resolved = realpath(path, NULL);
  if (resolved == NULL || stat(resolved, &st) != 0) {
    int saved = errno;
    free(resolved);
    return jc_push_io_error(L, saved, path);
  }
  lua_pushstring(L, resolved);
  free(resolved);
  lua_pushinteger(L, S_ISREG(st.st_mode) ? (lua_Integer)st.st_nlink : 1);
  return 2;
}

int jc_row_id(lua_State *L) {
  jc_slice query;
  char hex[JC_MD5_HEX];
  query.p = luaL_checklstring(L, 1, &query.n);
  jc_md5_hex(&query, 1, hex);
  lua_pushlstring(L, hex, JC_MD5_HEX);
  return 1;
}

static const luaL_Reg functions[] = {
  {"append_durably", l_append_durably},
  {"row_id", jc_row_id},
  {"truncate_durably", l_truncate_durably},
  {"lock", l_lock},
  {"realpath", l_realpath},
  {NULL, NULL},
};

static const luaL_Reg lock_methods[] = {
  {"release", lock_release},
  {NULL, NULL},
};

int jc_open_journal(lua_State *L) {
  jc_new_type(L, JC_LOCK_TYPE, lock_methods, lock_release);
  luaL_setfuncs(L, functions, 0);
  return 0;
}
