<?php
// POST /__sandbox/seed: a busy month's paid bills at once, for a benchmark of catch-up (the
// bills paid in the last N days, read through getOrdersWithGoods with paid=1).
//
//   count       how many bills, 1 to SEED_MAX
//   days        over how many days before now their payments are spread (default 30)
//   good_name   the product each bill is for (default: the first digital product, or else the
//               first; a shop with none gets SEED_PRODUCT)
//
// Each bill is made as CreateOrder makes one (one item at the product's price, its own email)
// and paid, its payments evenly spread from `days` days ago to now, in bill id order, each
// created 10 minutes before it was paid. No notification is queued: these are the payments whose
// notifications never came. One transaction, so 10,000 take a second or so.
// Reply: {"ok": true, "count", "first_bill_id", "last_bill_id", "good_name", "first_paid",
// "last_paid"} (the times as unix times), or a 400 with {"error"}.

const SEED_MAX = 100000;
const SEED_PRODUCT = ['seeded', 'Seeded product', 100, 0, 0];
const SEED_CREATED_BEFORE = 600; // seconds between a seeded bill's creation and its payment

function seed_control(array $post): array {
    $count = $post['count'] ?? null;
    if (!(is_string($count) && ctype_digit($count) && (int)$count >= 1 && (int)$count <= SEED_MAX)) {
        return [400, ['error' => 'count: bills to make, 1 to ' . SEED_MAX]];
    }
    $count = (int)$count;
    $days = $post['days'] ?? '30';
    if (!(is_string($days) && is_numeric($days) && (float)$days > 0 && (float)$days <= 3650)) {
        return [400, ['error' => 'days: more than 0, at most 3650']];
    }
    $name = $post['good_name'] ?? null;
    if ($name !== null && !(is_string($name) && product($name))) return [400, ['error' => 'good_name: no such product']];
    $db = store();
    begin_writing($db);
    if ($name === null) {
        $products = all_products();
        if (!$products) {
            $db->prepare('INSERT INTO products VALUES (?, ?, ?, ?, ?)')->execute(SEED_PRODUCT);
            $products = all_products();
        }
        $digital = array_values(array_filter($products, fn($p) => !$p['physical']));
        $name = ($digital ?: $products)[0]['name'];
    }
    $price = (float)product($name)['price'];
    $now = time();
    $span = (float)$days * 86400;
    $run = bin2hex(random_bytes(6)); // fingerprints unique across seeds, and unlike CreateOrder's
    $order = $db->prepare('INSERT INTO orders (fingerprint, email, data, created, pay_status, paid)'
        . " VALUES (?, ?, ?, ?, 'paid', ?)");
    $link = $db->prepare('UPDATE orders SET link = ? WHERE id = ?');
    $item = $db->prepare('INSERT INTO items VALUES (?, 0, ?, ?)');
    $first = $last = 0;
    $paid_first = $paid_last = 0;
    for ($i = 0; $i < $count; $i++) {
        // Evenly spread, the last at now: within the last `days` days whatever the count.
        $paid = $now - (int)floor($span * ($count - 1 - $i) / $count);
        $email = "seed-$run-$i@example.com";
        $data = ['bill_email' => $email, 'goods' => [['good_name' => $name]], 'bill_tag' => "seed-$run"];
        $order->execute(["seed:$run:$i", $email, json_encode($data), $paid - SEED_CREATED_BEFORE, $paid]);
        $id = (int)$db->lastInsertId();
        $link->execute([bill_link($data, $id), $id]);
        $item->execute([$id, $name, $price]);
        if ($i === 0) [$first, $paid_first] = [$id, $paid];
        [$last, $paid_last] = [$id, $paid];
    }
    $db->exec('COMMIT');
    return [200, ['ok' => true, 'count' => $count, 'first_bill_id' => $first, 'last_bill_id' => $last,
                  'good_name' => $name, 'first_paid' => $paid_first, 'last_paid' => $paid_last]];
}
