<?php
// Payment notifications, as JustClick sends them to a shop: a form POST to the URL the shop set
// for the event, with the bill's getOrderDetails fields, signed as the docs say: a new or
// cancelled order has no `paid` key and hash = md5(id . email . created . secret); a payment
// (paid, prepaid) md5(id . email . paid . secret); a refund (moneyback), which keeps the paid
// of the payment it returns, is signed with that paid too (the docs do not say).
//
// An API call that makes one (CreateOrder, UpdateOrderStatus paid/cancel/return, and the
// /__sandbox/prepay control) queues it in SQLite with its whole body, held, and names it to the
// front in the reply header X-Sandbox-Notify. The front (server.php) strips that header and,
// once it has answered the client, passes the ids to the notifier (notifier.php), which
// releases and sends them: the shop never hears of a bill before the client does, and the API
// never waits for the shop. A retry sends the stored body again, byte for byte.
//
// Configuration, in the store's notes (so every php -S worker and the notifier see it), until
// /__sandbox/reset: the URL per event, forge, timeout, and the faults of the way: drop and delay. With no URL set through
// /__sandbox/notify, JUSTCLICK_SANDBOX_NOTIFY_URL is every event's URL.

const NOTIFY_EVENTS = ['new_order', 'paid', 'prepaid', 'cancel_order', 'moneyback'];
// The fields of getOrderDetails that a notification carries, in this order; utm and items follow.
const NOTIFY_FIELDS = ['id', 'first_name', 'last_name', 'middle_name', 'email', 'phone', 'city', 'country',
    'address', 'region', 'postalcode', 'created', 'paid', 'comment', 'tag', 'kupon', 'type', 'payway',
    'domain', 'link', 'is_recurrent'];
// The wait before each retry, in seconds; a notification that fails once more is given up.
const NOTIFY_BACKOFF = [0.2, 0.5, 1, 2];
const NOTIFY_TIMEOUT = 5.0;     // seconds an attempt may take, unless /__sandbox/notify says
const NOTIFY_HOLD_LIMIT = 30.0; // a held notification the front never released goes anyway
const NOTIFY_FORGED_SECRET = 'not-the-secret';

// The URL of each event that has one: the set ones, or else JUSTCLICK_SANDBOX_NOTIFY_URL's.
function notify_urls(): array {
    $set = note('notify_urls');
    if ($set !== '') return json_decode($set, true);
    $url = (string)getenv('JUSTCLICK_SANDBOX_NOTIFY_URL');
    return $url === '' ? [] : array_fill_keys(NOTIFY_EVENTS, $url);
}

function notify_timeout(): float {
    $t = note('notify_timeout');
    return $t === '' ? NOTIFY_TIMEOUT : (float)$t;
}

// The delay switch: [seconds, how many notifications more], [0, 0] when off.
function notify_delay(): array {
    $d = note('notify_delay');
    if ($d === '') return [0.0, 0];
    [$seconds, $count] = explode(' ', $d);
    return [(float)$seconds, (int)$count];
}

function notify_settings(): array {
    [$delay, $delay_count] = notify_delay();
    return ['urls' => (object)notify_urls(), 'forge' => (int)note('notify_forge'), 'timeout' => notify_timeout(),
            'drop' => (int)note('notify_drop'), 'delay' => $delay, 'delay_count' => $delay_count];
}

