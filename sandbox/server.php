<?php
// php sandbox/server.php [PORT]
//
// Starts the sandbox: `php -S` serving router.php on a free local port with 16 workers, behind
// this small HTTP/1.1 front on 127.0.0.1:PORT (0: a free port). php -S closes every connection
// after one reply; the front keeps the client's connections alive, as JustClick's servers do,
// and forwards requests from many connections at once. It prints "sandbox listening on
// http://127.0.0.1:PORT" once both answer. POST /__fast/api/METHOD is a signed success answered
// by the front alone, for benchmarks.
//
// GET /__sandbox/front: {"connections": accepted so far, "hangups": requests dropped unanswered}.
// The front tells router.php each request's place on its client connection (X-Sandbox-Nth: 1
// for the first) and the client's address (X-Sandbox-Client, which the rate limit counts by);
// router.php asks for the "hangup" fault with X-Sandbox-Hangup, and the front then closes the
// client connection without a byte of the reply. None of these headers gets past it.
//
// php -S runs in a session of its own (setsid), under a shell that stays with it, so that its
// workers can be stopped with it: stopping the master alone, even by SIGKILL, leaves them
// listening. SIGINT, SIGTERM and any other end of this script (exit, a fatal error) stop the
// whole group; if this script is killed outright, the shell sees its stdin close and kills the
// group itself. JUSTCLICK_SANDBOX_OWNER=PID stops the sandbox when process PID ends.
// JUSTCLICK_SANDBOX_TZ is checked here, so that a bad zone stops the start (see router.php).
//
// A reply of php -S that promises its Content-Length goes on to the client as it comes.
//
// It also starts notifier.php, which sends payment notifications (notify.php) to the shop. A
// reply of router.php names the notifications its call queued (X-Sandbox-Notify: ID,...); the
// front strips the header and, once it has answered the client (or hung up on it), writes the
// ids to the notifier's stdin, which releases them. The notifier is stopped with php -S, and
// ends by itself when its stdin closes, so even SIGKILL of this script does not leave it.

// What a person needs to use the sandbox, printed once it listens: its account, the export lines
// for the client and the program, a command for each event a bill can have (router.php's
// /__sandbox/pay, prepay, cancel and refund), the notifications' faults (drop, delay) and the
// seed of paid bills that getOrdersWithGoods lists, for catch-up. The account is the sandbox's
// own, a test secret.
function banner(string $url): string {
    $word = fn(string $s) => preg_match('~^[A-Za-z0-9_.,:/@%+=-]+$~', $s) ? $s : escapeshellarg($s);
    $user = getenv('JUSTCLICK_SANDBOX_USER') ?: 'demo';
    $secret = getenv('JUSTCLICK_SANDBOX_SECRET') ?: 'sandbox-secret';
    $lines = [
        "  user $user, secret $secret, API $url/api",
        '  export JUSTCLICK_USER=' . $word($user) . ' JUSTCLICK_SECRET=' . $word($secret)
            . ' JUSTCLICK_API_URL=' . $word("$url/api"),
        '  an order, with the program (make builds it; run from the work tree), printing its bill_id:',
        '    build/bin/justclick -e \'print(assert(require("justclick").create_order{bill_email = "buyer@example.com",'
            . ' goods = {{good_name = "invoice"}}}).bill_id)\'',
        '  events of a bill (BILL: its bill_id), each notified to the URL set with /__sandbox/notify:',
        "    curl -d bill_id=BILL $url/__sandbox/pay               # paid (-d at=UNIXTIME: paid then)",
        "    curl -d bill_id=BILL -d sum=100 $url/__sandbox/prepay # prepaid: 100 of it",
        "    curl -d bill_id=BILL $url/__sandbox/cancel            # cancel_order",
        "    curl -d bill_id=BILL $url/__sandbox/refund            # moneyback",
        "    curl -d url=http://127.0.0.1:8787/justclick/notify $url/__sandbox/notify   # where notifications go",
        "    curl $url/__sandbox/notifications                      # what was sent, and the shop's answers",
        "    curl -d drop=1 $url/__sandbox/notify                   # the next notification lost on the way",
        "    curl -d delay=30 $url/__sandbox/notify                 # the next one sent 30 s late",
        '  paid bills that were never notified, for catch-up: getOrdersWithGoods with paid=1 lists them',
        "    curl -d count=10000 -d days=30 $url/__sandbox/seed     # 10000 paid over the last 30 days",
        '  Ctrl-C stops it; docs/sandbox.md has the rest',
    ];
    return implode("\n", $lines) . "\n";
}

