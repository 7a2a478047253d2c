-- The examples of JustClick's own pages: our bytes and hashes equal those of the docs' PHP.
local justclick = require "justclick"
local php = require "support.php"
local example = require "support.docs_example"

local USER_RS = ("$user_rs = ['user_id' => %s, 'user_rps_key' => %s];\n"):format(
  php.literal(example.user), php.literal(example.secret))

describe("the docs' CreateOrder example", function()
  it("encodes to the bytes of PHP's http_build_query", function()
    local ours = justclick.build_query(example.order())
    local theirs = php.run(example.php_order .. "echo http_build_query($send_data);")
    assert.are.equal(theirs, ours)
    local goods = "goods%5B0%5D%5Bgood_name%5D=invoice&goods%5B0%5D%5Bgood_sum%5D=1500"
      .. "&goods%5B1%5D%5Bgood_name%5D=sales"
    assert.is_truthy(ours:find(goods, 1, true))
    assert.is_truthy(ours:find("bill_timer_kill=1", 1, true))
    assert.is_truthy(ours:find("utm%5Butm_campaign%5D=my+campaign", 1, true))
  end)

  it("signs to the hash of the docs' GetHash", function()
    local theirs = php.run(example.php_get_hash .. USER_RS .. example.php_order ..
      "echo GetHash($send_data, $user_rs);")
    assert.are.equal(theirs, justclick.sign(example.order(), example.user, example.secret))
  end)
end)

describe("the docs' getOrderDetails example", function()
  it("signs to the hash of the docs' GetHash", function()
    local theirs = php.run(example.php_get_hash .. USER_RS ..
      "$send_data = array('bill_id' => '102937', 'good_info' => true);\necho GetHash($send_data, $user_rs);")
    local ours = justclick.sign({ bill_id = "102937", good_info = true }, example.user, example.secret)
    assert.are.equal(theirs, ours)
  end)
end)
