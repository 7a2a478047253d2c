/* The release, for _VERSION, the host's --version and the User-Agent; `make rock` reads it. */
#ifndef JC_VERSION_H
#define JC_VERSION_H

#define JC_VERSION "0.4.0"

#endif
