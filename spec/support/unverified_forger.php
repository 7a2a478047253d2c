<?php
// A hostile stand-in for JustClick (spec/unverified_error_spec.lua): it "processes" every API
// request (counts it, by method, in $FORGER_DIR/count.METHOD) and answers an API error that is
// not signed with the account's secret, as anyone on the way could answer a request that made
// the order:
//   FORGER_DIR=dir FORGER_CODE=602 php -S 127.0.0.1:PORT spec/support/unverified_forger.php
$dir = getenv('FORGER_DIR');
$code = (int) (getenv('FORGER_CODE') ?: 602);
if (!preg_match('#/api/(\w+)$#', parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH), $m)) {
    http_response_code(404);
    return true;
}
$file = "$dir/count.{$m[1]}";
$fh = fopen($file, 'c+');
flock($fh, LOCK_EX);
$n = (int) stream_get_contents($fh) + 1;
ftruncate($fh, 0);
rewind($fh);
fwrite($fh, (string) $n);
flock($fh, LOCK_UN);
fclose($fh);
$text = 'Order data rejected';
header('Content-Type: application/json');
echo json_encode(['error_code' => $code, 'error_text' => $text,
    'hash' => md5("$code::$text::not-the-account-secret")]);