const READ_CHUNK = 65536;
const BAD_GATEWAY = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
const WORKERS = 16; // php -S answers this many requests at once

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

// Sends the request to php -S; returns the backend socket to read the reply from, or null.
function forward_start(array $req, int $nth, string $client, int $backend) {
    $s = @stream_socket_client("tcp://127.0.0.1:$backend", $errno, $errstr, 5);
    if (!$s) return null;
    $head = without_headers($req['head'], ['connection', 'x-sandbox-nth', 'x-sandbox-client', 'x-sandbox-hangup'])
        . "\r\nX-Sandbox-Nth: $nth\r\nX-Sandbox-Client: $client\r\nConnection: close";
    if (!write_all($s, $head . "\r\n\r\n" . $req['body'])) return null;
    stream_set_blocking($s, false);
    return $s;
}

// One reply of php -S on its way to a client. Its head is read whole first; then, if php -S
// promised a Content-Length, the body goes on to the client as it comes (a 9 MiB reply starts at
// once, and the front holds none of it); without one, the body is gathered and sent with its
// length at the end. An object, so that appending to its body never copies what came before.
final class Relay {
    public string $head = '';   // php -S's reply until its head is whole
    public ?array $ids = null;  // the notifications the reply names (X-Sandbox-Notify), once its head is read
    public string $mode = 'head'; // head, stream (Content-Length known), gather (not known), drop (hung up)
    public string $body = '';   // gather: the body so far
    public int $left = 0;       // stream: the bytes of the body still to come
    public function __construct(public $sock, public int $client) {}
}

