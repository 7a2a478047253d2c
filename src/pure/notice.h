/* Payment notifications: verified and classified in C, for the receiver's HTTP threads and for
   notification(); see notice.c. No Lua here. */
#ifndef JC_NOTICE_H
#define JC_NOTICE_H

#include <stddef.h>
#include "form.h"
#include "inbox.h"
#include "md5.h"

enum { JC_NOTICE_OK, JC_NOTICE_INPUT, JC_NOTICE_FORGED };

typedef struct {
  const char *kind;    /* "new_order", "paid", "prepaid", "cancel_order", "moneyback" */
  long long id;        /* the bill's number */
  char key[JC_INBOX_KEY_MAX + 1]; /* the same for the same notification sent again */
  const char *problem; /* why it is not OK: static text, never the secret */
} jc_notice;

/* JC_NOTICE_OK and *out, or JC_NOTICE_INPUT (not a notification) or JC_NOTICE_FORGED (its hash
   is missing or wrong) with out->problem. Any thread. */
int jc_notice_check(const jc_form *f, const char *secret, size_t secret_len, jc_notice *out);

/* The kind and bill id a key (jc_notice's, "kind-id-digest") was made of: 1, *kind_len (the
   kind is key[0..*kind_len)) and *id, or 0 when key is not of that form (a kind that
   jc_notice_check gives, a dash, up to 18 digits, a dash). The inbox keeps a
   stored event's key, so its kind and id come back from it without a second check. */
int jc_notice_key_parts(const char *key, size_t key_len, size_t *kind_len, long long *id);

#endif
