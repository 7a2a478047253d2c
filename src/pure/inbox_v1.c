/* The first inbox format's reader (see inbox_v1.h): its parser, as 0.3 wrote it, with nothing
   of its writer. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "inbox_v1.h"

#define KEY_MAX 64
#define MAX_FIELDS 6
#define BODY_MAX ((size_t)1 << 30)
#define FNV32_START 2166136261u

static uint32_t fnv32(const char *p, size_t n, uint32_t h) {
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 16777619u;
  return h;
}

static int valid_key(const char *key) {
  size_t n = strlen(key);
  if (n == 0 || n > KEY_MAX) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = key[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
      return 0;
  }
  return 1;
}

static int parse_digits(const char *p, size_t n, size_t max_digits, unsigned long long *v) {
  unsigned long long x = 0;
  if (n == 0 || n > max_digits) return 0;
  for (size_t i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9') return 0;
    x = x * 10 + (unsigned long long)(p[i] - '0');
  }
  *v = x;
  return 1;
}

static int parse_hex32(const char *p, size_t n, uint32_t *v) {
  uint32_t x = 0;
  if (n != 8) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = p[i];
    if (c >= '0' && c <= '9') x = x << 4 | (uint32_t)(c - '0');
    else if (c >= 'a' && c <= 'f') x = x << 4 | (uint32_t)(c - 'a' + 10);
    else return 0;
  }
  *v = x;
  return 1;
}

/* Parses a header line (without its newline): 1, or 0 when it is damaged. */
static int parse_header(const char *line, size_t n, jc_inbox_v1_record *r, uint32_t *bodysum) {
  const char *f[MAX_FIELDS];
  size_t fl[MAX_FIELDS], nf = 0, start = 0;
  unsigned long long v, ms;
  for (size_t i = 0; i <= n; i++) {
    if (i < n && line[i] != ' ') continue;
    if (nf == MAX_FIELDS) return 0;
    f[nf] = line + start, fl[nf++] = i - start;
    start = i + 1;
  }
  if (nf < 2 || fl[0] != 1 || fl[1] == 0 || fl[1] > KEY_MAX) return 0;
  r->type = f[0][0];
  memcpy(r->key, f[1], fl[1]);
  r->key[fl[1]] = '\0';
  if (!valid_key(r->key)) return 0;
  switch (r->type) {
    case 'H': case 'P': case 'R':
      return nf == 2;
    case 'F': case 'T':
      if (nf != 3 || !parse_digits(f[2], fl[2], 9, &v)) return 0;
      r->n = (int)v;
      return 1;
    case 'E': {
      uint32_t headsum;
      const char *dot;
      if (nf != 6 || !parse_hex32(f[5], fl[5], &headsum) || fnv32(line, n - 9, FNV32_START) != headsum) return 0;
      dot = memchr(f[2], '.', fl[2]);
      if (dot == NULL || !parse_digits(f[2], (size_t)(dot - f[2]), 15, &v) ||
          !parse_digits(dot + 1, fl[2] - (size_t)(dot - f[2]) - 1, 3, &ms) || fl[2] - (size_t)(dot - f[2]) - 1 != 3)
        return 0;
      r->at = (double)v + (double)ms / 1000.0;
      if (!parse_digits(f[3], fl[3], 10, &v) || v > BODY_MAX) return 0;
      r->len = (size_t)v;
      return parse_hex32(f[4], fl[4], bodysum);
    }
    default:
      return 0;
  }
}

int jc_inbox_v1_read(const char *path, int (*fn)(void *ctx, const jc_inbox_v1_record *r), void *ctx, char *err,
                     size_t errlen) {
  FILE *f = fopen(path, "rbe");
  char *line = NULL, *body = NULL;
  size_t cap = 0;
  long long whole = 0;
  int rc = 0;
  if (f == NULL) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
  }
  for (;;) {
    ssize_t n = getline(&line, &cap, f);
    jc_inbox_v1_record r;
    uint32_t sum = 0;
    int c;
    size_t i;
    if (n <= 0 || line[n - 1] != '\n') break; /* the end, or a torn header */
    for (i = 0; i < (size_t)n - 1 && line[i] == ' '; i++) {}
    if (i == (size_t)n - 1) { /* padding */
      whole += n;
      continue;
    }
    memset(&r, 0, sizeof r);
    if (!parse_header(line, (size_t)n - 1, &r, &sum)) goto damaged;
    if (r.type == 'E') {
      free(body);
      if ((body = malloc(r.len + 1)) == NULL) {
        snprintf(err, errlen, "%s: not enough memory", path);
        rc = -1;
        break;
      }
      if (fread(body, 1, r.len, f) != r.len || (c = getc(f)) == EOF) break; /* a torn body */
      if (c != '\n' || fnv32(body, r.len, FNV32_START) != sum) goto damaged;
      r.body = body;
      whole += n + (long long)r.len + 1;
    } else {
      whole += n;
    }
    if (fn(ctx, &r) != 0) {
      snprintf(err, errlen, "%s: cannot convert the record at byte %lld", path, whole);
      rc = -1;
      break;
    }
  }
  if (rc == 0 && ferror(f)) {
    snprintf(err, errlen, "cannot read the inbox %s: %s", path, strerror(errno));
    rc = -1;
  }
  free(line);
  free(body);
  fclose(f);
  return rc;
damaged:
  free(line);
  free(body);
  fclose(f);
  snprintf(err, errlen, "%s: the record at byte %lld is damaged; mend or remove it by hand", path, whole);
  return -1;
}
