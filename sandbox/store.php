<?php
// The sandbox's storage: orders, their items, the shop's products, armed faults, counters and
// payment notifications, in one SQLite file, so that orders survive a restart. Times are stored
// as unix times, and written and read as dates in the sandbox's zone (set_sandbox_zone).

// PHP's zone for every date the sandbox writes or reads: JUSTCLICK_SANDBOX_TZ, by default
// Europe/Moscow. JustClick is a Russian service whose servers' zone is not published, so the
// sandbox must not look like UTC. False: no such zone.
function set_sandbox_zone(): bool {
    return @date_default_timezone_set(getenv('JUSTCLICK_SANDBOX_TZ') ?: 'Europe/Moscow');
}

// The schema's version (PRAGMA user_version); an older file is brought up to it when opened.
const STORE_VERSION = 4;

function store(): PDO {
    static $db = null;
    if ($db !== null) return $db;
    $path = getenv('JUSTCLICK_SANDBOX_DB') ?: __DIR__ . '/data/sandbox.sqlite';
    if (!is_dir(dirname($path))) mkdir(dirname($path), 0700, true);
    $db = new PDO('sqlite:' . $path, null, null, [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
    $db->exec('PRAGMA busy_timeout = 10000');
    // Processes that open a new file at once (php -S's workers and the notifier, as a sandbox
    // starts) race to switch it to WAL, and the loser is refused at once (SQLITE_BUSY: the busy
    // timeout does not cover it): a request then failed with a 500. The switch is tried again.
    for ($try = 1; ; $try++) {
        try {
            $db->exec('PRAGMA journal_mode = WAL');
            break;
        } catch (PDOException $e) {
            if ($try === 200 || !str_contains($e->getMessage(), 'locked')) throw $e;
            usleep(50000);
        }
    }
    if ((int)$db->query('PRAGMA user_version')->fetchColumn() >= STORE_VERSION) return $db; // made already
    begin_writing($db);
    $version = (int)$db->query('PRAGMA user_version')->fetchColumn(); // another process may have made it
    if ($version < 1) {
        $db->exec(<<<SQL
            CREATE TABLE IF NOT EXISTS products (
                name TEXT PRIMARY KEY, title TEXT, price REAL, physical INTEGER, prepayment_minsum REAL);
            CREATE TABLE IF NOT EXISTS orders (
                id INTEGER PRIMARY KEY AUTOINCREMENT, fingerprint TEXT UNIQUE, email TEXT, data TEXT,
                created INTEGER, pay_status TEXT, paid INTEGER, rpo TEXT, link TEXT);
            CREATE TABLE IF NOT EXISTS items (
                order_id INTEGER, position INTEGER, name TEXT, sum REAL);
            CREATE TABLE IF NOT EXISTS faults (
                id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT, arg TEXT, remaining INTEGER);
            CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER);
            CREATE TABLE IF NOT EXISTS notes (name TEXT PRIMARY KEY, value TEXT);
            UPDATE sqlite_sequence SET seq = 100000 WHERE name = 'orders' AND seq < 100000;
            INSERT OR IGNORE INTO sqlite_sequence (name, seq) VALUES ('orders', 100000);
            SQL);
        $seed = $db->prepare('INSERT OR IGNORE INTO products VALUES (?, ?, ?, ?, ?)');
        foreach ([
            ['invoice', 'Invoice template', 1500, 0, 500],
            ['sales', 'Sales course', 990, 0, 0],
            ['course', 'Video course', 5000, 0, 1000],
            ['book', 'Printed book', 700, 1, 0],
        ] as $p) $seed->execute($p);
    }
    if ($version < 2) {
        // Payment notifications to the shop (notify.php), each with its body as it was first
        // sent: a retry sends the same bytes. held: until the front has answered the API call
        // that made it; next_at: when the notifier may (re)send it; delivered: when a 200 came.
        $db->exec(<<<SQL
            CREATE TABLE IF NOT EXISTS notifications (
                id INTEGER PRIMARY KEY AUTOINCREMENT, event TEXT, bill_id INTEGER, url TEXT,
                body TEXT, signed TEXT, queued REAL, held INTEGER, next_at REAL,
                attempts INTEGER DEFAULT 0, last_status INTEGER, last_error TEXT, delivered REAL,
                given_up INTEGER DEFAULT 0);
            SQL);
    }
    if ($version < 3) {
        // What prepayments (/__sandbox/prepay) paid of a bill not yet paid: getOrderDetails'
        // bill_sum_topay is its total less this.
        $db->exec('ALTER TABLE orders ADD COLUMN prepaid REAL NOT NULL DEFAULT 0');
    }
    if ($version < 4) {
        // getOrdersWithGoods over a busy month (/__sandbox/seed: 10,000s of bills) reads items by
        // order and orders by payment or creation time: without these each is a whole-table scan.
        // dropped: a notification the drop switch lost on the way, never sent; delay: the seconds
        // the delay switch held it before its first send.
        $db->exec(<<<SQL
            CREATE INDEX IF NOT EXISTS items_of_order ON items (order_id, position);
            CREATE INDEX IF NOT EXISTS orders_by_paid ON orders (paid);
            CREATE INDEX IF NOT EXISTS orders_by_created ON orders (created);
            ALTER TABLE notifications ADD COLUMN dropped INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE notifications ADD COLUMN delay REAL NOT NULL DEFAULT 0;
            SQL);
    }
    $db->exec('PRAGMA user_version = ' . STORE_VERSION);
    $db->exec('COMMIT');
    return $db;
}

// A write transaction that takes the write lock at once. A deferred one that reads first can
// fail with SQLITE_BUSY when another worker writes in between, which no busy timeout cures.
function begin_writing(PDO $db): void {
    $db->exec('BEGIN IMMEDIATE');
}

function count_up(string $name): void {
    store()->prepare('INSERT INTO counters VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET value = value + 1')
        ->execute([$name]);
}

function counter(string $name): int {
    $q = store()->prepare('SELECT value FROM counters WHERE name = ?');
    $q->execute([$name]);
    return (int)$q->fetchColumn();
}

function set_note(string $name, string $value): void {
    store()->prepare('INSERT INTO notes VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value')
        ->execute([$name, $value]);
}

function note(string $name): string {
    $q = store()->prepare('SELECT value FROM notes WHERE name = ?');
    $q->execute([$name]);
    return (string)$q->fetchColumn();
}

function product(string $name): ?array {
    $q = store()->prepare('SELECT * FROM products WHERE name = ?');
    $q->execute([$name]);
    return $q->fetch(PDO::FETCH_ASSOC) ?: null;
}

function all_products(): array {
    return store()->query('SELECT * FROM products ORDER BY name')->fetchAll(PDO::FETCH_ASSOC);
}

// Every product, keyed by name: one query for the products of many orders.
function products_by_name(): array {
    return array_column(all_products(), null, 'name');
}

// Arms a fault for the next $count API requests (0: every request until reset).
function arm_fault(string $kind, string $arg, int $count): void {
    store()->prepare('INSERT INTO faults (kind, arg, remaining) VALUES (?, ?, ?)')
        ->execute([$kind, $arg, $count > 0 ? $count : -1]);
}

// The fault armed first, if any and if $applies to this request, counted down once. One that
// does not apply stays armed, untouched, and the request goes unspoiled.
function take_fault(callable $applies): ?array {
    $db = store();
    begin_writing($db);
    $f = $db->query('SELECT * FROM faults WHERE remaining != 0 ORDER BY id LIMIT 1')->fetch(PDO::FETCH_ASSOC);
    if ($f && !$applies($f)) $f = null;
    if ($f && $f['remaining'] > 0) {
        $db->prepare('UPDATE faults SET remaining = remaining - 1 WHERE id = ?')->execute([$f['id']]);
    }
    $db->exec('COMMIT');
    return $f ?: null;
}

// The rate limit mode (POST /__sandbox/ratelimit): a token bucket for each client address, filled
// with `rate` tokens a second up to `burst`, full at first. Every API request takes a token; one
// that finds none is refused (code 8). Refused requests take nothing. Off until a rate is set.
function take_token(string $addr): bool {
    $limit = note('ratelimit');
    if ($limit === '') return true;
    [$rate, $burst] = array_map('floatval', explode(' ', $limit));
    $db = store();
    begin_writing($db); // the workers take tokens one at a time
    $now = microtime(true);
    $held = note("bucket:$addr");
    [$tokens, $at] = $held === '' ? [$burst, $now] : array_map('floatval', explode(' ', $held));
    $tokens = min($burst, $tokens + max(0.0, $now - $at) * $rate);
    $taken = $tokens >= 1.0;
    if ($taken) $tokens -= 1.0;
    set_note("bucket:$addr", sprintf('%.6F %.6F', $tokens, $now));
    $db->exec('COMMIT');
    return $taken;
}

// Sets the rate limit: $rate tokens a second (0: none), $burst at most; every bucket starts full.
function set_rate_limit(float $rate, float $burst): void {
    $db = store();
    $db->exec("DELETE FROM notes WHERE name = 'ratelimit' OR name LIKE 'bucket:%'");
    if ($rate > 0) set_note('ratelimit', sprintf('%.6F %.6F', $rate, $burst));
}

function reset_store(): void {
    $db = store();
    $db->exec('DELETE FROM orders; DELETE FROM items; DELETE FROM faults; DELETE FROM counters; DELETE FROM notes;'
        . ' DELETE FROM notifications;');
}

function find_order(int $id): ?array {
    $q = store()->prepare('SELECT * FROM orders WHERE id = ?');
    $q->execute([$id]);
    $o = $q->fetch(PDO::FETCH_ASSOC);
    if (!$o) return null;
    $o['data'] = json_decode($o['data'], true);
    $q = store()->prepare('SELECT * FROM items WHERE order_id = ? ORDER BY position');
    $q->execute([$id]);
    $o['items'] = $q->fetchAll(PDO::FETCH_ASSOC);
    return $o;
}
