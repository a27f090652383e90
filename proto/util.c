// DESIGN: small helpers shared by the shim, the collector and the CLI.
// The UTF-8 validator follows the well-formed byte sequence table of
// Unicode 15, section 3.9 (table 3-7): the first continuation byte's range
// depends on the lead byte, which is what rules out overlong forms,
// surrogates (U+D800..U+DFFF) and code points above U+10FFFF without
// decoding the scalar value.  It runs on every string the decoder sees, so
// it has an ASCII fast path.  The UUID helpers are strict (exactly 36
// characters, dashes in the canonical places) because run ids are keys in
// the store: two spellings of one id must not both be accepted silently
// except for hex case.  The default directory follows the XDG base
// directory specification, which says a relative XDG_STATE_HOME must be
// ignored; a relative HOME is refused too, because the shim and the
// collector run with different working directories and would then
// disagree on where the socket is.  Every string is built with snprintf
// and checked for truncation: a truncated path would silently point
// somewhere else.

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmcost_proto.h"

int
llmcost_proto_utf8_valid(const char *s, size_t len)
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

void
llmcost_proto_uuid_str(const uint8_t id[16], char out[37])
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10) {
			out[o++] = '-';
		}
		out[o++] = hex[id[i] >> 4];
		out[o++] = hex[id[i] & 0x0f];
	}
	out[o] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9') {
		return (c - '0');
	}
	if (c >= 'a' && c <= 'f') {
		return (c - 'a' + 10);
	}
	if (c >= 'A' && c <= 'F') {
		return (c - 'A' + 10);
	}
	return (-1);
}

int
llmcost_proto_uuid_parse(const char *s, uint8_t id[16])
{
	uint8_t tmp[16];
	size_t o = 0;

	if (s == NULL || id == NULL) {
		return (LLMCOST_EINVAL);
	}
	// strnlen would do, but it is not in C11; this stops at 37.
	for (size_t i = 0; i < 37; i++) {
		if (s[i] == '\0') {
			if (i != 36) {
				return (LLMCOST_EINVAL);
			}
			break;
		}
		if (i == 36) {
			return (LLMCOST_EINVAL); // longer than 36
		}
	}
	for (size_t i = 0; i < 36;) {
		int h;
		int l;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-') {
				return (LLMCOST_EINVAL);
			}
			i++;
			continue;
		}
		h = hexval(s[i]);
		l = hexval(s[i + 1]);
		if (h < 0 || l < 0) {
			return (LLMCOST_EINVAL);
		}
		tmp[o++] = (uint8_t) ((h << 4) | l);
		i += 2;
	}
	memcpy(id, tmp, sizeof(tmp));
	return (0);
}

// Writes "<base without trailing slashes><suffix>" into out.
static int
join_path(char *out, size_t outsz, const char *base, const char *suffix)
{
	size_t blen = strlen(base);
	int n;

	while (blen > 0 && base[blen - 1] == '/') {
		blen--;
	}
	if (blen >= outsz || blen > INT_MAX) {
		out[0] = '\0';
		return (LLMCOST_ETOOBIG);
	}
	n = snprintf(out, outsz, "%.*s%s", (int) blen, base, suffix);
	if (n < 0 || (size_t) n >= outsz) {
		out[0] = '\0';
		return (LLMCOST_ETOOBIG);
	}
	return (0);
}

int
llmcost_proto_default_dir(char *out, size_t outsz)
{
	const char *v;

	if (out == NULL || outsz == 0) {
		return (LLMCOST_EINVAL);
	}
	out[0] = '\0';
	v = getenv("XDG_STATE_HOME");
	if (v != NULL && v[0] == '/') {
		return (join_path(out, outsz, v, "/llmcost"));
	}
	v = getenv("HOME");
	if (v != NULL && v[0] == '/') {
		return (join_path(out, outsz, v, "/.local/state/llmcost"));
	}
	return (LLMCOST_ENOTFOUND);
}

int
llmcost_proto_default_url(char *out, size_t outsz)
{
	static const char scheme[] = "ipc://";
	const size_t slen = sizeof(scheme) - 1;
	size_t dlen;
	int rv;
	int n;

	if (out == NULL || outsz == 0) {
		return (LLMCOST_EINVAL);
	}
	out[0] = '\0';
	if (outsz <= slen) {
		return (LLMCOST_ETOOBIG);
	}
	// Build the directory in place after the scheme, then prepend it.
	if ((rv = llmcost_proto_default_dir(out + slen, outsz - slen)) != 0) {
		out[0] = '\0';
		return (rv);
	}
	memcpy(out, scheme, slen);
	dlen = strlen(out);
	n = snprintf(out + dlen, outsz - dlen, "/%s", LLMCOST_SOCKET_NAME);
	if (n < 0 || (size_t) n >= outsz - dlen) {
		out[0] = '\0';
		return (LLMCOST_ETOOBIG);
	}
	return (0);
}