// POST /__sandbox/notify: [status, reply]. Every field is optional, and checked before any is
// set; the reply is the settings now.
//   url         the URL of every event in `events` (default all of them); empty: none
//   events      comma list of NOTIFY_EVENTS, for `url`
//   url_EVENT   that event's URL (after `url`); empty: none
//   forge       N: the next N notifications are signed with another secret; 0: none
//   timeout     seconds an attempt may take (default 5)
//   drop        N: the next N notifications are lost on the way: never sent, listed as dropped
//               (so that a spec can see a payment whose notification never came); 0: none
//   delay       seconds: the next delay_count notifications (default 1) wait this long after
//               they are queued before their first send; 0: none
// Each switch counts the notifications queued after it was set, whatever the others do.
function notify_control(array $post): array {
    $urls = notify_urls();
    $bad = fn(string $why) => [400, ['error' => $why]];
    $url_problem = function ($url): ?string {
        if (!is_string($url)) return 'a URL is one string';
        return $url === '' || preg_match('#^https?://[^/?\#]+#i', $url) ? null : "not an http(s) URL: $url";
    };
    $set = function (string $event, string $url) use (&$urls) {
        if ($url === '') unset($urls[$event]);
        else $urls[$event] = $url;
    };
    $changed = false;
    if (array_key_exists('url', $post)) {
        if ($why = $url_problem($post['url'])) return $bad($why);
        $events = NOTIFY_EVENTS;
        if (isset($post['events']) && $post['events'] !== '') {
            if (!is_string($post['events'])) return $bad('events: a comma list');
            $events = array_map('trim', explode(',', $post['events']));
            if ($unknown = array_diff($events, NOTIFY_EVENTS)) {
                return $bad('no such event: ' . implode(', ', $unknown) . '; events are ' . implode(', ', NOTIFY_EVENTS));
            }
        }
        foreach ($events as $e) $set($e, $post['url']);
        $changed = true;
    }
    foreach (NOTIFY_EVENTS as $e) {
        if (!array_key_exists("url_$e", $post)) continue;
        if ($why = $url_problem($post["url_$e"])) return $bad("url_$e: $why");
        $set($e, $post["url_$e"]);
        $changed = true;
    }
    if (array_key_exists('sign_with', $post)) {
        return $bad('sign_with is gone: new and cancelled orders are signed with created, payments with paid, as the docs say');
    }
    $forge = $post['forge'] ?? null;
    if ($forge !== null && !(is_string($forge) && ctype_digit($forge))) return $bad('forge: a count');
    $timeout = $post['timeout'] ?? null;
    if ($timeout !== null && !(is_string($timeout) && is_numeric($timeout) && (float)$timeout > 0)) {
        return $bad('timeout: seconds, more than 0');
    }
    $drop = $post['drop'] ?? null;
    if ($drop !== null && !(is_string($drop) && ctype_digit($drop))) return $bad('drop: a count');
    $delay = $post['delay'] ?? null;
    if ($delay !== null && !(is_string($delay) && is_numeric($delay) && (float)$delay >= 0 && (float)$delay <= 3600)) {
        return $bad('delay: seconds, from 0 to 3600');
    }
    $delay_count = $post['delay_count'] ?? null;
    if ($delay_count !== null && $delay === null) return $bad('delay_count: with delay');
    if ($delay_count !== null && !(is_string($delay_count) && ctype_digit($delay_count) && (int)$delay_count >= 1)) {
        return $bad('delay_count: a count, at least 1');
    }
    if ($changed) set_note('notify_urls', json_encode((object)$urls)); // {}: none, not the env's
    if ($forge !== null) set_note('notify_forge', (string)(int)$forge);
    if ($timeout !== null) set_note('notify_timeout', (string)(float)$timeout);
    if ($drop !== null) set_note('notify_drop', (string)(int)$drop);
    if ($delay !== null) {
        $on = (float)$delay > 0;
        set_note('notify_delay', $on ? sprintf('%.6F %d', (float)$delay, (int)($delay_count ?? 1)) : '');
    }
    return [200, notify_settings()];
}

