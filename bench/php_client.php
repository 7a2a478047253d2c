<?php
// php bench/php_client.php URL N USER SECRET
// The docs' PHP client (GetHash, Send with a new curl handle per call, CheckHash), creating N
// orders: the docs' example order with its own bill_tag each. Prints the CPU nanoseconds per
// call in this process (getrusage) and the calls per second.
[, $url, $n, $user, $secret] = $argv;
$user_rs = ['user_id' => $user, 'user_rps_key' => $secret];

function GetHash($params, $user_rs) {
    $params = http_build_query($params);
    $user_id = $user_rs['user_id'];
    $secret = $user_rs['user_rps_key'];
    return md5("$params::$user_id::$secret");
}

function CheckHash($resp, $user_rs) {
    $secret = $user_rs['user_rps_key'];
    $code = $resp->error_code;
    $text = $resp->error_text;
    return md5("$code::$text::$secret") == $resp->hash;
}

function Send($url, $data) {
    $ch = curl_init();
    curl_setopt($ch, CURLOPT_URL, $url);
    curl_setopt($ch, CURLOPT_POST, true);
    curl_setopt($ch, CURLOPT_POSTFIELDS, http_build_query($data));
    curl_setopt($ch, CURLOPT_RETURNTRANSFER, true);
    $res = curl_exec($ch);
    curl_close($ch);
    return $res;
}

function cpu() {
    $r = getrusage();
    return $r['ru_utime.tv_sec'] + $r['ru_utime.tv_usec'] / 1e6 + $r['ru_stime.tv_sec'] + $r['ru_stime.tv_usec'] / 1e6;
}

$cpu = cpu();
$wall = hrtime(true);
for ($i = 0; $i < $n; $i++) {
    $send_data = [
        'goods' => [['good_name' => 'invoice', 'good_sum' => 1500], ['good_name' => 'sales']],
        'bill_first_name' => 'Name', 'bill_surname' => 'Surname', 'bill_middle_name' => 'Middle Name',
        'bill_email' => 'buyer@example.com', 'bill_phone' => '+39287777777', 'bill_country' => 'USA',
        'bill_region' => 'New York', 'bill_city' => 'New York', 'bill_address' => 'Wall St.',
        'bill_postal_code' => '345678', 'bill_kupon' => 'skidka50', 'bill_tag' => "AdWords-$i",
        'bill_comment' => 'in a beautiful box', 'bill_ip' => '', 'bill_timer_kill' => true,
        'bill_created' => 1291001819, 'bill_domain' => '',
        'utm[utm_medium]' => 'cpc', 'utm[utm_source]' => 'direct', 'utm[utm_campaign]' => 'my campaign',
        'utm[utm_content]' => 'content_123', 'utm[utm_term]' => 'my_label',
    ];
    $send_data['hash'] = GetHash($send_data, $user_rs);
    $resp = json_decode(Send($url, $send_data));
    if (!$resp || !CheckHash($resp, $user_rs) || $resp->error_code != 0) {
        fwrite(STDERR, "php client: a bad reply\n");
        exit(1);
    }
}
$seconds = (hrtime(true) - $wall) / 1e9;
printf("%.1f %.1f\n", (cpu() - $cpu) / $n * 1e9, $n / $seconds);
