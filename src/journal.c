/* What the import needs of the system: durable appends for its journal, and whether its
   progress goes to a terminal.

   append_durably(path, data): appends data to the file at path (made with mode 0600 if it is
   missing) and fsyncs it before returning, so that a record survives a crash or SIGKILL the
   moment the call returns; a file it makes has its directory fsynced too. The import's journal
   writes each record this way before the next request goes out. Returns true, or nil and a
   message. */
#define _GNU_SOURCE /* memrchr */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <stdio.h>
#include <lauxlib.h>
#include <lualib.h>
#include "core.h"

/* fsyncs the directory that holds path, so that a file just made there survives a crash. */
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

int jc_l_append_durably(lua_State *L) {
  size_t len, path_len, done = 0;
  const char *path = luaL_checklstring(L, 1, &path_len);
  const char *data = luaL_checklstring(L, 2, &len);
  int fd = jc_open_durably(path, path_len, O_WRONLY | O_APPEND);
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
  lua_pushnil(L);
  lua_pushfstring(L, "%s: %s", path, strerror(errno));
  return 2;
}

/* isatty(file) -> whether the Lua file (io.stderr, say) is a terminal. */
int jc_l_isatty(lua_State *L) {
  FILE *f = jc_compat_tofile(L, 1);
  lua_pushboolean(L, f != NULL && isatty(fileno(f)));
  return 1;
}

/* ---- lock(path): one import of a file at a time ---- */

#define JC_LOCK_TYPE "justclick.lock"

static int lock_release(lua_State *L) {
  int *fd = luaL_checkudata(L, 1, JC_LOCK_TYPE);
  if (*fd >= 0) close(*fd); /* closing the descriptor releases its flock */
  *fd = -1;
  return 0;
}

/* lock(path) -> lock | nil, message: an exclusive flock on the file at path (made with mode 0600
   if it is missing), held until lock:release(), <close> or the garbage collector. nil when
   another process holds it: two imports of one file at once could each send the same row. */
int jc_l_lock(lua_State *L) {
  size_t path_len;
  const char *path = luaL_checklstring(L, 1, &path_len);
  int *fd = lua_newuserdatauv(L, sizeof *fd, 0);
  *fd = -1;
  if (luaL_newmetatable(L, JC_LOCK_TYPE)) {
    lua_pushcfunction(L, lock_release);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, lock_release);
    lua_setfield(L, -2, "__close");
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, lock_release);
    lua_setfield(L, -2, "release");
    lua_setfield(L, -2, "__index");
  }
  lua_setmetatable(L, -2);
  *fd = jc_open_durably(path, path_len, O_RDWR);
  if (*fd < 0 || flock(*fd, LOCK_EX | LOCK_NB) != 0) {
    int busy = *fd >= 0 && errno == EWOULDBLOCK;
    int saved = errno;
    if (*fd >= 0) close(*fd);
    *fd = -1;
    lua_pushnil(L);
    if (busy) {
      lua_pushfstring(L, "%s is locked: another import of this file is running", path);
    } else {
      lua_pushfstring(L, "%s: %s", path, strerror(saved));
    }
    return 2;
  }
  return 1;
}

/* truncate_durably(path, length) -> true | nil, message: cuts the file to length bytes and
   fsyncs it. The journal cuts a torn last record this way, so that the next one starts clean. */
int jc_l_truncate_durably(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_Integer length = luaL_checkinteger(L, 2);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  luaL_argcheck(L, length >= 0, 2, "a length of 0 or more");
  if (fd < 0 || ftruncate(fd, (off_t)length) != 0 || fsync(fd) != 0) {
    int saved = errno;
    if (fd >= 0) close(fd);
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", path, strerror(saved));
    return 2;
  }
  close(fd);
  lua_pushboolean(L, 1);
  return 1;
}

/* realpath(path) -> the absolute path with no symbolic link in it, and the count of hard links of
   a regular file (1 for anything else) | nil, message. The import keys its journal and lock on the path, so that one file
   under two names is one file; a file with other hard links has names that no path reaches. */
int jc_l_realpath(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  struct stat st;
  char *resolved = realpath(path, NULL);
  if (resolved == NULL || stat(resolved, &st) != 0) {
    int saved = errno;
    free(resolved);
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", path, strerror(saved));
    return 2;
  }
  lua_pushstring(L, resolved);
  free(resolved);
  lua_pushinteger(L, S_ISREG(st.st_mode) ? (lua_Integer)st.st_nlink : 1);
  return 2;
}

/* boottime() -> seconds since the machine booted, suspensions included (CLOCK_BOOTTIME), and
   the boot's id: a clock that no step of the wall clock moves, the same in every process of one
   boot. The import times its waits and reads the server's clock with it. */
int jc_l_boottime(lua_State *L) {
  static char id[64]; /* read once: a process lives within one boot */
  static size_t id_len;
  static int id_read;
  struct timespec t;
  if (clock_gettime(CLOCK_BOOTTIME, &t) != 0) return 0;
  if (!id_read) {
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (f) {
      id_len = fread(id, 1, sizeof id, f);
      fclose(f);
    }
    while (id_len > 0 && (id[id_len - 1] == '\n' || id[id_len - 1] == ' ')) id_len--;
    id_read = 1;
  }
  lua_pushnumber(L, (lua_Number)t.tv_sec + (lua_Number)t.tv_nsec / 1e9);
  lua_pushlstring(L, id, id_len);
  return 2;
}
