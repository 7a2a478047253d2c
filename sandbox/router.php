<?php
// The sandbox's entry point under `php -S`: JustClick's API at /api/METHOD, signed replies, and
// faults for tests.
//
//   POST /api/METHOD                     the API; the request hash is checked, the reply signed
//   POST /fault/KIND[:ARG]/api/METHOD    the same, with a fault for this one request
//   POST /__sandbox/fault                kind, arg, count: a fault for the next `count` requests
//                                        (0: all of them, until reset)
//   POST /__sandbox/reset                forget orders, faults and counters
//   POST /__sandbox/latency              ms: every API reply waits ms more after the method ran
//                                        (0: none), until reset or clear
//   POST /__sandbox/ratelimit            rate, burst: at most `rate` API requests a second from one
//                                        client address (a token bucket of `burst` tokens, default
//                                        rate, at least 1); code 8 beyond it. rate 0: no limit.
//                                        Until reset or clear
//   POST /__sandbox/clear                forget armed faults, the latency and the rate limit; keep
//                                        the orders
//   GET  /__sandbox/stats                {"requests": API requests seen, "orders": orders held,
//                                        "duplicates": orders sent again, "refused": requests
//                                        refused with code 8, "user_agent": the last}
//   GET  /__sandbox/orders               every order held, with its items
//   POST /__sandbox/notify               the shop's notification URLs and switches (notify.php):
//                                        url, events, url_EVENT, forge, timeout, and the faults
//                                        of the way: drop (the next N never sent), delay and
//                                        delay_count (the next N held SECONDS first)
//   POST /__sandbox/prepay               bill_id, sum: a prepayment, notified as prepaid
//   POST /__sandbox/pay                  bill_id: the bill paid now (at: a unix time, paid then),
//                                        notified as paid
//   POST /__sandbox/cancel               bill_id: the bill cancelled, notified as cancel_order
//   POST /__sandbox/refund               bill_id: the money given back, notified as moneyback
//   GET  /__sandbox/notifications        every notification since reset: event, bill, attempts,
//                                        last status, delivered, given up or dropped, body
//   POST /__sandbox/seed                 count, days, good_name: `count` bills paid over the last
//                                        `days` days, in one go, with no notification (seed.php)
//
// The fault kinds and their ARGs are FAULTS below, the one list of them. Armed faults queue:
// the first armed one spoils the request, except a hangup that the request does not qualify
// for, which stays armed and leaves the request alone. A bad kind or ARG is answered 400.
//
// The account: JUSTCLICK_SANDBOX_USER (default "demo") and JUSTCLICK_SANDBOX_SECRET (default
// "sandbox-secret"); orders live in JUSTCLICK_SANDBOX_DB (default sandbox/data/sandbox.sqlite).
// Dates are written and read in JUSTCLICK_SANDBOX_TZ (default Europe/Moscow; see store.php).
// JUSTCLICK_SANDBOX_NOTIFY_URL: where payment notifications go, until /__sandbox/notify says.

// The front's check that the php -S on its backend port is its own (server.php): another
// sandbox's may hold a port this one was given, between free_port() and php -S binding it.
if (($_SERVER['REQUEST_URI'] ?? '') === '/__sandbox/backend') {
    echo getenv('JUSTCLICK_SANDBOX_BACKEND_ID');
    exit;
}

require __DIR__ . '/store.php';
require __DIR__ . '/api.php';
require __DIR__ . '/notify.php';
require __DIR__ . '/seed.php';

