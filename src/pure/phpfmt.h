/* Numbers written as PHP writes them when it turns them into strings. */
#ifndef JC_PHPFMT_H
#define JC_PHPFMT_H

#include <stddef.h>

/* Room for any result of the functions below. */
#define JC_NUMBUF 32

/* Decimal digits of an integer, as PHP prints an int: the one writer of integers as text (at
   most 20 bytes, no NUL). Returns the length. */
size_t jc_fmt_integer(long long v, char *buf);

/* A double as PHP 8 converts it to a string with the default `precision` of 14: rounded to 14
   significant digits, trailing zeros dropped, exponent form `d.dE+x` when the decimal exponent
   is below -4 or at least 14; "-0", "INF", "-INF" and "NAN" as PHP spells them. */
size_t jc_fmt_double(double v, char *buf);

#endif
