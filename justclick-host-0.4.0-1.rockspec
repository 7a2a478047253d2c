-- The `justclick` program for Lua 5.4: scripts, `justclick import` and `justclick serve`, with
-- the receiver's C module (libmicrohttpd, and SQLite for its event store). The library itself is
-- the justclick rock, which links neither.
rockspec_format = "3.0"
package = "justclick-host"
version = "0.4.0-1"
source = {
  url = "git+https://example.invalid/justclick-lua.git",
  tag = "v0.4.0",
}
description = {
  summary = "The justclick program: order scripts, exactly-once imports, payment notifications.",
  detailed = [[
    Runs Lua order scripts, imports files of orders exactly once (`justclick import`), receives
    JustClick's payment notifications into a durable inbox and confirms each through the API
    before a handler grants anything (`justclick serve`), and lists them (`justclick events`,
    or sqlite3). Lua 5.4, libmicrohttpd, SQLite.
  ]],
  homepage = "https://example.invalid/justclick-lua",
  license = "MIT",
}
-- The same version of the library: the program embeds its own copy of the Lua front, and
-- `require "justclick"` from a script under lua5.4 must find the same one.
dependencies = {
  "lua >= 5.4, < 5.5",
  "justclick == 0.4.0",
  "dkjson",
}
external_dependencies = {
  CURL = { library = "curl" },
  OPENSSL = { header = "openssl/md5.h", library = "crypto" },
  MICROHTTPD = { header = "microhttpd.h", library = "microhttpd" },
  SQLITE = { header = "sqlite3.h", library = "sqlite3" },
}
build = {
  type = "make",
  build_target = "host",
  install_target = "install-host",
  variables = {
    LUA_INCDIR = "$(LUA_INCDIR)",
    CURL_INCDIR = "$(CURL_INCDIR)",
    CURL_LIBDIR = "$(CURL_LIBDIR)",
    OPENSSL_INCDIR = "$(OPENSSL_INCDIR)",
    OPENSSL_LIBDIR = "$(OPENSSL_LIBDIR)",
    MICROHTTPD_INCDIR = "$(MICROHTTPD_INCDIR)",
    MICROHTTPD_LIBDIR = "$(MICROHTTPD_LIBDIR)",
    SQLITE_INCDIR = "$(SQLITE_INCDIR)",
    SQLITE_LIBDIR = "$(SQLITE_LIBDIR)",
  },
  build_variables = {
    CFLAGS = "$(CFLAGS)",
  },
  install_variables = {
    INST_LUADIR = "$(LUADIR)",
    INST_LIBDIR = "$(LIBDIR)",
    INST_BINDIR = "$(BINDIR)",
  },
}
