#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "phpfmt.h"

#define PHP_PRECISION 14

size_t jc_fmt_integer(long long v, char *buf) {
  char tmp[JC_NUMBUF];
  size_t n = 0, len = 0;
  /* Unsigned arithmetic, so that the most negative integer has a magnitude. */
  unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
  do {
    tmp[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (v < 0) buf[len++] = '-';
  while (n > 0) buf[len++] = tmp[--n];
  return len;
}

/* Writes the exponent the way php_gcvt does: a sign, then digits without leading zeros. */
static size_t put_exponent(int e, char *out) {
  out[0] = e < 0 ? '-' : '+';
  return 1 + jc_fmt_integer(e < 0 ? -(long long)e : e, out + 1);
}

size_t jc_fmt_double(double v, char *buf) {
  char sci[JC_NUMBUF];
  char digits[PHP_PRECISION + 1];
  size_t ndigits = 0, len = 0;
  int exp10, decpt;

  if (isnan(v)) {
    memcpy(buf, "NAN", 3);
    return 3;
  }
  if (isinf(v)) {
    if (v < 0) {
      memcpy(buf, "-INF", 4);
      return 4;
    }
    memcpy(buf, "INF", 3);
    return 3;
  }
  if (signbit(v)) buf[len++] = '-';
  v = fabs(v);
  if (v == 0.0) {
    buf[len++] = '0';
    return len;
  }
  /* Integral values below 1e14 have at most 14 digits, so nothing rounds: print them as they are. */
  if (v < 1e14 && v == floor(v)) return len + jc_fmt_integer((long long)v, buf + len);

  if (v < 1e15 && v == floor(v) && (long long)v % 10 == 5 && (long long)v / 10 % 2 == 0) {
    /* A quirk of zend_dtoa's path for exact integers: a 15-digit integer that ties and rounds
       down keeps its trailing zeros. 100000000000005.0 is "1.0000000000000E+14" in PHP. */
    jc_fmt_integer((long long)v / 10, digits);
    ndigits = PHP_PRECISION;
    exp10 = PHP_PRECISION;
  } else {
    /* glibc's printf rounds exactly, half to even, as zend_dtoa's mode 2 does: d.ddde+XX. The
       point is the locale's, maybe a comma or wider: only the digits are taken. */
    snprintf(sci, sizeof sci, "%.*e", PHP_PRECISION - 1, v);
    for (const char *p = sci; *p != 'e'; p++)
      if (*p >= '0' && *p <= '9') digits[ndigits++] = *p;
    exp10 = atoi(strchr(sci, 'e') + 1);
    while (ndigits > 1 && digits[ndigits - 1] == '0') ndigits--;
  }

  decpt = exp10 + 1; /* the value is 0.DIGITS times 10^decpt */
  if (decpt < 0 ? decpt < -3 : decpt > PHP_PRECISION) {
    buf[len++] = digits[0];
    buf[len++] = '.';
    if (ndigits == 1) {
      buf[len++] = '0';
    } else {
      memcpy(buf + len, digits + 1, ndigits - 1);
      len += ndigits - 1;
    }
    buf[len++] = 'E';
    len += put_exponent(exp10, buf + len);
  } else if (decpt <= 0) {
    buf[len++] = '0';
    buf[len++] = '.';
    for (int i = decpt; i < 0; i++) buf[len++] = '0';
    memcpy(buf + len, digits, ndigits);
    len += ndigits;
  } else {
    for (int i = 0; i < decpt; i++) buf[len++] = (size_t)i < ndigits ? digits[i] : '0';
    if ((size_t)decpt < ndigits) {
      buf[len++] = '.';
      memcpy(buf + len, digits + decpt, ndigits - (size_t)decpt);
      len += ndigits - (size_t)decpt;
    }
  }
  return len;
}
