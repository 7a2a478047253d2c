/*
 * Payment notifications: what JustClick POSTs to the shop when an order is created, paid,
 * prepaid, cancelled or refunded. Checked here, in C without Lua, so that the receiver's HTTP
 * threads (bind/receiver.c) and notification() (Lua) apply one rule:
 *
 *   - `id` is the bill's number, a positive integer; without one the body is no notification.
 *   - The kind: status new_order, cancel_order or moneyback; without a status, prepaid when
 *     prepayment_sum is given, else paid when paid is.
 *   - `hash` is md5(id . email . <time> . secret), the received texts joined with nothing between
 *     them, compared in constant time. The time is the kind's, and no other is tried: `created`
 *     for new_order and cancel_order (the docs: "order number + customer's email + time of the
 *     order creation + secret key"; such a body has no `paid`), `paid` for a payment (paid,
 *     prepaid: no status) and for moneyback (a refund is of a payment, whose time its body keeps:
 *     the docs do not say, and the sandbox signs it so). A status with another time is refused.
 *     The hash covers neither the kind, the sums nor the items: dropping a new order's status
 *     and setting its paid to its created makes a payment that verifies, so only the API
 *     (confirm, in justclick.lua) can tell whether a bill is paid. This rule only keeps a body
 *     signed for one kind from passing as another where the hash can tell.
 *   - The signed time (paid, or created) is empty, or starts with a digit and holds only digits
 *     and the marks " -:./T+Z", and then the email does not end with a digit. Joined with
 *     nothing between them, email . paid could otherwise be cut elsewhere: the last letters of
 *     the email moved into paid, or paid's first digit onto the email, keep the hash.
 *   - The key, the same for the same notification sent again: kind-id-digest, the digest of the
 *     kind, id, email, the signed time and the sums (last_payment_sum, prepayment_sum,
 *     bill_sum_topay) written as numbers, so that "1500" and "1500.00" are one sum. It leaves
 *     out what does not tell two events apart (field order, the unsigned time, other fields),
 *     so that a resend that differs there is still known.
 */
#include <string.h>
#include "md5.h"
#include "notice.h"
#include "phpfmt.h"

/* A field's text; p NULL when the form has no such scalar. */
static jc_slice field(const jc_form *f, const char *name) {
  jc_slice t = {"", 0};
  if (!jc_form_scalar(f, name, strlen(name), &t.p, &t.n)) t.p = NULL, t.n = 0;
  return t;
}

/* md5 of the parts as hex (absent parts as empty). */
static void md5_hex(jc_slice *parts, size_t nparts, char hex[32]) {
  for (size_t i = 0; i < nparts; i++)
    if (parts[i].p == NULL) parts[i].p = "";
  jc_md5_hex(parts, nparts, hex);
}

static int equals(jc_slice t, const char *s) {
  size_t n = strlen(s);
  return t.p != NULL && t.n == n && memcmp(t.p, s, n) == 0;
}

/* Whether given (32 lowercase hex digits) is md5(id . email . when . secret), compared in constant
   time. */
static int signed_with(jc_slice id, jc_slice email, jc_slice when, jc_slice secret, const char given[32]) {
  char expected[32];
  jc_slice parts[4] = {id, email, when, secret};
  md5_hex(parts, 4, expected);
  return jc_md5_same(given, expected);
}

/* Whether email . when can be cut only one way: when (the signed time) is empty, or starts
   with a digit and holds only digits and the marks of a date, and then the email does not end
   with a digit. Else letters of the email moved into `paid`, or a digit of `paid` moved onto
   the email, would keep the hash. (Between id and email no rule can tell: digits may move there;
   only the order read back can, see confirm in justclick.lua.) */
static int cut_once(jc_slice email, jc_slice when) {
  if (when.n == 0) return 1;
  if (when.p[0] < '0' || when.p[0] > '9') return 0;
  if (email.n > 0 && email.p[email.n - 1] >= '0' && email.p[email.n - 1] <= '9') return 0;
  for (size_t i = 0; i < when.n; i++) {
    char c = when.p[i];
    if (!((c >= '0' && c <= '9') || c == ' ' || c == '-' || c == ':' || c == '.' || c == '/' || c == 'T' ||
          c == '+' || c == 'Z'))
      return 0;
  }
  return 1;
}

/* A sum as one text whatever way it was written: the spaces around it, a '+', leading zeros,
   trailing zeros of the fraction and a bare point dropped ("+01500.50 ", "1500.5" and
   "1500.50" are "1500.5"; ".5" is "0.5"). Anything that is not a sign, digits and at most one
   point (an exponent, say) is kept as it came. */
static jc_slice canonical_sum(jc_slice t, char *buf, size_t cap) {
  size_t i = 0, n = t.n, point, digits = 0, out = 0;
  if (t.p == NULL || n == 0 || n >= cap) return t;
  while (i < n && jc_form_is_space(t.p[i])) i++;
  while (n > i && jc_form_is_space(t.p[n - 1])) n--;
  if (i < n && (t.p[i] == '+' || t.p[i] == '-')) {
    if (t.p[i] == '-') buf[out++] = '-';
    i++;
  }
  point = n;
  for (size_t j = i; j < n; j++) {
    if (t.p[j] == '.' && point == n) point = j;
    else if (t.p[j] < '0' || t.p[j] > '9') return t;
    else digits++;
  }
  if (digits == 0) return t;
  while (i < point && t.p[i] == '0') i++;
  if (point < n)
    while (n > point && (t.p[n - 1] == '0' || t.p[n - 1] == '.')) n--; /* "1500.50" to "1500.5" */
  if (i == point) buf[out++] = '0'; /* nothing before the point */
  for (; i < n; i++) buf[out++] = t.p[i];
  t.p = buf;
  t.n = out;
  return t;
}

