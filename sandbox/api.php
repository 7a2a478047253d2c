<?php
// The API methods, as JustClick documents them. Each returns [error_code, error_text, result].
// Dates are written and read in the sandbox's zone (JUSTCLICK_SANDBOX_TZ, default Europe/Moscow),
// which router.php sets: JustClick does not say which zone its dates are in.

const DELIVERY_FIELDS = ['bill_first_name', 'bill_surname', 'bill_country', 'bill_city', 'bill_address'];
const STATUSES = ['sent', 'paid', 'return', 'cancel'];
// The notification (notify.php) that each new status sends; `sent` sends none.
const STATUS_EVENTS = ['paid' => 'paid', 'cancel' => 'cancel_order', 'return' => 'moneyback'];
// The one product sold through an affiliate, so that items[i][partners] is not always empty.
const AFFILIATE = ['product' => 'course', 'partner_lvl' => 1, 'partner_id' => 7001,
    'partner_name' => 'affiliate7001', 'share' => 0.1];

// Checks the request's hash as a PHP service would, then runs the method.
function handle(string $method, array $post, string $user, string $secret): array {
    if (!$post) return [2, 'No data transferred', null];
    if (!isset($post['hash'])) return [1, 'Hash not transferred', null];
    $hash = $post['hash'];
    unset($post['hash']);
    $expected = md5(http_build_query($post) . "::$user::$secret");
    if (!is_string($hash) || !hash_equals($expected, $hash)) return [4, 'Incorrect hash', null];
    switch ($method) {
        case 'CreateOrder': return create_order($post);
        case 'getOrderDetails': return order_details($post);
        case 'UpdateOrderStatus': return update_order_status($post);
        case 'DeleteOrder': return delete_order($post);
        case 'GetBills': return get_bills($post);
        case 'GetAllGoods': return all_goods();
        case 'getOrdersWithGoods': return orders_with_goods($post);
    }
    return [3, "Unknown method $method", null];
}

function bill_link(array $data, int $id): string {
    $token = substr(md5("bill-$id"), 0, 16);
    $domain = $data['bill_domain'] ?? '';
    return is_string($domain) && $domain !== '' ? "http://$domain/bill/$token" : "/bill/$token";
}

function create_order(array $p): array {
    $email = $p['bill_email'] ?? null;
    if (!is_string($email) || !filter_var($email, FILTER_VALIDATE_EMAIL)) return [600, 'Bad customer email', null];
    $goods = $p['goods'] ?? null;
    if (!is_array($goods) || !$goods) return [603, 'Order has no goods', null];
    $items = [];
    $physical = false;
    foreach (array_values($goods) as $g) {
        $name = is_array($g) ? ($g['good_name'] ?? null) : null;
        $product = is_string($name) ? product($name) : null;
        if (!$product) return [604, 'No product with that id', null];
        $sum = isset($g['good_sum']) && is_numeric($g['good_sum']) ? (float)$g['good_sum'] : (float)$product['price'];
        $items[] = [$name, $sum];
        $physical = $physical || $product['physical'];
    }
    if ($physical) {
        foreach (DELIVERY_FIELDS as $f) {
            if (!isset($p[$f]) || $p[$f] === '') return [605, 'Not enough delivery data', null];
        }
    }
    // The same order data again is the same order: answered with 601 and its number.
    $fingerprint = md5(http_build_query($p));
    $db = store();
    begin_writing($db);
    $q = $db->prepare('SELECT id, link FROM orders WHERE fingerprint = ?');
    $q->execute([$fingerprint]);
    if ($old = $q->fetch(PDO::FETCH_ASSOC)) {
        $db->exec('COMMIT');
        count_up('duplicates'); // the same order sent again: an importer's duplicate, caught here
        return [601, 'Order already exists', ['bill_id' => (int)$old['id'], 'link' => $old['link']]];
    }
    $created = isset($p['bill_created']) && is_numeric($p['bill_created']) ? (int)$p['bill_created'] : time();
    $db->prepare('INSERT INTO orders (fingerprint, email, data, created, pay_status, paid) VALUES (?, ?, ?, ?, ?, 0)')
        ->execute([$fingerprint, $email, json_encode($p), $created, 'waiting']);
    $id = (int)$db->lastInsertId();
    $link = bill_link($p, $id);
    $db->prepare('UPDATE orders SET link = ? WHERE id = ?')->execute([$link, $id]);
    $add = $db->prepare('INSERT INTO items VALUES (?, ?, ?, ?)');
    foreach ($items as $i => [$name, $sum]) $add->execute([$id, $i, $name, $sum]);
    $db->exec('COMMIT');
    notify_event('new_order', $id);
    return [0, 'Order created', ['bill_id' => $id, 'link' => $link]];
}