// POST /__sandbox/prepay: bill_id and sum, a prepayment of a bill that waits for its payment
// (or was sent unpaid): getOrderDetails' bill_sum_topay is lowered by sum (pay_status stays),
// and a prepaid notification goes. The sum is more than 0 and less than what is left to pay:
// the whole of it is a payment (UpdateOrderStatus paid).
function prepay_control(array $post): array {
    $id = order_id($post);
    if ($id === null) return [400, ['error' => 'bill_id: a bill number']];
    $sum = $post['sum'] ?? null;
    if (!(is_string($sum) && is_numeric($sum) && (float)$sum > 0)) return [400, ['error' => 'sum: more than 0']];
    $db = store();
    begin_writing($db); // two prepayments at once each see the other's
    $o = find_order($id);
    if (!$o) {
        $db->exec('COMMIT');
        return [404, ['error' => "no bill $id"]];
    }
    $left = bill_sum_topay($o, (float)array_sum(array_column($o['items'], 'sum')));
    $problem = !in_array($o['pay_status'], ['waiting', 'sent'], true) ? "bill $id is {$o['pay_status']}: nothing to prepay"
        : ((float)$sum >= $left ? "sum: less than what is left to pay, $left" : null);
    if ($problem !== null) {
        $db->exec('COMMIT');
        return [400, ['error' => $problem]];
    }
    $db->prepare('UPDATE orders SET prepaid = prepaid + ? WHERE id = ?')->execute([(float)$sum, $id]);
    $db->exec('COMMIT');
    return [200, ['ok' => true, 'bill_id' => $id,
                  'notification' => notify_event('prepaid', $id, ['prepayment_sum' => (float)$sum])]];
}

// POST /__sandbox/pay, cancel or refund: the bill's status set as UpdateOrderStatus sets it
// (paid now, cancel, return), with the same notification; [status, reply]. pay takes `at`, a
// unix time: the bill was paid then (a payment of 10 days ago, say); its notification goes now,
// its paid that time, as getOrderDetails shows it. Only what a buyer or
// the shop's staff can do at JustClick: pay or cancel a bill not paid yet (waiting, or sent
// unpaid), give the money of a paid bill back; anything else (a second payment, a refund of a
// bill never paid) is a 400 that sends nothing.
const BILL_EVENTS = [
    'pay' => ['paid', ['waiting', 'sent'], 'nothing to pay'],
    'cancel' => ['cancel', ['waiting', 'sent'], 'nothing to cancel (a paid bill is refunded)'],
    'refund' => ['return', ['paid'], 'nothing to refund (only a paid bill is)'],
];

function bill_event_control(string $what, array $post): array {
    $id = order_id($post);
    if ($id === null) return [400, ['error' => 'bill_id: a bill number']];
    $at = $post['at'] ?? null;
    if ($at !== null && $what !== 'pay') return [400, ['error' => "at: only for pay, not $what"]];
    if ($at !== null && !(is_string($at) && ctype_digit($at) && (int)$at > 0)) {
        return [400, ['error' => 'at: a unix time, more than 0']];
    }
    [$status, $from, $nothing] = BILL_EVENTS[$what];
    // The status is claimed under the write lock, so that of two payments at once one is
    // refused; `paid` stays, for moneyback's notification (update_order_status reads it).
    $db = store();
    begin_writing($db);
    $o = find_order($id);
    if ($o && !in_array($o['pay_status'], $from, true)) {
        $db->exec('COMMIT');
        return [400, ['error' => "bill $id is {$o['pay_status']}: $nothing"]];
    }
    if ($o) $db->prepare('UPDATE orders SET pay_status = ? WHERE id = ?')->execute([$status, $id]);
    $db->exec('COMMIT');
    [$code, $text] = update_order_status(['bill_id' => (string)$id, 'status' => $status,
                                          'date' => (string)($at === null ? time() : (int)$at)]);
    if ($code !== 0) return [$code === 302 ? 404 : 400, ['error' => "bill $id: $text"]];
    return [200, ['ok' => true, 'bill_id' => $id, 'pay_status' => find_order($id)['pay_status']]];
}

