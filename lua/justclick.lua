--- justclick: a client for the JustClick HTTP API.
-- The C core (justclick.core) does the bytes: PHP's http_build_query, the md5 signature and the
-- reply check. This file is the public face.
local core = require "justclick.core"

local justclick = {
  _VERSION = core._VERSION,
  --- Stands for PHP's null: skipped when encoding, and what JSON null decodes to.
  -- The same value as cjson.null.
  null = core.null,
  --- build_query(params [, {max_input_vars = n|false}]) -> PHP's http_build_query bytes.
  build_query = core.build_query,
  --- sign(params, user, secret [, options]) -> md5 hex of query .. "::" .. user .. "::" .. secret.
  sign = core.sign,
  --- verify_reply(reply, secret) -> whether reply.hash signs its error_code and error_text.
  verify_reply = core.verify_reply,
}

return justclick
