-- luacheck: globals setfenv loadstring
-- Runs every ```lua block of docs/api.md against the sandbox, with the plain interpreter (its
-- own assert, not busted's): `LUA spec/support/api_examples.lua API_URL`. Prints
-- "BLOCK n: ok" or "BLOCK n: FAILED why" for each block it runs, and what the blocks print.
-- Blocks not run: ngx's (13), a configure for another account (16), the process's dry run (17),
-- the host's commands (28, 29), and <close> (2) under a Lua before 5.4. The calls' examples name
-- bill 100123: the caller makes 122 orders first, so that block 4's order is that bill.
local api_url = arg[1]
local justclick = require "justclick"
local f = assert(io.open("docs/api.md")); local t = f:read("*a"); f:close()
local blocks = {}
for b in t:gmatch("```lua\n(.-)```") do blocks[#blocks + 1] = b end
local function md5(s)
  local p = io.popen("printf %s '" .. s .. "' | md5sum"); local h = p:read("*l"):match("^%x+"); p:close(); return h
end
local client = justclick.new{user = "demo", secret = "sandbox-secret", api_url = api_url}
local created = "2026-12-07 05:00:00"
local nbody = justclick.build_query{id = 100123, email = "buyer@example.com", created = created, status = "new_order",
  hash = md5("100123buyer@example.com" .. created .. "sandbox-secret")}
local G = setmetatable({justclick = justclick, client = client, secret = "sandbox-secret", body = nbody,
  grant_access = function(...) print("grant", ...) end, grant = function() return true end,
  handled_already = function() return false end,
  cjson = require "cjson"}, {__index = _G})
local skip = {[13] = "ngx", [16] = "configures shop, which is not the sandbox", [17] = "dry run", [28] = "import", [29] = "serve"}
if not _VERSION:find("5.4") then skip[2] = "5.4 only" end
local order = {}
for i = 1, #blocks do if i ~= 7 then order[#order + 1] = i end end
order[#order + 1] = 7 -- delete_order last
for _, i in ipairs(order) do
  local b = blocks[i]
  if not skip[i] then
    G.body = i == 24 and ('{"error_code":0,"error_text":"OK","hash":"' .. md5("0::OK::sandbox-secret") .. '"}') or nbody
    G.event = client:notification(nbody)
    G.failure = select(2, client:order_details(999999))
    G.handler = function() error(G.failure) end
    local chunk, cerr
    if setfenv then chunk, cerr = loadstring(b, "block" .. i); if chunk then setfenv(chunk, G) end
    else chunk, cerr = load(b, "block" .. i, "t", G) end
    local ok, err = false, cerr
    if chunk then ok, err = pcall(chunk) end
    print(("BLOCK %d: %s %s"):format(i, ok and "ok" or "FAILED", ok and "" or tostring(err)))
  end
end
