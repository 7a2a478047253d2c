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
    signs them with md5 through OpenSSL, and checks the hash of JustClick's replies.
  ]],
  license = "MIT",
}
dependencies = {
  "lua >= 5.4",
  "lua-cjson",
}
external_dependencies = {
  LIBCRYPTO = { header = "openssl/evp.h", library = "crypto" },
  LIBCURL = { header = "curl/curl.h", library = "curl" },
}
build = {
  type = "builtin",
  modules = {
    justclick = "lua/justclick.lua",
    ["justclick.core"] = {
      sources = {
        "src/core.c", "src/query.c", "src/sign.c", "src/reply.c", "src/http.c", "src/phpfmt.c",
        "src/buffer.c",
      },
      libraries = { "crypto", "curl" },
      incdirs = { "$(LIBCRYPTO_INCDIR)", "$(LIBCURL_INCDIR)" },
      libdirs = { "$(LIBCRYPTO_LIBDIR)", "$(LIBCURL_LIBDIR)" },
      defines = {},
    },
  },
}
