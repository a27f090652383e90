// DESIGN: the AWS event stream reader for Bedrock's ConverseStream.  The
// framing is binary (length-prefixed messages with two CRC-32s), not
// server-sent events, and arrives in pieces cut anywhere, so the reader
// is a small state machine over prelude, headers, payload and trailing
// CRC.  The prelude CRC is checked before its lengths are trusted, the
// lengths are checked against hard caps before anything is read, and the
// payload is streamed to the sink (which feeds the push JSON scanner)
// while the message CRC is computed; the sink commits what a message
// said only when its CRC has matched, so a corrupted message changes
// nothing.  Headers are the one buffered part (1 KiB cap; Bedrock sends
// about 90 bytes).  CRC-32 uses a 16-entry table, two steps per byte: it
// is not on any hot path and the table stays in one cache line.
#include <string.h>

#include "llmcost.h"
#include "evstream.h"

enum { E_PRELUDE, E_HEADERS, E_PAYLOAD, E_CRC };

// Header value types of the event stream encoding.
enum {
	H_TRUE = 0,
	H_FALSE = 1,
	H_BYTE = 2,
	H_SHORT = 3,
	H_INT = 4,
	H_LONG = 5,
	H_BYTES = 6,
	H_STRING = 7,
	H_TIMESTAMP = 8,
	H_UUID = 9,
};

uint32_t
llmcost__crc32(uint32_t crc, const void *p, size_t n)
{
	static const uint32_t tab[16] = { 0x00000000, 0x1db71064, 0x3b6e20c8,
		0x26d930ac, 0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
		0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c, 0x9b64c2b0,
		0x86d3d2d4, 0xa00ae278, 0xbdbdf21c };
	const uint8_t *b = p;
	crc = ~crc;
	for (size_t i = 0; i < n; i++) {
		crc ^= b[i];
		crc = (crc >> 4) ^ tab[crc & 0xF];
		crc = (crc >> 4) ^ tab[crc & 0xF];
	}
	return (~crc);
}