const FAULTS = [
    'slow' => 'MS: the method runs (an order is committed), then the reply waits MS ms',
    'http500' => 'status 500, nothing done',
    'redirect' => 'a 307 to the same method, nothing done',
    'notjson' => 'the method runs, the reply is an HTML page',
    'badhash' => 'the method runs, the reply is signed with another secret',
    'drop' => 'the method runs, half the reply is sent, then the connection closes',
    'huge' => 'the method runs, the reply is 9 MiB',
    'xaccel' => 'PATH: the method runs, the reply carries X-Accel-Redirect: PATH (nginx, unless it '
        . 'ignores the header, sends the request again to that location)',
    'hangup' => 'N (default 2): on the Nth or later request of a client connection, the method runs, '
        . 'then the front closes the connection without a byte of the reply; an earlier request '
        . 'passes untouched and does not use the fault up',
    'noresult' => 'SHAPE: the method runs, the reply is a correctly signed success (code 0) whose '
        . 'result is missing, null, a number (0) or a string ("OK")',
    'escapes' => 'code 602, correctly signed, its error_text full of control characters (ANSI '
        . 'colour, CR, LF, BEL, BS, NUL); nothing done',
    'billslist' => 'GetBills answers in the other shape clients meet: a list of {bill_id, goods: '
        . '[{good_name, good_sum}]} instead of bills keyed by id',
    'limit' => "ARG '' or forged: '', code 8 (the request limit), correctly signed, nothing done; forged: "
        . 'the method runs, then the reply is code 8 signed with another secret (a forged "try again")',
    'details' => 'SHAPE: getOrderDetails only (a request of another method passes untouched and leaves it '
        . 'armed): the method runs, the reply is a correctly signed success (code 0) whose order is not '
        . 'the documented shape: bare ({bill_id, link}, as CreateOrder answers), noitems, nocreated, '
        . 'itemsmap (items keyed by product code, not a list), noid (items without their id), numid '
        . "(each item's id a number, as GetAllGoods' good_id, not its product code), discount (each item's "
        . 'sum 10% below what the order was made with, as after a coupon)',
];
// JustClick's text for code 8 (reference.md): the request was refused before it was processed.
const LIMIT_TEXT = 'API request limit for this address exhausted';
const HUGE_PADDING = 9 << 20; // the huge fault's padding, bytes (a multiple of 64 KiB)
const NORESULT = ['missing' => null, 'null' => null, 'number' => 0, 'string' => 'OK'];
const DETAILS = ['bare', 'noitems', 'nocreated', 'itemsmap', 'noid', 'numid', 'discount'];
// What a terminal or a log would make of: red text, a carriage return that overwrites the line.
const ESCAPES_TEXT = "Order not created: \e[31mcard declined\e[0m\rOrder created\nline two\r\n"
    . "bell\x07 backspace\x08 nul\x00 end";

// Why $kind:$arg is no fault, or null.
function fault_problem(string $kind, string $arg): ?string {
    if (!isset(FAULTS[$kind])) return 'kind must be one of ' . implode(', ', array_keys(FAULTS));
    $ok = match ($kind) {
        'slow' => $arg === '' || ctype_digit($arg),
        'hangup' => $arg === '' || (ctype_digit($arg) && (int)$arg >= 1),
        'noresult' => $arg === '' || array_key_exists($arg, NORESULT),
        'xaccel' => str_starts_with($arg, '/'),
        'limit' => $arg === '' || $arg === 'forged',
        'details' => $arg === '' || in_array($arg, DETAILS, true),
        default => true,
    };
    return $ok ? null : "$kind: " . FAULTS[$kind];
}

// Whether the fault spoils a request of $method that is the $nth on its client connection.
function fault_applies(array $fault, int $nth, string $method): bool {
    if ($fault['kind'] === 'details') return $method === 'getOrderDetails';
    return $fault['kind'] !== 'hangup' || $nth >= (int)($fault['arg'] ?: 2);
}

// A getOrderDetails result ($r) in the shape the details:SHAPE fault names.
function spoil_details(array $r, string $shape): array {
    switch ($shape ?: 'bare') {
        case 'bare': return ['bill_id' => $r['id'], 'link' => $r['link']];
        case 'noitems': unset($r['items']); return $r;
        case 'nocreated': unset($r['created']); return $r;
        case 'itemsmap': $r['items'] = array_column($r['items'], null, 'id'); return $r;
        case 'numid':
            $r['items'] = array_map(function (array $it) { $it['id'] = 1000 + crc32($it['id']) % 9000; return $it; }, $r['items']);
            return $r;
        case 'discount':
            $r['items'] = array_map(function (array $it) { $it['sum'] = round($it['sum'] * 0.9, 2); return $it; }, $r['items']);
            return $r;
        case 'noid':
            $r['items'] = array_map(function (array $it) { unset($it['id']); return $it; }, $r['items']);
            return $r;
    }
    return $r;
}

