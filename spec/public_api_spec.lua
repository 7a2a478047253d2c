-- The public API, name by name: the functions of the justclick table and the methods of a client
-- (names not starting with "_"). A function added to either fails here until it is listed below,
-- and a listed one that goes fails too: each entry is a promise to users, and is documented.
local justclick = require "justclick"

local MODULE_FUNCTIONS = {
  "all_goods", "bills", "build_query", "call", "configure", "confirm", "create_order", "default_client",
  "delete_order", "import", "is_error", "new", "notification", "order_details", "order_problem",
  "orders_with_goods", "paid_bills", "parse_query", "serve", "set_defaults", "sign", "update_order_status",
  "verify_reply", "visible",
}

local CLIENT_METHODS = {
  "all_goods", "bills", "call", "close", "confirm", "create_order", "delete_order", "notification",
  "order_details", "orders_with_goods", "paid_bills", "redact", "stats", "update_order_status",
}

-- The names of the functions reachable in t, and through its metatable's __index table.
local function public_functions(t)
  local names, seen = {}, {}
  local function take(source)
    for name, value in pairs(source) do
      if type(name) == "string" and name:sub(1, 1) ~= "_" and type(value) == "function"
          and not seen[name] then
        seen[name] = true
        names[#names + 1] = name
      end
    end
  end
  take(t)
  local mt = getmetatable(t)
  if mt and type(mt.__index) == "table" then take(mt.__index) end
  table.sort(names)
  return names
end

describe("the public API", function()
  it("is these functions of the justclick table, and no other", function()
    assert.are.same(MODULE_FUNCTIONS, public_functions(justclick))
  end)

  it("is these methods of a client, and no other, whatever its transport", function()
    local curl = justclick.new({ user = "u", secret = "s", api_url = "http://127.0.0.1:9/api" })
    assert.are.same(CLIENT_METHODS, public_functions(curl))
    curl:close()
    local nginx = justclick.new({ user = "u", secret = "s", api_url = "http://127.0.0.1:9/api", transport = "nginx",
      location = "/justclick-upstream" })
    assert.are.same(CLIENT_METHODS, public_functions(nginx))
  end)

  it("has no method that sends a caller's own request or settles its reply", function()
    local client = justclick.new({ user = "u", secret = "s", api_url = "http://127.0.0.1:9/api" })
    for _, name in ipairs({ "prepare", "settle", "log" }) do
      assert.is_nil(client[name], name)
    end
    client:close()
  end)

  it("holds the secret in no field of a client, nor of its metatable", function()
    local secret = "a-secret-no-field-holds"
    local client = justclick.new({ user = "u", secret = secret, api_url = "http://127.0.0.1:9/api" })
    local seen = {}
    local function holds(value, depth)
      if value == secret then return true end
      if type(value) ~= "table" or seen[value] or depth > 4 then return false end
      seen[value] = true
      for k, v in pairs(value) do
        if holds(k, depth + 1) or holds(v, depth + 1) then return true end
      end
      return holds(getmetatable(value), depth + 1)
    end
    assert.is_false(holds(client, 0))
    client:close()
  end)
end)