// Queues the notification of $event about bill $id if the shop has a URL for it; returns its id.
// $extra: the event's own fields, and overrides (moneyback's paid).
function notify_event(string $event, int $id, array $extra = []): ?int {
    $url = notify_urls()[$event] ?? '';
    if ($url === '') return null;
    [$code, , $details] = order_details(['bill_id' => (string)$id]);
    if ($code !== 0) return null;
    $fields = [];
    foreach (NOTIFY_FIELDS as $k) $fields[$k] = $details[$k] ?? '';
    $fields['is_recurrent'] = 0;
    $fields['utm'] = $details['utm'];
    $fields['items'] = $details['items'];
    // A new or cancelled order is known "by the absence of the value with the ['paid'] key".
    if ($event === 'new_order' || $event === 'cancel_order') unset($fields['paid']);
    $fields = match ($event) {
        'new_order' => $fields + ['status' => 'new_order'],
        'paid' => $fields + ['last_payment_sum' => $details['price']],
        'prepaid' => $fields,
        'cancel_order' => $fields + ['status' => 'cancel_order'],
        'moneyback' => $fields + ['status' => 'moneyback'],
    };
    $fields = array_replace($fields, $extra);

    $db = store();
    begin_writing($db); // forge, drop and delay count down once per notification, whichever worker makes it
    $forge = (int)note('notify_forge');
    if ($forge > 0) set_note('notify_forge', (string)($forge - 1));
    $drop = (int)note('notify_drop');
    if ($drop > 0) set_note('notify_drop', (string)($drop - 1));
    [$delay, $delay_count] = notify_delay();
    if ($delay_count > 0) set_note('notify_delay', $delay_count > 1 ? sprintf('%.6F %d', $delay, $delay_count - 1) : '');
    else $delay = 0.0;
    $by_created = in_array($event, ['new_order', 'cancel_order'], true);
    $secret = $forge > 0 ? NOTIFY_FORGED_SECRET : (getenv('JUSTCLICK_SANDBOX_SECRET') ?: 'sandbox-secret');
    $fields['hash'] = md5($fields['id'] . $fields['email'] . ($by_created ? $fields['created'] : $fields['paid']) . $secret);
    $now = microtime(true);
    // A dropped one is kept, never to be sent, so that /__sandbox/notifications shows it.
    $db->prepare('INSERT INTO notifications (event, bill_id, url, body, signed, queued, held, next_at, dropped, delay)'
        . ' VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?)')
        ->execute([$event, $id, $url, http_build_query($fields), $forge > 0 ? 'forged' : ($by_created ? 'created' : 'paid'),
                   $now, $drop > 0 ? null : $now + $delay, $drop > 0 ? 1 : 0, $delay]);
    $nid = (int)$db->lastInsertId();
    $db->exec('COMMIT');
    notify_tell_front($nid);
    return $nid;
}

// Names the request's notifications to the front, which releases them once it has answered.
function notify_tell_front(int $nid): void {
    static $ids = [];
    $ids[] = $nid;
    if (PHP_SAPI === 'cli-server' && !headers_sent()) header('X-Sandbox-Notify: ' . implode(',', $ids));
}

// The notifier's side.

// Lets the notifications go that the front has answered for.
function notify_release(array $ids): void {
    $q = store()->prepare('UPDATE notifications SET held = 0 WHERE id = ?');
    foreach ($ids as $id) $q->execute([$id]);
}

// The notification due first, if one is due, claimed for longer than an attempt can take, so
// that a second notifier on the same database (two sandboxes, one file) does not send it too.
function notify_claim(float $now, float $timeout): ?array {
    $db = store();
    begin_writing($db);
    $q = $db->prepare('SELECT * FROM notifications WHERE delivered IS NULL AND given_up = 0 AND dropped = 0'
        . ' AND (held = 0 OR queued <= ?) AND next_at <= ? ORDER BY next_at, id LIMIT 1');
    $q->execute([$now - NOTIFY_HOLD_LIMIT, $now]);
    $n = $q->fetch(PDO::FETCH_ASSOC) ?: null;
    if ($n) $db->prepare('UPDATE notifications SET next_at = ? WHERE id = ?')->execute([$now + $timeout + 5, $n['id']]);
    $db->exec('COMMIT');
    return $n;
}

// When the next notification falls due (a retry's time; a released one is due at once), or null.
function notify_next_due(): ?float {
    $t = store()->query('SELECT MIN(next_at) FROM notifications WHERE delivered IS NULL AND given_up = 0 AND held = 0'
        . ' AND dropped = 0')
        ->fetchColumn();
    return $t === null ? null : (float)$t;
}

