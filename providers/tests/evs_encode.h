// For the tests: one AWS event stream message (application/
// vnd.amazon.eventstream), as Bedrock's ConverseStream sends it, with
// zlib's CRC-32 so that the parser's own CRC code is checked against an
// independent one.  Header-only: used by the unit tests, the fuzz seed
// writer and the provider stand-in.
#ifndef LLMCOST_TEST_EVS_ENCODE_H
#define LLMCOST_TEST_EVS_ENCODE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <zlib.h>

static inline void
evs_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) (v >> 24);
	p[1] = (uint8_t) (v >> 16);
	p[2] = (uint8_t) (v >> 8);
	p[3] = (uint8_t) v;
}

static inline size_t
evs_put_header(uint8_t *p, const char *name, const char *value)
{
	size_t n = strlen(name), v = strlen(value);
	p[0] = (uint8_t) n;
	memcpy(p + 1, name, n);
	p[1 + n] = 7; // string
	p[2 + n] = (uint8_t) (v >> 8);
	p[3 + n] = (uint8_t) v;
	memcpy(p + 4 + n, value, v);
	return (4 + n + v);
}

// Writes one message into out (cap bytes); returns its length, or 0 when
// it does not fit.  msg_type is "event" or "exception".
static inline size_t
evs_encode(uint8_t *out, size_t cap, const char *event_type,
    const char *msg_type, const char *payload, size_t plen)
{
	uint8_t hdr[512];
	size_t h = 0;
	h += evs_put_header(hdr + h,
	    strcmp(msg_type, "event") == 0 ? ":event-type" : ":exception-type",
	    event_type);
	h += evs_put_header(hdr + h, ":content-type", "application/json");
	h += evs_put_header(hdr + h, ":message-type", msg_type);
	size_t total = 12 + h + plen + 4;
	if (total > cap) {
		return (0);
	}
	evs_put32(out, (uint32_t) total);
	evs_put32(out + 4, (uint32_t) h);
	evs_put32(out + 8, (uint32_t) crc32(0, out, 8));
	memcpy(out + 12, hdr, h);
	memcpy(out + 12 + h, payload, plen);
	evs_put32(out + 12 + h + plen,
	    (uint32_t) crc32(0, out, (uInt) (12 + h + plen)));
	return (total);
}

// The messages of a ".events" file (lines "event-type<TAB>json"), encoded
// back to back into out; returns the total length, or 0 when it does not
// fit.
static inline size_t
evs_encode_lines(uint8_t *out, size_t cap, const char *text)
{
	size_t len = 0;
	while (*text != '\0') {
		const char *tab = strchr(text, '\t');
		const char *nl = strchr(text, '\n');
		if (nl == NULL) {
			nl = text + strlen(text);
		}
		if (tab != NULL && tab < nl) {
			char type[64];
			size_t tn = (size_t) (tab - text);
			if (tn >= sizeof(type)) {
				return (0);
			}
			memcpy(type, text, tn);
			type[tn] = '\0';
			size_t n = evs_encode(out + len, cap - len, type,
			    "event", tab + 1, (size_t) (nl - tab - 1));
			if (n == 0) {
				return (0);
			}
			len += n;
		}
		text = *nl != '\0' ? nl + 1 : nl;
	}
	return (len);
}

#endif // LLMCOST_TEST_EVS_ENCODE_H
