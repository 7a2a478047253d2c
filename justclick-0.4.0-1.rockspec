-- The library, for Lua 5.1, LuaJIT, 5.3 and 5.4: `luarocks make` in a work tree builds from it
-- too. `make rock` packs it and justclick-host's with this work tree's HEAD (see the Makefile).
rockspec_format = "3.0"
package = "justclick"
version = "0.4.0-1"
source = {
  url = "git+https://example.invalid/justclick-lua.git",
  tag = "v0.4.0",
}
description = {
  summary = "A JustClick API client: PHP-exact signed requests, checked replies.",
  detailed = [[
    justclick.core, in C, turns Lua tables into the exact bytes of PHP's http_build_query,
    signs them with md5, posts them with libcurl and checks the hash of JustClick's replies and
    notifications. For Lua 5.1, LuaJIT, 5.3 and 5.4, and nginx's lua module. The `justclick`
    program (scripts, `justclick import`, `justclick serve`) is the justclick-host rock.
  ]],
  homepage = "https://example.invalid/justclick-lua",
  license = "MIT",
}
-- Lua 5.2 is not built for: the Makefile stops with a message.
dependencies = {
  "lua >= 5.1, < 5.5",
  "lua-cjson",
}
-- luarocks finds these and passes their directories to the Makefile. Debian keeps curl's headers
-- in a multiarch directory (/usr/include/x86_64-linux-gnu) that luarocks does not search, so
-- curl is found by its library; the compiler (or pkg-config, in the Makefile) finds the header.
external_dependencies = {
  CURL = { library = "curl" },
  OPENSSL = { header = "openssl/md5.h", library = "crypto" },
}
build = {
  type = "make",
  build_target = "library",
  install_target = "install-library",
  -- LUA_INCDIR tells the Makefile which Lua to build for (5.1 and LuaJIT by their lua.h). No
  -- LUA_LIBDIR: the module links no liblua, and luarocks resolves LUA_LIBDIR only where it links
  -- Lua explicitly (not on Linux), so passing it warns "unmatched variable".
  variables = {
    LUA_INCDIR = "$(LUA_INCDIR)",
    CURL_INCDIR = "$(CURL_INCDIR)",
    CURL_LIBDIR = "$(CURL_LIBDIR)",
    OPENSSL_INCDIR = "$(OPENSSL_INCDIR)",
    OPENSSL_LIBDIR = "$(OPENSSL_LIBDIR)",
  },
  build_variables = {
    CFLAGS = "$(CFLAGS)",
  },
  install_variables = {
    INST_LUADIR = "$(LUADIR)",
    INST_LIBDIR = "$(LIBDIR)",
  },
}
