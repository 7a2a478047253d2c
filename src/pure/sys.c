/* The SIGINT flag (pure/sys.h). */
#include "sys.h"

volatile sig_atomic_t jc_interrupted = 0;