// POSTs the notification once: [HTTP status or null, why it failed or null]. No redirect is
// followed: the shop's URL answers, or the attempt failed.
function notify_send(array $n, float $timeout): array {
    $context = stream_context_create(['http' => [
        'method' => 'POST',
        'header' => "Content-Type: application/x-www-form-urlencoded\r\nUser-Agent: JustClick-sandbox\r\nConnection: close",
        'content' => $n['body'],
        'timeout' => $timeout,
        'follow_location' => 0,
        'ignore_errors' => true, // the status and body of a 500 too, not a bare false
        'protocol_version' => 1.1,
    ]]);
    error_clear_last();
    $start = microtime(true);
    $reply = @file_get_contents($n['url'], false, $context);
    $head = $http_response_header ?? [];
    $status = isset($head[0]) && preg_match('#^HTTP/\S+\s+(\d{3})#', $head[0], $m) ? (int)$m[1] : null;
    if ($status === 200 && $reply !== false) return [200, null];
    if ($status !== null) return [$status, "HTTP $status"];
    // PHP says only "HTTP request failed!" when the time ran out.
    if (microtime(true) - $start >= $timeout) return [null, "no reply within {$timeout} s"];
    return [null, error_get_last()['message'] ?? 'no reply'];
}

// Counts the attempt: delivered on a 200; otherwise retried after the next back-off, or given up.
function notify_record(array $n, ?int $status, ?string $error, float $now): void {
    $attempts = (int)$n['attempts'] + 1;
    $db = store();
    if ($status === 200) {
        $db->prepare('UPDATE notifications SET attempts = ?, last_status = 200, last_error = NULL, delivered = ?,'
            . ' held = 0, next_at = NULL WHERE id = ?')->execute([$attempts, $now, $n['id']]);
    } elseif ($attempts > count(NOTIFY_BACKOFF)) {
        $db->prepare('UPDATE notifications SET attempts = ?, last_status = ?, last_error = ?, given_up = 1,'
            . ' held = 0, next_at = NULL WHERE id = ?')->execute([$attempts, $status, $error, $n['id']]);
    } else {
        $db->prepare('UPDATE notifications SET attempts = ?, last_status = ?, last_error = ?, held = 0, next_at = ?'
            . ' WHERE id = ?')->execute([$attempts, $status, $error, $now + NOTIFY_BACKOFF[$attempts - 1], $n['id']]);
    }
}

// GET /__sandbox/notifications: every notification queued since the last reset, and counts. A
// dropped one (the drop switch) has state "dropped", dropped true and no attempts; a delayed
// one its delay, in seconds (0: none).
function notifications_list(): array {
    $list = [];
    $count = ['pending' => 0, 'delivered' => 0, 'given_up' => 0, 'dropped' => 0];
    foreach (store()->query('SELECT * FROM notifications ORDER BY id')->fetchAll(PDO::FETCH_ASSOC) as $n) {
        $state = $n['dropped'] ? 'dropped'
            : ($n['delivered'] !== null ? 'delivered' : ($n['given_up'] ? 'given_up' : 'pending'));
        $count[$state]++;
        $list[] = [
            'id' => (int)$n['id'], 'event' => $n['event'], 'bill_id' => (int)$n['bill_id'], 'url' => $n['url'],
            'state' => $state, 'delivered' => $state === 'delivered', 'given_up' => $state === 'given_up',
            'dropped' => $state === 'dropped', 'delay' => (float)$n['delay'],
            'held' => (bool)$n['held'], 'attempts' => (int)$n['attempts'],
            'last_status' => $n['last_status'] === null ? null : (int)$n['last_status'],
            'last_error' => $n['last_error'], 'signed' => $n['signed'], 'queued' => (float)$n['queued'],
            'delivered_at' => $n['delivered'] === null ? null : (float)$n['delivered'], 'body' => $n['body'],
        ];
    }
    return ['notifications' => $list] + $count;
}
