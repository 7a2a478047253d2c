rockspec_format = "3.0"
package = "justclick"
version = "scm-1"
source = {
  url = "git+https://example.invalid/justclick-lua.git",
}
description = {
  summary = "A JustClick API client: PHP-exact signed requests, checked replies.",
  detailed = [[
    justclick.core, in C, turns Lua tables into the exact bytes of PHP's http_build_query,
    signs them with md5 through OpenSSL, posts them with libcurl and checks the hash of
    JustClick's replies.
  ]],
  license = "MIT",
}
dependencies = {
  "lua >= 5.4",
  "lua-cjson",
  "dkjson",
}
-- The Makefile finds the flags with pkg-config (Debian keeps curl's headers in a multiarch
-- directory that luarocks does not search), so libcurl is checked by its library.
external_dependencies = {
  LIBCRYPTO = { header = "openssl/evp.h", library = "crypto" },
  LIBCURL = { library = "curl" },
}
build = {
  type = "make",
  build_variables = {
    CFLAGS = "$(CFLAGS)",
  },
  install_variables = {
    INST_LUADIR = "$(LUADIR)",
    INST_LIBDIR = "$(LIBDIR)",
    INST_BINDIR = "$(BINDIR)",
  },
}
