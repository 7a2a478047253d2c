/*
 * libFuzzer harness for the reply path: arbitrary bytes as a reply body go through
 * decode_reply and verify_reply, and through a real client (lua/justclick.lua, embedded) whose
 * session answers with them, which must turn them into a result or an error table. Input: one
 * byte N, then N bytes of secret for decode_reply, then the body.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include <lualib.h>

void jc_preload(lua_State *L);

/* The client's session answers every request with the fuzz bytes; the result must be a value,
   or nil and an error table with a kind and a message. */
static const char driver[] =
    "local core, j = require 'justclick.core', require 'justclick'\n"
    "local client = j.new{user = 'fuzz', secret = 'fuzz-secret', api_url = 'http://fuzz.invalid/api', retries = 0}\n"
    "local body\n"
    "client.session = {post = function() return 200, body end, close = function() end}\n"
    "return function(reply, secret)\n"
    "  local r, verified = core.decode_reply(reply, secret)\n"
    "  if r then\n"
    "    assert(type(r) == 'table' and type(verified) == 'boolean')\n"
    "    assert(core.verify_reply(r, secret) == verified)\n"
    "  else\n"
    "    assert(type(verified) == 'table' and verified.kind == 'protocol' and type(verified.message) == 'string')\n"
    "  end\n"
    "  body = reply\n"
    "  for _, call in ipairs{function() return client:order_details(1) end,\n"
    "                        function() return client:create_order{bill_email = 'a@b.cd', goods = {{good_name = 'x'}}} end} do\n"
    "    local result, err = call()\n"
    "    if result == nil then\n"
    "      assert(j.is_error(err) and type(err.kind) == 'string' and type(err.message) == 'string')\n"
    "      assert(not tostring(err):find('fuzz-secret', 1, true))\n"
    "    end\n"
    "  end\n"
    "end\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static lua_State *L;
  size_t secret_len;
  if (L == NULL) {
    L = luaL_newstate();
    luaL_openlibs(L);
    jc_preload(L);
    if (luaL_loadstring(L, driver) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK) abort();
    lua_setglobal(L, "check");
  }
  if (size == 0) return 0;
  secret_len = data[0] % 33;
  if (secret_len == 0) secret_len = 1;
  if (secret_len > size - 1) secret_len = size - 1;
  lua_getglobal(L, "check");
  lua_pushlstring(L, (const char *)data + 1 + secret_len, size - 1 - secret_len);
  lua_pushlstring(L, (const char *)data + 1, secret_len);
  if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
    fprintf(stderr, "%s\n", lua_tostring(L, -1));
    abort();
  }
  lua_gc(L, LUA_GCSTEP, 0);
  return 0;
}
