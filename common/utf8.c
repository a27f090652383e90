// DESIGN: the UTF-8 validator follows the well-formed byte sequence table
// of Unicode 15, section 3.9 (table 3-7): the first continuation byte's
// range depends on the lead byte, which is what rules out overlong forms,
// surrogates (U+D800..U+DFFF) and code points above U+10FFFF without
// decoding the scalar value.  It runs on every string the call site and
// the decoder see, so it has an ASCII fast path.  llmcost__str_check adds
// the length rules every API string follows on top of it.

#include <string.h>

#include "llmcost_common.h"

int
llmcost__utf8_valid(const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *) s;
	size_t i = 0;

	if (len == 0) {
		return (1);
	}
	if (s == NULL) {
		return (0);
	}
	while (i < len) {
		uint8_t c = p[i];
		uint8_t lo; // allowed range of the first continuation byte
		uint8_t hi;
		size_t n; // continuation bytes that follow the lead byte

		if (c < 0x80) {
			i++;
			continue;
		}
		lo = 0x80;
		hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
		} else if (c == 0xe0) {
			n = 2;
			lo = 0xa0; // below is an overlong 3-byte form
		} else if ((c >= 0xe1 && c <= 0xec) || c == 0xee
		    || c == 0xef) {
			n = 2;
		} else if (c == 0xed) {
			n = 2;
			hi = 0x9f; // above is a UTF-16 surrogate
		} else if (c == 0xf0) {
			n = 3;
			lo = 0x90; // below is an overlong 4-byte form
		} else if (c >= 0xf1 && c <= 0xf3) {
			n = 3;
		} else if (c == 0xf4) {
			n = 3;
			hi = 0x8f; // above is beyond U+10FFFF
		} else {
			// 0x80..0xc1 (stray continuation, overlong 2-byte
			// lead) and 0xf5..0xff never start a sequence.
			return (0);
		}
		if (len - i - 1 < n) {
			return (0); // truncated sequence
		}
		if (p[i + 1] < lo || p[i + 1] > hi) {
			return (0);
		}
		for (size_t k = 2; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80) {
				return (0);
			}
		}
		i += n + 1;
	}
	return (1);
}

int
llmcost__str_check(const char *s, size_t max, int allow_empty, size_t *lenp)
{
	if (s == NULL) {
		return (LLMCOST_EINVAL);
	}
	// One pass for the common case, a short ASCII string: its length and
	// its validity together, with no call.  At the first byte above
	// 0x7f the rest is measured and checked in full.
	const uint8_t *p = (const uint8_t *) s;
	size_t len = 0;
	while (len <= max && p[len] != 0 && p[len] < 0x80) {
		len++;
	}
	int ascii = len > max || p[len] == 0;
	if (!ascii) {
		len += strnlen(s + len, max + 1 - len);
	}
	if (len > max) {
		return (LLMCOST_ETOOBIG);
	}
	if (len == 0 && !allow_empty) {
		return (LLMCOST_EINVAL);
	}
	if (!ascii && !llmcost__utf8_valid(s, len)) {
		return (LLMCOST_EUTF8);
	}
	*lenp = len;
	return (0);
}
