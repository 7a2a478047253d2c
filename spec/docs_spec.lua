-- The README and docs/ against the code: the README stays short and leads with working Lua, the
-- API reference has a heading for every public function, the links lead somewhere, and the
-- README's example prints what the README says, against the sandbox.
local justclick = require "justclick"
local files = require "support.files"
local shell = require "support.shell"
local luaver = require "support.luaver"
local sandbox = require "support.sandbox"

local README = "README.md"

local function read(path)
  return assert(files.read(path), "cannot read " .. path)
end

local function lines_of(text)
  local lines = {}
  for line in (text .. (text:sub(-1) == "\n" and "" or "\n")):gmatch("([^\n]*)\n") do
    lines[#lines + 1] = line
  end
  return lines
end

-- The fenced blocks of a markdown text, in order: {lang =, first = line number, text =}.
local function blocks_of(text)
  local blocks, open = {}, nil
  for n, line in ipairs(lines_of(text)) do
    if open then
      if line:match("^```%s*$") then
        open.text = table.concat(open.body, "\n") .. "\n"
        blocks[#blocks + 1] = open
        open = nil
      else
        open.body[#open.body + 1] = line
      end
    else
      local lang = line:match("^```(%S*)")
      if lang then open = { lang = lang, first = n, body = {} } end
    end
  end
  return blocks
end

-- The headings of a markdown text, as written after the #s.
local function headings_of(text)
  local headings = {}
  for _, line in ipairs(lines_of(text)) do
    local heading = line:match("^#+%s+(.-)%s*$")
    if heading then headings[#headings + 1] = heading end
  end
  return headings
end

-- Whether one of the headings documents `prefix .. name`, followed by its arguments: the form
-- "justclick.create_order(order)" or "client:create_order(order)".
local function has_heading(headings, prefix, name)
  local pattern = "^`?" .. prefix:gsub("%p", "%%%0") .. name .. "[%(`]"
  for _, heading in ipairs(headings) do
    if heading:find(pattern) then return true end
  end
  return false
end

-- The names of a table's public functions, sorted.
local function public_functions(t)
  local names = {}
  for name, value in pairs(t) do
    if type(value) == "function" and not name:find("^_") then names[#names + 1] = name end
  end
  table.sort(names)
  return names
end

-- The relative link targets of a markdown text: [text](target), without the #anchor.
local function relative_links(text)
  local targets = {}
  for target in text:gmatch("%]%(([^%)%s]+)%)") do
    if not target:find("^%a[%w+.-]*:") and not target:find("^#") then
      targets[#targets + 1] = (target:gsub("#.*$", ""))
    end
  end
  return targets
end

local function docs_pages()
  local ok, out = shell.ok("ls docs/*.md")
  assert(ok, out)
  local pages = {}
  for path in out:gmatch("%S+") do pages[#pages + 1] = path end
  return pages
end

describe("the README", function()
  local text = read(README)

  it("has at most 300 lines", function()
    local count = #lines_of(text)
    assert.is_true(count <= 300, ("README.md has %d lines"):format(count))
  end)

  it("shows Lua within its first 60 lines", function()
    local first
    for _, block in ipairs(blocks_of(text)) do
      if block.lang == "lua" then
        first = block
        break
      end
    end
    assert.is_not_nil(first, "README.md has no ```lua block")
    assert.is_true(first.first <= 60, ("the first ```lua block starts at line %d"):format(first.first))
  end)

  it("links only to docs pages that exist, and to every one of them", function()
    local linked = {}
    for _, target in ipairs(relative_links(text)) do
      assert.is_not_nil(files.read(target), "README.md links to " .. target .. ", which does not exist")
      linked[target] = true
    end
    for _, page in ipairs(docs_pages()) do
      assert.is_true(linked[page] == true, "README.md has no link to " .. page)
    end
  end)
end)

describe("the pages in docs/", function()
  it("link only to files that exist", function()
    local pages = docs_pages()
    assert.is_true(#pages >= 9, "docs/ holds " .. #pages .. " pages")
    for _, page in ipairs(pages) do
      for _, target in ipairs(relative_links(read(page))) do
        assert.is_not_nil(files.read("docs/" .. target), page .. " links to " .. target .. ", which does not exist")
      end
    end
  end)

  it("and the README cite no issue numbers and no stale words", function()
    local paths = docs_pages()
    paths[#paths + 1] = README
    for _, path in ipairs(paths) do
      local body = read(path):lower()
      for _, stale in ipairs({ "issue %d", "evp interface", "at most 64 kib" }) do
        assert.is_nil(body:find(stale), ("%s says %q"):format(path, stale))
      end
    end
  end)
end)

describe("docs/api.md", function()
  local headings = headings_of(read("docs/api.md"))

  it("has a heading for every public function of justclick", function()
    local names = public_functions(justclick)
    assert.is_true(#names >= 20, "justclick has " .. #names .. " public functions")
    for _, name in ipairs(names) do
      assert.is_true(has_heading(headings, "justclick.", name), "docs/api.md has no heading for justclick." .. name)
    end
  end)

  it("has a heading for every public method of a client", function()
    local client = justclick.new { user = "shop", secret = "not-a-real-secret" }
    local methods = public_functions(getmetatable(client).__index)
    client:close()
    assert.is_true(#methods >= 10, "a client has " .. #methods .. " public methods")
    for _, name in ipairs(methods) do
      assert.is_true(has_heading(headings, "client:", name), "docs/api.md has no heading for client:" .. name)
    end
  end)
end)

describe("docs/nginx.md", function()
  it("has a heading for every function of justclick.nginx", function()
    local headings = headings_of(read("docs/nginx.md"))
    local names = public_functions(require("justclick.nginx"))
    assert.is_true(#names >= 4, "justclick.nginx has " .. #names .. " functions")
    for _, name in ipairs(names) do
      assert.is_true(has_heading(headings, "nginx.", name), "docs/nginx.md has no heading for nginx." .. name)
    end
  end)
end)

-- The interpreter of the Lua that runs the specs, by its build directory.
local INTERPRETERS = { build = "lua5.4", ["build-5.3"] = "lua5.3", ["build-5.1"] = "lua5.1", ["build-jit"] = "luajit" }

describe("the README's first example", function()
  local sb
  lazy_setup(function() sb = sandbox.start() end)
  lazy_teardown(function() if sb then sb:stop() end end)

  it("runs against the sandbox and prints what the README says", function()
    local blocks = blocks_of(read(README))
    local example, printed
    for i, block in ipairs(blocks) do
      if block.lang == "lua" then
        example, printed = block, blocks[i + 1]
        break
      end
    end
    assert.is_not_nil(example, "README.md has no ```lua block")
    assert.is_true(printed ~= nil and printed.lang == "text", "no ```text block of its output follows the example")
    local path = os.tmpname()
    files.write(path, example.text)
    local status, output = shell.run(("JUSTCLICK_USER=%s JUSTCLICK_SECRET=%s JUSTCLICK_API_URL=%s"
      .. " LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='%s/lua/?.so;;' %s %s")
      :format(sandbox.user, sandbox.secret, sb.api_url, luaver.build, INTERPRETERS[luaver.build], path))
    os.remove(path)
    assert.are.equal(0, status, output)
    assert.are.equal(printed.text, output)
  end)
end)
