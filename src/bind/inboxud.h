/* The inbox object's userdata, shared by the two bindings that give it methods: the store's
   (bind/store.c: next, begin, handled, ...) and the receiver's HTTP side (bind/receiver.c:
   listen, port, stopping, close), whose userdata begins with it. */
#ifndef JC_BIND_INBOXUD_H
#define JC_BIND_INBOXUD_H

#include <signal.h>
#include <lua.h>
#include "../pure/inbox.h"

#define JC_INBOX_TYPE "justclick.inbox"

typedef struct {
  jc_inbox *inbox; /* NULL once closed */
  int readonly;    /* receiver.inbox(path, "r"): no lock, reading (and trim) only */
  volatile sig_atomic_t *stop; /* set on SIGTERM or SIGINT: next returns at once */
} jc_inbox_ud;

/* The open inbox at index 1; raises when it is closed, or (writable) read-only. */
jc_inbox_ud *jc_inbox_check(lua_State *L, int writable);

#endif
