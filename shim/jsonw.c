// DESIGN: the JSON writer of jsonw.h.  Text is appended to one buffer
// that doubles as needed up to its cap, so writing a run costs a few
// memcpys and no allocation once the buffer has grown to its working
// size.  Strings are scanned for the bytes JSON forbids unescaped ('"',
// '\\', 0x00-0x1F), eight bytes at a time (plain_word); runs of plain
// bytes are copied at once.
#include <stdlib.h>
#include <string.h>

#include "llmcost.h"
#include "jsonw.h"

void
llmcost__jbuf_init(llmcost__jbuf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
llmcost__jbuf_fini(llmcost__jbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void
llmcost__jbuf_reset(llmcost__jbuf *b)
{
	b->len = 0;
	b->err = 0;
}

// Makes room for n more bytes.  Returns 0, or -1 with err set.
static int
reserve(llmcost__jbuf *b, size_t n)
{
	if (b->err != 0) {
		return (-1);
	}
	if (n > b->max - b->len) {
		b->err = LLMCOST_ETOOBIG;
		return (-1);
	}
	if (b->len + n <= b->cap) {
		return (0);
	}
	size_t cap = b->cap < 256 ? 256 : b->cap;
	while (cap < b->len + n) {
		cap *= 2;
	}
	if (cap > b->max) {
		cap = b->max;
	}
	char *p = realloc(b->p, cap);
	if (p == NULL) {
		b->err = LLMCOST_ENOMEM;
		return (-1);
	}
	b->p = p;
	b->cap = cap;
	return (0);
}

// The rest of llmcost__jbuf_raw (jsonw.h): the buffer must grow, or an
// error is set.
void
llmcost__jbuf_raw_slow(llmcost__jbuf *b, const void *s, size_t len)
{
	if (len == 0 || reserve(b, len) != 0) {
		return;
	}
	memcpy(b->p + b->len, s, len);
	b->len += len;
}

// 1 if none of the eight bytes of w must be escaped: no byte below 0x20
// (the carry trick of "determine if a word has a byte less than n"), none
// equal to '"' or '\\' (a zero byte after the xor).
static inline int
plain_word(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ull;
	const uint64_t high = 0x8080808080808080ull;
	uint64_t q = w ^ (ones * '"');
	uint64_t bs = w ^ (ones * '\\');
	uint64_t bad = ((w - ones * 0x20) & ~w) | ((q - ones) & ~q)
	    | ((bs - ones) & ~bs);
	return ((bad & high) == 0);
}

void
llmcost__jbuf_str(llmcost__jbuf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0, plain = 0;

	llmcost__jbuf_raw(b, "\"", 1);
	while (i < len) {
		uint64_t w;
		if (len - i >= 8 && (memcpy(&w, s + i, 8), plain_word(w))) {
			i += 8;
			continue;
		}
		unsigned char ch = (unsigned char) s[i];
		if (ch >= 0x20 && ch != '"' && ch != '\\') {
			i++;
			continue;
		}
		llmcost__jbuf_raw(b, s + plain, i - plain);
		char esc[6] = { '\\', 0, 0, 0, 0, 0 };
		size_t n = 2;
		switch (ch) {
		case '"':
			esc[1] = '"';
			break;
		case '\\':
			esc[1] = '\\';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		default:
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[ch >> 4];
			esc[5] = hex[ch & 0xf];
			n = 6;
			break;
		}
		llmcost__jbuf_raw(b, esc, n);
		i++;
		plain = i;
	}
	llmcost__jbuf_raw(b, s + plain, len - plain);
	llmcost__jbuf_raw(b, "\"", 1);
}

void
llmcost__jbuf_u64(llmcost__jbuf *b, uint64_t v)
{
	char tmp[20];
	size_t n = 0;
	do {
		tmp[sizeof(tmp) - 1 - n] = (char) ('0' + v % 10);
		v /= 10;
		n++;
	} while (v != 0);
	llmcost__jbuf_raw(b, tmp + sizeof(tmp) - n, n);
}