// The head for the client from php -S's head: its own headers gone, Content-Length $length, kept alive.
function client_head(string $head, ?int $length): string {
    $head = without_headers($head, ['connection', 'content-length', 'x-sandbox-hangup']);
    return $head . ($length === null ? '' : "\r\nContent-Length: $length") . "\r\nConnection: keep-alive\r\n\r\n";
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
require __DIR__ . '/store.php';
if (!set_sandbox_zone()) {
    fwrite(STDERR, 'sandbox: JUSTCLICK_SANDBOX_TZ is no time zone: ' . getenv('JUSTCLICK_SANDBOX_TZ') . "\n");
    exit(1);
}

// JUSTCLICK_SANDBOX_OWNER=PID: the sandbox stops by itself once process PID has ended, however
// it ended (the specs pass busted's pid, so that a busted killed outright leaves no sandbox).
// A pid is known by its start time too, so that another process given the same pid is not it.
function start_time(int $pid): ?string {
    $stat = @file_get_contents("/proc/$pid/stat");
    if ($stat === false) return null;
    $fields = explode(' ', substr($stat, strrpos($stat, ')') + 2)); // from the 3rd field, the state
    return $fields[0] === 'Z' ? null : ($fields[19] ?? null); // a zombie has ended; 22nd: the start
}
$owner = (int)getenv('JUSTCLICK_SANDBOX_OWNER');
$owner_start = $owner > 0 ? start_time($owner) : null;
if ($owner > 0 && $owner_start === null) {
    fwrite(STDERR, "sandbox: JUSTCLICK_SANDBOX_OWNER $owner is no running process\n");
    exit(1);
}
const OWNER_CHECK = 0.2; // seconds between looks at the owner

// Stops the notifier, then php -S and its workers: TERM to their group; once the shell that
// holds them is gone (or after 1 s), KILL to whatever of the group is left. (Dead workers can
// linger as zombies until init reaps them, so the group is not waited for.)
$group = 0; // the backend shell's pid, which setsid makes its process group's id
$notifier = null;
$notifier_in = null; // the notifier's stdin
$stop_backend = function () use (&$group, &$backend, &$notifier) {
    if ($notifier) { // TERM ends it at once (it sets no handler); KILL if it has not within 1 s
        [$n, $notifier] = [$notifier, null];
        proc_terminate($n, SIGTERM);
        for ($i = 0; $i < 40 && proc_get_status($n)['running']; $i++) usleep(25000);
        if (proc_get_status($n)['running']) proc_terminate($n, SIGKILL);
    }
    if ($group === 0) return;
    [$g, $group] = [$group, 0]; // once: a signal's stop runs the shutdown function too
    posix_kill(-$g, SIGTERM) || posix_kill($g, SIGTERM); // the latter: setsid has not run yet
    for ($i = 0; $i < 40 && proc_get_status($backend)['running']; $i++) usleep(25000);
    posix_kill(-$g, SIGKILL);
};
$stop = function () use ($stop_backend) {
    $stop_backend();
    exit(0);
};
// Before php -S starts, so that no signal can end this script without stopping it.
pcntl_async_signals(true);
pcntl_signal(SIGTERM, $stop);
pcntl_signal(SIGINT, $stop);
pcntl_signal(SIGPIPE, SIG_IGN); // a client that hung up must not stop the front
register_shutdown_function($stop_backend);

// What the php -S on port answers to GET /__sandbox/backend (router.php: its sandbox's id); null
// while nothing accepts there.
function backend_id(int $port): ?string {
    $s = @stream_socket_client("tcp://127.0.0.1:$port", $errno, $errstr, 1);
    if (!$s) return null;
    stream_set_timeout($s, 2);
    fwrite($s, "GET /__sandbox/backend HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    $reply = (string)stream_get_contents($s);
    fclose($s);
    $at = strpos($reply, "\r\n\r\n");
    return $at === false ? '' : substr($reply, $at + 4);
}

// free_port() lets go of the port before php -S binds it: another sandbox (specs start many at
// once) can take it meanwhile, and this front would then send its requests to that one's php -S.
// So the backend must answer with this sandbox's id; else it goes, and another port is tried.
// JUSTCLICK_SANDBOX_BACKEND_PORT: the first port tried (for the spec of a port taken).
$backend_id = bin2hex(random_bytes(8));
$backend_port = (int)getenv('JUSTCLICK_SANDBOX_BACKEND_PORT') ?: free_port();
for ($attempt = 1; ; $attempt++, $backend_port = free_port()) {
    // php -S and its workers run in a session of their own (setsid), under a shell that stays
    // with them. A worker outlives its master, whatever ends the master (TERM too): only their
    // group reaches them all. The shell reads its stdin, a pipe whose one writer is this script;
    // when the pipe closes (this script ended, however it ended: SIGKILL too), it kills its whole
    // group. setsid execs the shell in place (proc_open's child leads no group), so its pid is
    // the group.
    $backend = proc_open(['setsid', 'sh', '-c', '"$0" -S "$1" "$2" < /dev/null > /dev/null 2>&1 & read -r _; kill -KILL 0',
        PHP_BINARY, "127.0.0.1:$backend_port", __DIR__ . '/router.php'],
        [0 => ['pipe', 'r'], 1 => ['file', '/dev/null', 'w'], 2 => ['file', '/dev/null', 'w']], $backend_pipes,
        null, getenv() + ['PHP_CLI_SERVER_WORKERS' => (string)WORKERS, 'JUSTCLICK_SANDBOX_BACKEND_ID' => $backend_id]);
    $backend_in = $backend_pipes[0]; // never written: that it closes is all the shell waits for
    $group = proc_get_status($backend)['pid'];
    for ($i = 0; $i < 200 && ($seen = backend_id($backend_port)) === null; $i++) usleep(50000);
    if ($seen === $backend_id) break;
    $stop_backend(); // another's, or none: this php -S goes (it could not bind), and another port
    fclose($backend_in);
    if ($attempt === 5) {
        fwrite(STDERR, "sandbox: php -S did not start\n");
        exit(1);
    }
}
// After php -S, so that php -S holds no copy of the pipe's write end: the pipe closes with us.
$notifier = proc_open([PHP_BINARY, __DIR__ . '/notifier.php'],
    [0 => ['pipe', 'r'], 1 => ['file', '/dev/null', 'w'], 2 => STDERR], $notifier_pipes);
if (!$notifier) {
    fwrite(STDERR, "sandbox: the notifier did not start\n");
    exit(1);
}
$notifier_in = $notifier_pipes[0];
stream_set_blocking($notifier_in, false); // never stall the front: a lost id is released late
$url = 'http://127.0.0.1:' . port_of($listen);
echo "sandbox listening on $url\n"; // the line the specs and scripts wait for: keep it first
echo banner($url);

// POST /__fast/...: a signed success answered by the front itself, with no check and no
// storage, so that benchmarks measure the client and not php -S.
$secret = getenv('JUSTCLICK_SANDBOX_SECRET') ?: 'sandbox-secret';
$fast_reply = json_encode(['error_code' => 0, 'error_text' => 'OK',
    'result' => ['bill_id' => 100001, 'link' => '/bill/fast'], 'hash' => md5("0::OK::$secret")]);
$clients = [];  // id => [sock, buf, busy: a request of theirs is with php -S]
$pending = [];  // backend socket id => Relay
$connections = 0;
$hangups = 0;

// The notification ids in a head of php -S (X-Sandbox-Notify), and the head without the header.
function take_notifications(string $head): array {
    if (!preg_match('/\r\nx-sandbox-notify:\s*([\d,]+)[^\r]*/i', $head, $m)) return [$head, []];
    return [str_replace($m[0], '', $head), explode(',', $m[1])];
}

// Writes to the client; false, and the client closed and forgotten, when it cannot be written to.
$send = function (int $id, string $data) use (&$clients): bool {
    $c = $clients[$id] ?? null;
    if ($c === null) return false;
    if (write_all($c['sock'], $data)) return true;
    fclose($c['sock']);
    unset($clients[$id]);
    return false;
};

// The client's reply is over: hangs up unless the connection stays open.
$finish = function (int $id, bool $keep) use (&$clients) {
    $c = $clients[$id] ?? null;
    if ($c === null) return;
    if (!$keep || $c['close']) {
        fclose($c['sock']);
        unset($clients[$id]);
        return;
    }
    $clients[$id]['busy'] = false;
};

$answer = function (int $id, string $out, bool $keep) use ($send, $finish) {
    if ($send($id, $out)) $finish($id, $keep);
};

// Starts the client's next whole request, one at a time per connection.
$serve = function (int $id) use (&$clients, &$pending, &$connections, &$hangups, $answer, $fast_reply, $backend_port) {
    while (isset($clients[$id]) && !$clients[$id]['busy'] && ($req = take_request($clients[$id]['buf'])) !== null) {
        $keep = !$req['close'];
        $nth = ++$clients[$id]['requests'];
        if ($req['target'] === '/__sandbox/front') {
            $answer($id, reply_from_front(json_encode(['connections' => $connections, 'hangups' => $hangups])), $keep);
        } elseif (str_starts_with($req['target'], '/__fast/')) {
            $answer($id, reply_from_front($fast_reply), $keep); // benchmarks: the client's cost, not ours
        } elseif ($s = forward_start($req, $nth, $clients[$id]['addr'], $backend_port)) {
            $clients[$id]['busy'] = true;
            $clients[$id]['close'] = $req['close'];
            $pending[(int)$s] = new Relay($s, $id);
        } else {
            $answer($id, BAD_GATEWAY, false);
        }
    }
};

// What php -S sent on, taken as it comes.
$relay = function (Relay $r, string $data) use (&$hangups, $send, $finish) {
    if ($r->mode === 'stream') {
        $r->left -= strlen($data);
        $send($r->client, $data);
        return;
    }
    if ($r->mode === 'gather') {
        $r->body .= $data;
        return;
    }
    if ($r->mode !== 'head') return; // drop: the client was hung up on
    $r->head .= $data;
    $end = strpos($r->head, "\r\n\r\n");
    if ($end === false) return;
    $rest = (string)substr($r->head, $end + 4);
    [$head, $r->ids] = take_notifications(substr($r->head, 0, $end));
    $r->head = $head;
    if (preg_match('/^x-sandbox-hangup:/mi', $head)) { // the hangup fault: not a byte of the reply
        $hangups++;
        $finish($r->client, false);
        $r->mode = 'drop';
    } elseif (preg_match('/^content-length:\s*(\d+)/mi', $head, $m)) {
        $r->mode = 'stream';
        $r->left = (int)$m[1] - strlen($rest);
        $send($r->client, client_head($head, (int)$m[1]) . $rest);
    } else {
        $r->mode = 'gather';
        $r->body = $rest;
    }
};

// php -S has closed the connection: the reply is over.
$relayed = function (Relay $r) use ($send, $finish, $serve, &$notifier_in) {
    if ($r->mode === 'head') { // it ended before its head did: nothing, or not HTTP
        [$out, $r->ids] = take_notifications($r->head);
        if ($send($r->client, $out === '' ? BAD_GATEWAY : $out)) $finish($r->client, false);
    } elseif ($r->mode === 'stream') {
        $finish($r->client, $r->left <= 0); // cut short (the "drop" fault): hang up
    } elseif ($r->mode === 'gather') {
        if ($send($r->client, client_head($r->head, strlen($r->body)) . $r->body)) $finish($r->client, true);
    }
    // Answered: the shop may hear of it now (the API did not wait for the shop).
    if ($r->ids) @fwrite($notifier_in, implode("\n", $r->ids) . "\n");
    if ($r->mode !== 'drop') $serve($r->client);
};

$owner_checked = microtime(true);
while (true) {
    $read = [$listen];
    foreach ($clients as $c) $read[] = $c['sock'];
    foreach ($pending as $r) $read[] = $r->sock;
    unset($c); // no second reference to a client's buffer: appending to it copies nothing
    $write = $except = null;
    $ready = @stream_select($read, $write, $except, $owner > 0 ? 0 : null, $owner > 0 ? (int)(OWNER_CHECK * 1e6) : 0);
    if ($owner > 0 && microtime(true) - $owner_checked >= OWNER_CHECK) {
        if (start_time($owner) !== $owner_start) $stop(); // the owner has ended
        $owner_checked = microtime(true);
    }
    if ($ready === false) continue; // a signal
    foreach ($read as $s) {
        $id = (int)$s;
        if ($s === $listen) {
            if ($c = @stream_socket_accept($listen, 0, $peer)) {
                $addr = preg_replace('/:\d+$/', '', (string)$peer); // the address without its port
                $clients[(int)$c] = ['sock' => $c, 'buf' => '', 'busy' => false, 'close' => false, 'requests' => 0,
                                     'addr' => $addr];
                $connections++;
            }
        } elseif (isset($pending[$id])) { // php -S is answering
            $data = @fread($s, READ_CHUNK);
            if ($data !== false && $data !== '') {
                $relay($pending[$id], $data);
            } elseif ($data === false || feof($s)) {
                $r = $pending[$id];
                unset($pending[$id]);
                fclose($s);
                $relayed($r);
            }
        } elseif (isset($clients[$id])) {
            $data = @fread($s, READ_CHUNK);
            if ($data === false || ($data === '' && feof($s))) {
                fclose($s); // its reply, if php -S is still on it, will find no one
                unset($clients[$id]);
                continue;
            }
            $clients[$id]['buf'] .= $data;
            $serve($id);
        }
    }
}
