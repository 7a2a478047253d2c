<?php
// php sandbox/notifier.php: sends the sandbox's payment notifications (notify.php), one at a
// time, in the background. server.php starts it and writes to its stdin the ids of the
// notifications whose API call it has answered (one a line); those are released and sent.
// A delivery succeeds on HTTP 200; a failure is retried after NOTIFY_BACKOFF's waits, then
// given up.
//
// It ends when its stdin closes: server.php has gone, however it ended (even by SIGKILL).
// SIGTERM and SIGINT end it at once, as they would any process (no handler is set).

require __DIR__ . '/store.php';
require __DIR__ . '/notify.php';

const IDLE_WAIT = 1.0; // seconds between looks at the queue with nothing due (held ones' limit)

pcntl_signal(SIGPIPE, SIG_IGN); // a shop that hangs up mid-request must not end the notifier
set_sandbox_zone();
stream_set_blocking(STDIN, false);
$lines = '';

// Reads what server.php wrote, releases those ids; ends the notifier once stdin has closed.
$listen = function () use (&$lines) {
    while (true) {
        $data = fread(STDIN, 65536);
        if ($data === false || ($data === '' && feof(STDIN))) exit(0);
        if ($data === '') break;
        $lines .= $data;
    }
    $cut = strrpos($lines, "\n");
    if ($cut === false) return;
    $ids = array_filter(explode("\n", substr($lines, 0, $cut)), 'ctype_digit');
    $lines = substr($lines, $cut + 1);
    if ($ids) notify_release(array_map('intval', $ids));
};

while (true) {
    $wait = IDLE_WAIT;
    try {
        $listen();
        while ($n = notify_claim(microtime(true), $timeout = notify_timeout())) {
            [$status, $error] = notify_send($n, $timeout);
            notify_record($n, $status, $error, microtime(true));
            $listen(); // between two sends too: stop at once when server.php has gone
        }
        $next = notify_next_due();
        if ($next !== null) $wait = max(0.0, min($wait, $next - microtime(true)));
    } catch (PDOException $e) { // a locked or vanished database: try again a little later
        fwrite(STDERR, 'sandbox notifier: ' . $e->getMessage() . "\n");
        try { store()->exec('ROLLBACK'); } catch (PDOException) {} // none may be open
    }
    $read = [STDIN];
    $write = $except = null;
    @stream_select($read, $write, $except, (int)$wait, (int)(fmod($wait, 1.0) * 1e6));
}
