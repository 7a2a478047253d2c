/* Durable files, for the import's journal and the inbox's file: no Lua here. */
#ifndef JC_DURABLE_H
#define JC_DURABLE_H

#include <stddef.h>

/* Opens path with flags, making it (mode 0600) when it is missing and fsyncing its directory
   then. -1 and errno on failure. */
int jc_open_durably(const char *path, size_t len, int flags);

#endif
