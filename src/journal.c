/* What the import needs of the system: durable appends for its journal, and whether its
   progress goes to a terminal.

   append_durably(path, data): appends data to the file at path (made with mode 0600 if it is
   missing) and fsyncs it before returning, so that a record survives a crash or SIGKILL the
   moment the call returns. The import's journal writes each record this way before the next
   request goes out. Returns true, or nil and a message. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <stdio.h>
#include <lauxlib.h>
#include <lualib.h>
#include "core.h"

int jc_l_append_durably(lua_State *L) {
  size_t len, done = 0;
  const char *path = luaL_checkstring(L, 1);
  const char *data = luaL_checklstring(L, 2, &len);
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
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
  luaL_Stream *s = luaL_checkudata(L, 1, LUA_FILEHANDLE);
  lua_pushboolean(L, s->closef != NULL && isatty(fileno(s->f)));
  return 1;
}