function send_json($value, int $status = 200): void {
    http_response_code($status);
    header('Content-Type: application/json');
    echo json_encode($value), "\n";
}

function control(string $what): void {
    switch ($what) {
        case 'reset':
            reset_store();
            send_json(['ok' => true]);
            return;
        case 'fault':
            $kind = (string)($_POST['kind'] ?? '');
            $arg = (string)($_POST['arg'] ?? '');
            if ($problem = fault_problem($kind, $arg)) {
                send_json(['error' => $problem], 400);
                return;
            }
            arm_fault($kind, $arg, (int)($_POST['count'] ?? 1));
            send_json(['ok' => true]);
            return;
        case 'latency':
            set_note('latency', (string)(int)($_POST['ms'] ?? 0));
            send_json(['ok' => true]);
            return;
        case 'clear':
            store()->exec('DELETE FROM faults');
            set_note('latency', '0');
            set_rate_limit(0, 0);
            send_json(['ok' => true]);
            return;
        case 'ratelimit':
            $rate = (string)($_POST['rate'] ?? '');
            $burst = (string)($_POST['burst'] ?? '');
            if (!is_numeric($rate) || (float)$rate < 0 || ($burst !== '' && (!is_numeric($burst) || (float)$burst < 1))) {
                send_json(['error' => 'rate: requests a second from one address (0: no limit); '
                    . 'burst: the most at once, at least 1 (default: rate, at least 1)'], 400);
                return;
            }
            $burst = $burst === '' ? max(1.0, (float)$rate) : (float)$burst;
            set_rate_limit((float)$rate, $burst);
            send_json(['ok' => true, 'rate' => (float)$rate, 'burst' => $burst]);
            return;
        case 'stats':
            $orders = (int)store()->query('SELECT COUNT(*) FROM orders')->fetchColumn();
            send_json(['requests' => counter('requests'), 'orders' => $orders, 'duplicates' => counter('duplicates'),
                       'refused' => counter('refused'), 'user_agent' => note('user_agent')]);
            return;
        case 'notify':
            [$status, $reply] = notify_control($_POST);
            send_json($reply, $status);
            return;
        case 'prepay':
            [$status, $reply] = prepay_control($_POST);
            send_json($reply, $status);
            return;
        case 'pay':
        case 'cancel':
        case 'refund':
            // What the buyer or the shop's staff do at JustClick: UpdateOrderStatus, unsigned here
            [$status, $reply] = bill_event_control($what, $_POST);
            send_json($reply, $status);
            return;
        case 'notifications':
            send_json(notifications_list());
            return;
        case 'seed':
            [$status, $reply] = seed_control($_POST);
            send_json($reply, $status);
            return;
        case 'orders':
            $ids = store()->query('SELECT id FROM orders ORDER BY id')->fetchAll(PDO::FETCH_COLUMN);
            send_json(array_map(fn($id) => find_order((int)$id), $ids));
            return;
    }
    send_json(['error' => "no such control: $what"], 404);
}

// The huge fault's reply: the signed body with result {"padding": 9 MiB of x, "result": ...},
// its length said first and its padding written as it is made, so that its first byte goes at
// once, as a real server's would, however loaded the machine.
function huge(array $body, $result): void {
    $body['result'] = ['padding' => '', 'result' => $result];
    [$before, $after] = explode('"padding":""', json_encode($body), 2); // escaped in any string
    $chunk = str_repeat('x', 1 << 16);
    header('Content-Type: application/json');
    header('Content-Length: ' . (strlen($before) + strlen('"padding":""') + HUGE_PADDING + strlen($after)));
    echo $before, '"padding":"';
    flush();
    for ($i = 0; $i < HUGE_PADDING >> 16; $i++) echo $chunk;
    echo '"', $after;
}

