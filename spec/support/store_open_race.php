<?php
// php spec/support/store_open_race.php ROUNDS PROCESSES: in each round, PROCESSES processes open a
// new sandbox store (sandbox/store.php's store()) at once, as php -S's workers and the notifier
// do when a sandbox starts. Prints "ok" when every open succeeded, else the first failure.
require __DIR__ . '/../../sandbox/store.php';
[, $rounds, $processes] = $argv;
for ($r = 0; $r < (int)$rounds; $r++) {
    $dir = sys_get_temp_dir() . '/store-race-' . getmypid() . "-$r";
    @mkdir($dir);
    putenv("JUSTCLICK_SANDBOX_DB=$dir/sandbox.sqlite");
    $children = [];
    for ($i = 0; $i < (int)$processes; $i++) {
        $pid = pcntl_fork();
        if ($pid === 0) {
            try { store(); exit(0); } catch (Throwable $e) { fwrite(STDOUT, $e->getMessage() . "\n"); exit(1); }
        }
        $children[] = $pid;
    }
    $failed = false;
    foreach ($children as $pid) { pcntl_waitpid($pid, $status); $failed = $failed || pcntl_wexitstatus($status) !== 0; }
    array_map('unlink', glob("$dir/*"));
    rmdir($dir);
    if ($failed) exit(1);
}
echo "ok\n";
