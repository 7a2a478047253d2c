<?php
// A shop's notification endpoint for the specs, under `php -S` (spec/support/receiver.lua).
// Each request is appended to RECEIVER_LOG as one JSON line: t (unix time), method, uri,
// headers, body (the raw bytes) and the status answered. The path says what to answer:
//   /status/CODE/...   always CODE
//   /fail/N/...        500 to the first N requests to this same URI, then 200
//   /sleep/MS/...      200 after MS ms
//   anything else      200
// /__ping answers 200 and is not logged; so does /echo/N/..., with its URI, ':' and N more bytes.

$uri = $_SERVER['REQUEST_URI'];
if ($uri === '/__ping') {
    echo "pong\n";
    return true;
}
if (preg_match('#^/echo/(\d+)/#', $uri, $m)) {
    echo $uri, ':', str_repeat(substr($uri, -1), (int)$m[1]);
    return true;
}
$body = file_get_contents('php://input');
$log = fopen(getenv('RECEIVER_LOG'), 'a+');
flock($log, LOCK_EX); // counting the URI's earlier requests and logging this one are one step
$status = 200;
$sleep = 0;
if (preg_match('#^/status/(\d{3})/#', $uri, $m)) {
    $status = (int)$m[1];
} elseif (preg_match('#^/fail/(\d+)/#', $uri, $m)) {
    $seen = 0;
    rewind($log);
    while (($line = fgets($log)) !== false) $seen += json_decode($line, true)['uri'] === $uri ? 1 : 0;
    $status = $seen < (int)$m[1] ? 500 : 200;
} elseif (preg_match('#^/sleep/(\d+)/#', $uri, $m)) {
    $sleep = (int)$m[1];
}
fwrite($log, json_encode(['t' => microtime(true), 'method' => $_SERVER['REQUEST_METHOD'], 'uri' => $uri,
    'headers' => getallheaders(), 'body' => $body, 'status' => $status], JSON_INVALID_UTF8_SUBSTITUTE) . "\n");
flock($log, LOCK_UN);
fclose($log);
usleep(1000 * $sleep);
http_response_code($status);
echo $status === 200 ? "OK\n" : "no\n";
return true;