// Writes the signed reply, spoiled as the fault says.
function respond(array $reply, string $secret, ?array $fault): void {
    [$code, $text, $result] = $reply;
    $kind = $fault['kind'] ?? '';
    if ($kind === 'noresult' && $code !== 0) [$code, $text] = [0, 'OK']; // a success, whatever happened
    if ($kind === 'limit') [$code, $text, $result] = [8, LIMIT_TEXT, null]; // forged: the method ran
    $signer = $kind === 'badhash' || $kind === 'limit' ? 'not-the-secret' : $secret;
    $body = ['error_code' => $code, 'error_text' => $text, 'result' => $result,
             'hash' => md5("$code::$text::$signer")];
    if ($kind === 'noresult') {
        $shape = $fault['arg'] ?: 'missing';
        if ($shape === 'missing') unset($body['result']);
        else $body['result'] = NORESULT[$shape];
    }
    if ($kind === 'details' && $code === 0 && is_array($result)) $body['result'] = spoil_details($result, $fault['arg']);
    if ($kind === 'billslist' && is_array($result)) {
        $list = [];
        foreach ($result as $id => $goods) $list[] = ['bill_id' => $id, 'goods' => array_values($goods)];
        $body['result'] = $list;
    }
    if ($kind === 'xaccel') header('X-Accel-Redirect: ' . $fault['arg']);
    if ($kind === 'hangup') header('X-Sandbox-Hangup: 1'); // the front drops the reply and hangs up
    if ($kind === 'slow') usleep(1000 * (int)$fault['arg']);
    if ($latency = (int)note('latency')) usleep(1000 * $latency);
    if ($kind === 'huge') {
        huge($body, $result);
        return;
    }
    if ($kind === 'notjson') {
        header('Content-Type: text/html');
        echo "<html><body><h1>Service temporarily unavailable</h1></body></html>\n";
        return;
    }
    $json = json_encode($body);
    if ($kind === 'drop') { // promise the whole reply, send half of it, and hang up
        header('Content-Length: ' . strlen($json));
        echo substr($json, 0, intdiv(strlen($json), 2));
        flush();
        exit;
    }
    header('Content-Type: application/json');
    echo $json;
}

set_sandbox_zone();
$path = explode('?', $_SERVER['REQUEST_URI'], 2)[0]; // not parse_url: it reads "slow:800" as a port
if (str_starts_with($path, '/__sandbox/')) {
    control(substr($path, strlen('/__sandbox/')));
    return true;
}
$fault = null;
if (preg_match('#^/fault/([a-z0-9]+)(?::([^/]*))?(/.*)$#', $path, $m)) {
    $fault = ['kind' => $m[1], 'arg' => $m[2]];
    $path = $m[3];
    if ($problem = fault_problem($fault['kind'], $fault['arg'])) {
        send_json(['error' => $problem], 400);
        return true;
    }
}
if (!preg_match('#^/api/([A-Za-z]+)$#', $path, $m) || $_SERVER['REQUEST_METHOD'] !== 'POST') {
    send_json(['error' => 'POST /api/METHOD'], 404);
    return true;
}
count_up('requests');
set_note('user_agent', $_SERVER['HTTP_USER_AGENT'] ?? '');
$user = getenv('JUSTCLICK_SANDBOX_USER') ?: 'demo';
$secret = getenv('JUSTCLICK_SANDBOX_SECRET') ?: 'sandbox-secret';
// The rate limit comes first, before the hash is checked or a fault is taken: a refused request
// (code 8, signed) does nothing, as JustClick's does.
$refuse = function () use ($secret) {
    count_up('refused');
    respond([8, LIMIT_TEXT, null], $secret, null);
    return true;
};
if (!take_token($_SERVER['HTTP_X_SANDBOX_CLIENT'] ?? '')) return $refuse();
$nth = (int)($_SERVER['HTTP_X_SANDBOX_NTH'] ?? 1); // its place on the client's connection (server.php)
$applies = fn(array $f) => fault_applies($f, $nth, $m[1]);
$fault = $fault === null ? take_fault($applies) : ($applies($fault) ? $fault : null);
if (($fault['kind'] ?? '') === 'limit' && $fault['arg'] === '') return $refuse();
if (($fault['kind'] ?? '') === 'http500') {
    http_response_code(500);
    echo "Internal Server Error\n";
    return true;
}
if (($fault['kind'] ?? '') === 'redirect') {
    http_response_code(307);
    header('Location: ' . $path);
    return true;
}
if (($fault['kind'] ?? '') === 'escapes') {
    respond([602, ESCAPES_TEXT, null], $secret, null);
    return true;
}
respond(handle($m[1], $_POST, $user, $secret), $secret, $fault);
return true;
