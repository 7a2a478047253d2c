-- The CreateOrder example of JustClick's docs (../shared/justclick-api/create-order.txt), in Lua
-- and in PHP. The PHP array lists its keys in our order (byte order; utm's keys flat, as the docs
-- write them), so that PHP's http_build_query and ours write the same bytes. The docs' page shows
-- the email obfuscated; a plain address stands in for it.
local example = {}

example.user = "username"
example.secret = ("X"):rep(40)

function example.order()
  return {
    goods = {
      { good_name = "invoice", good_sum = 1500 },
      { good_name = "sales" },
    },
    bill_first_name = "Name",
    bill_surname = "Surname",
    bill_middle_name = "Middle Name",
    bill_email = "buyer@example.com",
    bill_phone = "+39287777777",
    bill_country = "USA",
    bill_region = "New York",
    bill_city = "New York",
    bill_address = "Wall St.",
    bill_postal_code = "345678",
    bill_kupon = "skidka50",
    bill_tag = "AdWords",
    bill_comment = "in a beautiful box",
    bill_ip = "",
    bill_timer_kill = true,
    bill_created = 1291001819,
    bill_domain = "",
    ["utm[utm_medium]"] = "cpc",
    ["utm[utm_source]"] = "direct",
    ["utm[utm_campaign]"] = "my campaign",
    ["utm[utm_content]"] = "content_123",
    ["utm[utm_term]"] = "my_label",
  }
end

example.php_order = [[
$good1 = array('good_name' => 'invoice', 'good_sum' => 1500);
$good2 = array('good_name' => 'sales');
$send_data = array(
  'bill_address' => "Wall St.",
  'bill_city' => "New York",
  'bill_comment' => 'in a beautiful box',
  'bill_country' => "USA",
  'bill_created' => 1291001819,
  'bill_domain' => '',
  'bill_email' => "buyer@example.com",
  'bill_first_name' => "Name",
  'bill_ip' => '',
  'bill_kupon' => "skidka50",
  'bill_middle_name' => "Middle Name",
  'bill_phone' => "+39287777777",
  'bill_postal_code' => "345678",
  'bill_region' => "New York",
  'bill_surname' => "Surname",
  'bill_tag' => 'AdWords',
  'bill_timer_kill' => true,
  'goods' => array($good1, $good2),
  'utm[utm_campaign]' => 'my campaign',
  'utm[utm_content]' => 'content_123',
  'utm[utm_medium]' => 'cpc',
  'utm[utm_source]' => 'direct',
  'utm[utm_term]' => 'my_label',
);
]]

-- The docs' GetHash, as printed on the page.
example.php_get_hash = [[
function GetHash($params, $user_rs) {
  $params = http_build_query($params);
  $user_id = $user_rs['user_id'];
  $secret = $user_rs['user_rps_key'];
  $params = "$params::$user_id::$secret";
  return md5($params);
}
]]

return example