int jc_notice_check(const jc_form *f, const char *secret, size_t secret_len, jc_notice *out) {
  jc_slice id = field(f, "id"), email = field(f, "email"), paid = field(f, "paid"), created = field(f, "created");
  jc_slice hash = field(f, "hash"), status = field(f, "status");
  jc_slice prepayment = field(f, "prepayment_sum"), payment = field(f, "last_payment_sum");
  jc_slice topay = field(f, "bill_sum_topay"), when;
  char given[32], digest[32];
  long long bill = 0;
  int ok = 0, by_created = 0;

  memset(out, 0, sizeof *out);
  if (id.p == NULL || id.n == 0 || id.n > 18) {
    out->problem = "not a notification: it has no bill id";
    return JC_NOTICE_INPUT;
  }
  for (size_t i = 0; i < id.n; i++) {
    if (id.p[i] < '0' || id.p[i] > '9') {
      out->problem = "not a notification: its id is not a bill number";
      return JC_NOTICE_INPUT;
    }
    bill = bill * 10 + (id.p[i] - '0');
  }
  /* The kind, and the time its hash signs. */
  if (equals(status, "new_order")) out->kind = "new_order", by_created = 1;
  else if (equals(status, "cancel_order")) out->kind = "cancel_order", by_created = 1;
  else if (equals(status, "moneyback")) out->kind = "moneyback";
  else if (status.p != NULL && status.n > 0) out->kind = NULL;
  else if (prepayment.p != NULL && prepayment.n > 0) out->kind = "prepaid";
  else if (paid.p != NULL && paid.n > 0) out->kind = "paid";
  when = by_created ? created : paid;
  if (secret == NULL) { /* a stored event, verified when it came, by the rule of that day */
    ok = 1;
  } else if (hash.p == NULL) {
    out->problem = "it carries no hash";
    return JC_NOTICE_FORGED;
  } else if (hash.n == 32) {
    jc_slice key = {secret, secret_len};
    /* md5() in PHP writes lowercase hex; take uppercase too */
    for (size_t i = 0; i < 32; i++) {
      char c = hash.p[i];
      given[i] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
    }
    ok = signed_with(id, email, when, key, given);
    /* a status this client does not know: forged or not, whichever time it signs */
    if (!ok && out->kind == NULL && status.n > 0) ok = signed_with(id, email, created, key, given);
  }
  if (!ok) {
    out->problem = by_created ? "its hash does not verify: a new or cancelled order's signs its created time"
                              : "its hash does not verify: a payment's signs its paid time";
    return JC_NOTICE_FORGED;
  }
  if (secret != NULL && !cut_once(email, when)) {
    out->problem = "its email and signed time can be cut apart more than one way";
    return JC_NOTICE_FORGED;
  }
  out->id = bill;
  if (out->kind == NULL) {
    out->problem = "a verified notification of no kind this client knows";
    return JC_NOTICE_INPUT;
  }
  {
    const jc_slice nl = {"\n", 1};
    char sums[3][64];
    jc_slice parts[13] = {{out->kind, strlen(out->kind)}, nl, id, nl, email, nl, when, nl,
                      canonical_sum(payment, sums[0], sizeof sums[0]), nl,
                      canonical_sum(prepayment, sums[1], sizeof sums[1]), nl,
                      canonical_sum(topay, sums[2], sizeof sums[2])};
    md5_hex(parts, 13, digest);
  }
  { /* kind-id-digest, as "%s-%lld-%.12s" writes it (snprintf cost more than the rest of the key):
       at most 12 + 1 + 18 + 1 + 12 bytes, within JC_INBOX_KEY_MAX */
    size_t k = strlen(out->kind);
    memcpy(out->key, out->kind, k);
    out->key[k++] = '-';
    k += jc_fmt_integer(bill, out->key + k);
    out->key[k++] = '-';
    memcpy(out->key + k, digest, 12);
    out->key[k + 12] = '\0';
  }
  return JC_NOTICE_OK;
}

/* The kinds jc_notice_check gives, which begin every key it makes. */
static const jc_slice kinds[] = {
  {"new_order", 9}, {"cancel_order", 12}, {"moneyback", 9}, {"prepaid", 7}, {"paid", 4},
};

static int a_kind(const char *p, size_t n) {
  for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
    if (kinds[i].n == n && memcmp(kinds[i].p, p, n) == 0) return 1;
  }
  return 0;
}

int jc_notice_key_parts(const char *key, size_t key_len, size_t *kind_len, long long *id) {
  const char *dash = memchr(key, '-', key_len), *digits, *end;
  long long bill = 0;
  if (dash == NULL || !a_kind(key, (size_t)(dash - key))) return 0;
  digits = dash + 1;
  end = memchr(digits, '-', key_len - (size_t)(digits - key));
  if (end == NULL || end == digits || end - digits > 18) return 0;
  for (const char *p = digits; p < end; p++) {
    if (*p < '0' || *p > '9') return 0;
    bill = bill * 10 + (*p - '0');
  }
  *kind_len = (size_t)(dash - key);
  *id = bill;
  return 1;
}