function order_id(array $p): ?int {
    $id = $p['bill_id'] ?? null;
    return is_string($id) && ctype_digit($id) ? (int)$id : null;
}

// What is left to pay of a bill whose items come to $total: nothing once paid, else what
// prepayments left.
function bill_sum_topay(array $o, float $total): float|int {
    return $o['pay_status'] === 'paid' ? 0 : max(0.0, $total - (float)$o['prepaid']);
}

function order_details(array $p): array {
    $id = order_id($p);
    if ($id === null) return [3, 'Wrong data transferred: bill_id', null];
    $o = find_order($id);
    if (!$o) return [400, 'Order not found', null];
    return [0, 'OK', order_result($o, products_by_name(), !empty($p['good_info']))];
}

// getOrderDetails' result for order $o (find_order's shape: data decoded, items in order), its
// products' rows from $products (name => row). getOrdersWithGoods gives each order the same.
function order_result(array $o, array $products, bool $good_info = false): array {
    $d = $o['data'];
    $field = fn($k) => is_string($d[$k] ?? null) ? $d[$k] : '';
    $items = [];
    $total = 0.0;
    $minsum = 0.0;
    foreach ($o['items'] as $it) {
        $product = $products[$it['name']];
        $items[] = [
            'id' => $it['name'], 'title' => $product['title'], 'sum' => (float)$it['sum'],
            'price' => (float)$product['price'], 'pincode' => '',
            'partners' => $it['name'] === AFFILIATE['product'] ? [[
                'partner_lvl' => AFFILIATE['partner_lvl'], 'partner_id' => AFFILIATE['partner_id'],
                'partner_name' => AFFILIATE['partner_name'], 'partner_fee' => round(AFFILIATE['share'] * $it['sum'], 2),
            ]] : [],
        ];
        $total += (float)$it['sum'];
        $minsum += (float)$product['prepayment_minsum'];
    }
    $utm = is_array($d['utm'] ?? null) ? $d['utm'] : [];
    $r = [
        'id' => (int)$o['id'], 'first_name' => $field('bill_first_name'), 'last_name' => $field('bill_surname'),
        'middle_name' => $field('bill_middle_name') ?: $field('bill_otchestvo'),
        'email' => $o['email'], 'phone' => $field('bill_phone'), 'city' => $field('bill_city'),
        'country' => $field('bill_country'), 'address' => $field('bill_address'),
        'region' => $field('bill_region'), 'postalcode' => $field('bill_postal_code'),
        'created' => date('Y-m-d H:i:s', (int)$o['created']), 'pay_status' => $o['pay_status'],
        'paid' => $o['paid'] ? date('Y-m-d H:i:s', (int)$o['paid']) : '',
        'type' => 'invoice', 'payway' => '', 'comment' => $field('bill_comment'),
        'domain' => $field('bill_domain'), 'link' => $o['link'], 'good_count' => count($items),
        'price' => $total, 'bill_sum_topay' => bill_sum_topay($o, $total),
        'tag' => $field('bill_tag'), 'kupon' => $field('bill_kupon'),
        'utm' => [
            'medium' => $utm['utm_medium'] ?? '', 'source' => $utm['utm_source'] ?? '',
            'campaign' => $utm['utm_campaign'] ?? '', 'content' => $utm['utm_content'] ?? '',
            'term' => $utm['utm_term'] ?? '',
        ],
        'items' => $items,
    ];
    if ($good_info) {
        $r['good_ids'] = array_column($items, 'id');
        $r['prepayment_enabled'] = $minsum > 0 ? 1 : 0;
        $r['prepayment_minsum'] = $minsum;
    }
    return $r;
}

