/* A reader of the inbox's first format (the append-only file of justclick 0.3), kept only to
   convert such a file into the SQLite store on its first open (pure/store.c).

   Records, one after another (text headers; a body is length-prefixed, so any bytes fit):
     E <key> <time> <len> <bodysum> <headsum>\n<body>\n   an event (time: epoch seconds, 3 decimals;
                                       sums: FNV-1a 32 of the body and of the header before " <headsum>")
     T <key> <try>\n   a try began        H <key>\n   handled
     F <key> <n>\n     its n-th failure   P <key>\n   parked      R <key>\n   pending again
     <spaces>\n        padding (a try's slot, or what its outcome left of one)
   An outcome written into a try's slot reads as a record after its T. A last record cut short
   (a crash) ends the reading; anything else that does not parse is damage. */
#ifndef JC_INBOX_V1_H
#define JC_INBOX_V1_H

#include <stddef.h>

typedef struct {
  char type; /* E T H F P R */
  char key[65];
  int n;            /* T's try, F's failures */
  double at;        /* E's time */
  const char *body; /* E's body (valid during the call) */
  size_t len;
} jc_inbox_v1_record;

/* Calls fn for every whole record of the file at path, in order; fn returns 0 to go on. 0, or -1
   and a message in err (unreadable, damaged, or fn's -1). */
int jc_inbox_v1_read(const char *path, int (*fn)(void *ctx, const jc_inbox_v1_record *r), void *ctx, char *err,
                     size_t errlen);

#endif
