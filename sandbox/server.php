<?php
// php sandbox/server.php [PORT]
//
// Starts the sandbox: `php -S` serving router.php on a free local port, behind this small
// HTTP/1.1 front on 127.0.0.1:PORT (0: a free port). php -S closes every connection after one
// reply; the front keeps the client's connections alive, as JustClick's servers do, and counts
// them (GET /__sandbox/front). It prints "sandbox listening on http://127.0.0.1:PORT" once both
// answer. SIGINT and SIGTERM stop both. POST /__fast/api/METHOD is a signed success answered by
// the front alone, for benchmarks.

const READ_CHUNK = 65536;

function port_of($server): int {
    return (int)substr(strrchr(stream_socket_get_name($server, false), ':'), 1);
}

function free_port(): int {
    $probe = stream_socket_server('tcp://127.0.0.1:0');
    $port = port_of($probe);
    fclose($probe);
    return $port;
}

// One whole request off the front of $buf (headers and Content-Length body), or null.
function take_request(string &$buf): ?array {
    $end = strpos($buf, "\r\n\r\n");
    if ($end === false) return null;
    $head = substr($buf, 0, $end);
    $lines = explode("\r\n", $head);
    $target = explode(' ', $lines[0])[1] ?? '/';
    $length = 0;
    $close = false;
    foreach (array_slice($lines, 1) as $line) {
        [$name, $value] = array_map('trim', explode(':', $line, 2)) + [1 => ''];
        $name = strtolower($name);
        if ($name === 'content-length') $length = (int)$value;
        if ($name === 'connection' && strtolower($value) === 'close') $close = true;
    }
    if (strlen($buf) < $end + 4 + $length) return null;
    $body = substr($buf, $end + 4, $length);
    $buf = (string)substr($buf, $end + 4 + $length);
    return ['target' => $target, 'head' => $head, 'body' => $body, 'close' => $close];
}

function without_headers(string $head, array $names): string {
    $keep = [];
    foreach (explode("\r\n", $head) as $i => $line) {
        $name = strtolower(trim(explode(':', $line, 2)[0]));
        if ($i === 0 || !in_array($name, $names, true)) $keep[] = $line;
    }
    return implode("\r\n", $keep);
}

// Sends the request to php -S and returns [the reply for the client, whether it is whole].
function forward(array $req, int $backend): array {
    $s = @stream_socket_client("tcp://127.0.0.1:$backend", $errno, $errstr, 5);
    if (!$s) return ["HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", false];
    stream_set_timeout($s, 300);
    $head = without_headers($req['head'], ['connection']) . "\r\nConnection: close";
    fwrite($s, $head . "\r\n\r\n" . $req['body']);
    $reply = stream_get_contents($s);
    fclose($s);
    $end = strpos($reply, "\r\n\r\n");
    if ($end === false) return [$reply, false];
    $head = substr($reply, 0, $end);
    $body = substr($reply, $end + 4);
    $promised = preg_match('/^content-length:\s*(\d+)/mi', $head, $m) ? (int)$m[1] : null;
    if ($promised !== null && strlen($body) < $promised) {
        return [$reply, false]; // cut short (the "drop" fault): pass it on, then hang up
    }
    $head = without_headers($head, ['connection', 'content-length']);
    return [$head . "\r\nContent-Length: " . strlen($body) . "\r\nConnection: keep-alive\r\n\r\n" . $body, true];
}

function reply_from_front(string $body): string {
    return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " . strlen($body)
        . "\r\nConnection: keep-alive\r\n\r\n" . $body;
}

function write_all($s, string $data): bool {
    while ($data !== '') {
        $n = @fwrite($s, $data);
        if ($n === false || $n === 0) return false;
        $data = substr($data, $n);
    }
    return true;
}

$listen = @stream_socket_server('tcp://127.0.0.1:' . (int)($argv[1] ?? 8080), $errno, $errstr);
if (!$listen) {
    fwrite(STDERR, "sandbox: cannot listen: $errstr\n");
    exit(1);
}
$backend_port = free_port();
$backend = proc_open([PHP_BINARY, '-S', "127.0.0.1:$backend_port", __DIR__ . '/router.php'],
    [0 => ['file', '/dev/null', 'r'], 1 => ['file', '/dev/null', 'w'], 2 => ['file', '/dev/null', 'w']], $pipes);
$stop = function () use ($backend) {
    proc_terminate($backend);
    exit(0);
};
pcntl_async_signals(true);
pcntl_signal(SIGTERM, $stop);
pcntl_signal(SIGINT, $stop);
pcntl_signal(SIGPIPE, SIG_IGN); // a client that hung up must not stop the front
register_shutdown_function(fn() => proc_terminate($backend));

for ($i = 0; $i < 100 && !($probe = @stream_socket_client("tcp://127.0.0.1:$backend_port")); $i++) usleep(50000);
if (empty($probe)) {
    fwrite(STDERR, "sandbox: php -S did not start\n");
    exit(1);
}
fclose($probe);
echo 'sandbox listening on http://127.0.0.1:' . port_of($listen) . "\n";

// POST /__fast/...: a signed success answered by the front itself, with no check and no
// storage, so that benchmarks measure the client and not php -S.
$secret = getenv('JUSTCLICK_SANDBOX_SECRET') ?: 'sandbox-secret';
$fast_reply = json_encode(['error_code' => 0, 'error_text' => 'OK',
    'result' => ['bill_id' => 100001, 'link' => '/bill/fast'], 'hash' => md5("0::OK::$secret")]);
$clients = [];
$connections = 0;
while (true) {
    $read = [$listen];
    foreach ($clients as $c) $read[] = $c['sock'];
    $write = $except = null;
    if (@stream_select($read, $write, $except, null) === false) continue; // a signal
    foreach ($read as $s) {
        if ($s === $listen) {
            if ($c = @stream_socket_accept($listen, 0)) {
                $clients[(int)$c] = ['sock' => $c, 'buf' => ''];
                $connections++;
            }
            continue;
        }
        $id = (int)$s;
        $data = @fread($s, READ_CHUNK);
        if ($data === false || ($data === '' && feof($s))) {
            fclose($s);
            unset($clients[$id]);
            continue;
        }
        $clients[$id]['buf'] .= $data;
        while (isset($clients[$id]) && ($req = take_request($clients[$id]['buf'])) !== null) {
            if ($req['target'] === '/__sandbox/front') {
                $out = reply_from_front(json_encode(['connections' => $connections]));
                $whole = true;
            } elseif (str_starts_with($req['target'], '/__fast/')) {
                $out = reply_from_front($fast_reply); // for benchmarks: the client's cost, not ours
                $whole = true;
            } else {
                [$out, $whole] = forward($req, $backend_port);
            }
            if (!write_all($s, $out) || !$whole || $req['close']) {
                fclose($s);
                unset($clients[$id]);
            }
        }
    }
}