function update_order_status(array $p): array {
    $id = order_id($p);
    if ($id === null) return [203, 'No order number', null];
    $before = find_order($id);
    if (!$before) return [302, 'Non-existent order number', null];
    $status = $p['status'] ?? null;
    if (!in_array($status, STATUSES, true)) return [303, 'No such status', null];
    $date = $p['date'] ?? null;
    if (in_array($status, ['sent', 'paid'], true) && !(is_string($date) && ctype_digit($date))) {
        return [3, 'Wrong data transferred: date', null];
    }
    if ($status === 'sent' && empty($p['rpo'])) return [3, 'Wrong data transferred: rpo', null];
    store()->prepare('UPDATE orders SET pay_status = ?, paid = ?, rpo = ? WHERE id = ?')->execute([
        $status, $status === 'paid' ? (int)$date : 0, $p['rpo'] ?? null, $id,
    ]);
    if ($event = STATUS_EVENTS[$status] ?? null) {
        // Money back is for a payment: its notification keeps the time of it, which the bill loses.
        $paid = $event === 'moneyback' && $before['paid'] ? ['paid' => date('Y-m-d H:i:s', (int)$before['paid'])] : [];
        notify_event($event, $id, $paid);
    }
    return [0, 'OK', ['bill_id' => $id, 'status' => $status]];
}

function delete_order(array $p): array {
    $id = order_id($p);
    if ($id === null) return [203, 'No order number', null];
    if (!find_order($id)) return [200, 'Order does not exist', null];
    store()->prepare('DELETE FROM orders WHERE id = ?')->execute([$id]);
    store()->prepare('DELETE FROM items WHERE order_id = ?')->execute([$id]);
    return [0, 'OK', ['bill_id' => $id]];
}

// An email's bills as the help page and the one public PHP client read them: an object keyed by
// bill id, each bill an object keyed by its goods' product codes, e.g.
//   {"100001": {"invoice": {"good_name": "invoice", "good_title": "Invoice template",
//                           "good_sum": 1500}, "sales": {...}}, "100002": {...}}
// The fields inside each good are not published: these are a guess, and a client must confirm a
// bill through getOrderDetails. No bill left by pay_status: [], as PHP encodes an empty array.
function get_bills(array $p): array {
    $email = $p['email'] ?? null;
    if (!is_string($email) || $email === '') return [3, 'Wrong data transferred: email', null];
    $q = store()->prepare('SELECT id FROM orders WHERE email = ? ORDER BY id');
    $q->execute([$email]);
    $ids = $q->fetchAll(PDO::FETCH_COLUMN);
    if (!$ids) return [500, 'No contact with that email', null];
    $bills = [];
    foreach ($ids as $id) {
        $o = find_order((int)$id);
        $want = $p['pay_status'] ?? null;
        if (is_string($want) && $want !== '' && $o['pay_status'] !== $want) continue;
        $goods = [];
        foreach ($o['items'] as $it) {
            $goods[$it['name']] = ['good_name' => $it['name'], 'good_title' => product($it['name'])['title'],
                                   'good_sum' => (float)$it['sum']];
        }
        $bills[$o['id']] = $goods;
    }
    return [0, 'OK', $bills];
}

function all_goods(): array {
    $goods = [];
    foreach (all_products() as $p) {
        $goods[] = [
            'good_name' => $p['name'], 'good_title' => $p['title'], 'good_id' => $p['name'],
            'good_type' => $p['physical'] ? 'physical' : 'digital', 'good_sum' => (float)$p['price'],
        ];
    }
    if (!$goods) return [700, 'Shop has no products', null];
    return [0, 'OK', $goods];
}

// dd.mm.yyyy -> the unix time of that day's start in the sandbox's zone, or null.
function day_start($text): ?int {
    if (!is_string($text) || !preg_match('/^(\d\d)\.(\d\d)\.(\d{4})$/', $text, $m)) return null;
    if (!checkdate((int)$m[2], (int)$m[1], (int)$m[3])) return null;
    return mktime(0, 0, 0, (int)$m[2], (int)$m[1], (int)$m[3]);
}

