// DESIGN: UUID text.  The parser is strict (exactly 36 characters, dashes
// in the canonical places) because run ids are keys in the store: two
// spellings of one id must not both be accepted silently except for hex
// case.

#include <string.h>

#include "llmcost_common.h"

void
llmcost__uuid_str(const uint8_t id[16], char out[37])
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

int
llmcost__hex_digit(int c)
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
llmcost__uuid_parse(const char *s, uint8_t id[16])
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
		h = llmcost__hex_digit((unsigned char) s[i]);
		l = llmcost__hex_digit((unsigned char) s[i + 1]);
		if (h < 0 || l < 0) {
			return (LLMCOST_EINVAL);
		}
		tmp[o++] = (uint8_t) ((h << 4) | l);
		i += 2;
	}
	memcpy(id, tmp, sizeof(tmp));
	return (0);
}