static uint32_t
be32(const uint8_t *p)
{
	return (((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16)
	    | ((uint32_t) p[2] << 8) | p[3]);
}

void
llmcost__evs_init(llmcost__evs *e, const llmcost__evs_sink *sink, void *arg)
{
	memset(e, 0, sizeof(*e));
	e->sink = sink;
	e->arg = arg;
}

static void
copy_name(char *dst, const uint8_t *src, size_t n)
{
	if (n > LLMCOST__EVS_NAME_MAX) {
		n = LLMCOST__EVS_NAME_MAX;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

// Walks the headers, checking every length, and picks the two we use.
static int
read_headers(llmcost__evs *e)
{
	char event_type[LLMCOST__EVS_NAME_MAX + 1] = "";
	char msg_type[LLMCOST__EVS_NAME_MAX + 1] = "";
	const uint8_t *h = e->hdr, *end = e->hdr + e->hdr_len;

	while (h < end) {
		size_t name_len = *h++;
		if (name_len == 0 || (size_t) (end - h) < name_len + 1) {
			return (LLMCOST_EPROTO);
		}
		const uint8_t *name = h;
		h += name_len;
		uint8_t type = *h++;
		size_t vlen;
		switch (type) {
		case H_TRUE:
		case H_FALSE:
			vlen = 0;
			break;
		case H_BYTE:
			vlen = 1;
			break;
		case H_SHORT:
			vlen = 2;
			break;
		case H_INT:
			vlen = 4;
			break;
		case H_LONG:
		case H_TIMESTAMP:
			vlen = 8;
			break;
		case H_UUID:
			vlen = 16;
			break;
		case H_BYTES:
		case H_STRING:
			if (end - h < 2) {
				return (LLMCOST_EPROTO);
			}
			vlen = ((size_t) h[0] << 8) | h[1];
			h += 2;
			break;
		default:
			return (LLMCOST_EPROTO);
		}
		if ((size_t) (end - h) < vlen) {
			return (LLMCOST_EPROTO);
		}
		if (type == H_STRING) {
			if (name_len == 11
			    && memcmp(name, ":event-type", 11) == 0) {
				copy_name(event_type, h, vlen);
			} else if (name_len == 13
			    && memcmp(name, ":message-type", 13) == 0) {
				copy_name(msg_type, h, vlen);
			}
		}
		h += vlen;
	}
	return (e->sink->begin(e->arg, event_type, msg_type));
}

// The headers are complete: announce the message, and skip an empty
// payload.
static int
enter_payload(llmcost__evs *e)
{
	e->got = 0;
	e->st = e->total - e->hdr_len == 16 ? E_CRC : E_PAYLOAD;
	return (read_headers(e));
}

static int
read_prelude(llmcost__evs *e)
{
	e->total = be32(e->prelude);
	e->hdr_len = be32(e->prelude + 4);
	if (llmcost__crc32(0, e->prelude, 8) != be32(e->prelude + 8)) {
		return (LLMCOST_EPROTO);
	}
	if (e->total < 16 || e->hdr_len > e->total - 16) {
		return (LLMCOST_EPROTO);
	}
	if (e->total > LLMCOST__EVS_MSG_MAX
	    || e->hdr_len > LLMCOST__EVS_HEADERS_MAX) {
		return (LLMCOST_ETOOBIG);
	}
	e->crc = llmcost__crc32(0, e->prelude, 12);
	e->got = 0;
	e->st = E_HEADERS;
	if (e->hdr_len == 0) {
		return (enter_payload(e));
	}
	return (0);
}

int
llmcost__evs_feed(llmcost__evs *e, const char *p, size_t n)
{
	const uint8_t *b = (const uint8_t *) p, *end = b + n;
	int rv = 0;

	if (e->err != 0) {
		return (e->err);
	}
	while (rv == 0 && b < end) {
		size_t take, want;
		switch (e->st) {
		case E_PRELUDE:
			want = 12 - e->got;
			take = (size_t) (end - b) < want ? (size_t) (end - b)
			                                 : want;
			memcpy(e->prelude + e->got, b, take);
			e->got += (uint32_t) take;
			b += take;
			if (e->got == 12) {
				rv = read_prelude(e);
			}
			break;
		case E_HEADERS:
			want = e->hdr_len - e->got;
			take = (size_t) (end - b) < want ? (size_t) (end - b)
			                                 : want;
			memcpy(e->hdr + e->got, b, take);
			e->crc = llmcost__crc32(e->crc, b, take);
			e->got += (uint32_t) take;
			b += take;
			if (e->got == e->hdr_len) {
				rv = enter_payload(e);
			}
			break;
		case E_PAYLOAD:
			want = e->total - e->hdr_len - 16 - e->got;
			take = (size_t) (end - b) < want ? (size_t) (end - b)
			                                 : want;
			e->crc = llmcost__crc32(e->crc, b, take);
			rv = e->sink->payload(e->arg, (const char *) b, take);
			e->got += (uint32_t) take;
			b += take;
			if (want == take) {
				e->got = 0;
				e->st = E_CRC;
			}
			break;
		default: // E_CRC
			want = 4 - e->got;
			take = (size_t) (end - b) < want ? (size_t) (end - b)
			                                 : want;
			memcpy(e->tail + e->got, b, take);
			e->got += (uint32_t) take;
			b += take;
			if (e->got == 4) {
				if (be32(e->tail) != e->crc) {
					rv = LLMCOST_EPROTO;
					break;
				}
				e->msgs++;
				e->got = 0;
				e->st = E_PRELUDE;
				rv = e->sink->end(e->arg);
			}
			break;
		}
	}
	if (rv != 0) {
		e->err = rv;
	}
	return (rv);
}

int
llmcost__evs_mid_message(const llmcost__evs *e)
{
	return (e->st != E_PRELUDE || e->got != 0);
}
