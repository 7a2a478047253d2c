<?php
// A hostile JustClick API for the specs (spec/support/hostile_api.lua), under `php -S`: every
// reply is a correctly signed success (code 0) whose result is what HOSTILE_REPLIES (a JSON file,
// read at each request) says for the method: {"GetAllGoods": RESULT, "getOrdersWithGoods": RESULT,
// "getOrderDetails": {"BILL": RESULT}, "sleep_ms": MS (each reply that late)}. A RESULT that is a string beginning "raw:" is sent as
// the JSON text after it (a number past 2^53, say). A method not in the file: code 3. Each
// request is appended to HOSTILE_LOG as "METHOD BODY".
$secret = getenv('HOSTILE_SECRET') ?: 'sandbox-secret';
$method = basename(parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH));
$body = file_get_contents('php://input');
file_put_contents(getenv('HOSTILE_LOG'), "$method $body\n", FILE_APPEND | LOCK_EX);
$replies = json_decode(file_get_contents(getenv('HOSTILE_REPLIES')), true);
if (isset($replies['sleep_ms'])) usleep(1000 * (int)$replies['sleep_ms']); // every reply that late
header('Content-Type: application/json');
if (!array_key_exists($method, $replies)) {
    echo json_encode(['error_code' => 3, 'error_text' => 'Unknown method', 'result' => null,
        'hash' => md5("3::Unknown method::$secret")]);
    return true;
}
$result = $replies[$method];
if ($method === 'getOrderDetails') {
    parse_str($body, $p);
    $result = $result[$p['bill_id'] ?? ''] ?? null;
}
$text = is_string($result) && str_starts_with($result, 'raw:') ? substr($result, 4) : json_encode($result);
echo '{"error_code":0,"error_text":"OK","result":', $text, ',"hash":"', md5("0::OK::$secret"), '"}';
return true;