// The start of a span that ends at $end (a unix time, not included) and is at most a month long:
// $end a month back, on the same day of the month, or that month's last day if it has no such
// day (the end 31.03 00:00 starts 28.02 00:00, or 29.02).
function month_before(int $end): int {
    [$y, $m, $d, $h, $i, $s] = array_map('intval', explode(' ', date('Y n j G i s', $end)));
    $last = (int)date('t', mktime(0, 0, 0, $m - 1, 1, $y));
    return mktime($h, $i, $s, $m - 1, min($d, $last), $y);
}

// getOrdersWithGoods' span, [from, to) in unix times, or why it is wrong. begin_date and
// end_date are days, dd.mm.yyyy, both included; an empty one is left out. Neither: today. No
// end_date: the end is now. No begin_date: end_date's day alone (the docs do not say). A span
// longer than a month is cut to a month, keeping its end, as the reference says (no error).
function orders_span(array $p): array|string {
    $given = fn($k) => isset($p[$k]) && $p[$k] !== '';
    $begin = $given('begin_date') ? day_start($p['begin_date']) : null;
    $end = $given('end_date') ? day_start($p['end_date']) : null;
    if (($given('begin_date') && $begin === null) || ($given('end_date') && $end === null)) {
        return 'dates are dd.mm.yyyy';
    }
    if ($begin === null && $end === null) $begin = $end = day_start(date('d.m.Y'));
    $to = $end === null ? time() + 1 : strtotime('+1 day', $end);
    $from = $begin ?? $end;
    if ($to <= $from) return 'end_date before begin_date';
    return [max($from, month_before($to)), $to];
}

// The shop's orders in a span, each as getOrderDetails' result, by id (orders_span: the dates).
// paid=1: the bills paid within the span (by the time of payment, orders.paid) that are paid
// now, which getOrderDetails calls paid (pay_status paid: nothing left to pay; a sent bill keeps
// no payment here); paid=0: those created in the span and not paid; no paid: those created in
// it. goods: a product id (GetAllGoods' good_id, here its good_name) or a list of them; an order
// with an item of one of them matches. One query for the orders and their items together, so
// that a busy month (10,000s of bills, /__sandbox/seed) answers in a second or so.
function orders_with_goods(array $p): array {
    $span = orders_span($p);
    if (is_string($span)) return [3, "Wrong data transferred: $span", null];
    $paid = $p['paid'] ?? null;
    if ($paid !== null && $paid !== '1' && $paid !== '0') return [3, 'Wrong data transferred: paid is 1 or 0', null];
    $where = match ($paid) {
        '1' => "o.pay_status = 'paid' AND o.paid >= ? AND o.paid < ?",
        '0' => "o.pay_status != 'paid' AND o.created >= ? AND o.created < ?",
        null => 'o.created >= ? AND o.created < ?',
    };
    $args = $span;
    if (isset($p['goods'])) {
        $goods = is_array($p['goods']) ? array_values($p['goods']) : [$p['goods']];
        if (!$goods || array_filter($goods, fn($g) => !is_string($g))) return [3, 'Wrong data transferred: goods', null];
        $where .= ' AND o.id IN (SELECT order_id FROM items WHERE name IN (' . implode(', ', array_fill(0, count($goods), '?')) . '))';
        $args = array_merge($args, $goods);
    }
    $q = store()->prepare('SELECT o.*, i.name AS item_name, i.sum AS item_sum FROM orders o'
        . " LEFT JOIN items i ON i.order_id = o.id WHERE $where ORDER BY o.id, i.position");
    $q->execute($args);
    $orders = [];
    $o = null;
    while ($row = $q->fetch(PDO::FETCH_ASSOC)) {
        if ($o === null || $o['id'] !== $row['id']) {
            if ($o !== null) $orders[] = $o;
            $o = $row;
            $o['data'] = json_decode($row['data'], true);
            $o['items'] = [];
        }
        if ($row['item_name'] !== null) $o['items'][] = ['name' => $row['item_name'], 'sum' => $row['item_sum']];
    }
    if ($o !== null) $orders[] = $o;
    $products = products_by_name();
    return [0, 'OK', array_map(fn($o) => order_result($o, $products), $orders)];
}
