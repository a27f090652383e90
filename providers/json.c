// DESIGN: a push JSON scanner for provider response bodies.  Usage sits
// in a handful of fields of bodies that can be large (a Responses API
// stream repeats the whole answer in its last event), arrive in pieces
// split anywhere (inside a string, a number, a UTF-8 sequence) and must
// be read inside someone else's process.  So the scanner builds nothing:
// it keeps a fixed-size state (a depth stack of container kinds, the
// current key path, at most 256 bytes of the current string) and hands
// each value to a callback together with its path, which the format
// parsers compare with the few paths they know.  It resumes at any byte,
// so a whole body and a stream cut into one-byte pieces give the same
// events.  Memory is the struct (about 700 bytes) whatever the input;
// deep nesting, long numbers and anything that is not RFC 8259 JSON stop
// the scan with an error instead of growing anything.
#include <string.h>

#include "json.h"
#include "llmcost.h"
#include "llmcost_common.h"

enum {
	ST_VALUE,     // a value (top level, after ':' or ',' in an array)
	ST_ARR_FIRST, // after '[': a value or ']'
	ST_OBJ_FIRST, // after '{': a key or '}'
	ST_KEY,       // after ',' in an object: a key
	ST_COLON,     // after a key
	ST_AFTER,     // after a value inside a container: ',' or the close
	ST_DONE,      // the top-level value is complete
};

enum { TOK_NONE, TOK_KEY, TOK_STR, TOK_NUM, TOK_LIT };

// Inside a string: plain bytes, after a backslash, reading \uXXXX.
enum { S_PLAIN = 0, S_ESC = 1, S_U1 = 2, S_U4 = 5 };

// Inside a number (RFC 8259 grammar).
enum {
	N_START,
	N_MINUS, // need a digit
	N_ZERO,  // a leading 0: '.', 'e' or the end
	N_INT,
	N_DOT, // need a digit
	N_FRAC,
	N_E,     // a sign or a digit
	N_ESIGN, // need a digit
	N_EXP,
};

static const char *const literals[3] = { "true", "false", "null" };
static const int literal_ev[3]
    = { LLMCOST__J_TRUE, LLMCOST__J_FALSE, LLMCOST__J_NULL };

void
llmcost__json_init(llmcost__json *j, llmcost__json_fn fn, void *arg)
{
	memset(j, 0, sizeof(*j));
	j->fn = fn;
	j->arg = arg;
	j->state = ST_VALUE;
}

static void
fail(llmcost__json *j, int err)
{
	if (j->err == 0) {
		j->err = err;
	}
}

static void
emit(llmcost__json *j, int ev)
{
	if (j->fn != NULL && j->err == 0) {
		int rv = j->fn(j->arg, j, ev);
		if (rv != 0) {
			fail(j, rv);
		}
	}
}

static int
is_ws(unsigned char c)
{
	return (c == ' ' || c == '\t' || c == '\n' || c == '\r');
}

// The path segment of depth d starts again (a new key, or the path goes
// back to the container's own).
static void
seg_reset(llmcost__json *j, unsigned d)
{
	j->path_len = j->path_off[d];
	if (j->ovf >= d) {
		j->ovf = 0;
	}
}

static void
seg_put(llmcost__json *j, const char *s, size_t n)
{
	if (j->ovf != 0) {
		return;
	}
	if (n > (size_t) (LLMCOST__JSON_PATH_MAX - j->path_len)) {
		j->ovf = j->depth;
		return;
	}
	memcpy(j->path + j->path_len, s, n);
	j->path_len += (uint16_t) n;
}

static void
val_put(llmcost__json *j, const char *s, size_t n)
{
	size_t room = LLMCOST__JSON_VAL_MAX - j->val_len;
	if (n > room) {
		n = room;
		j->val_trunc = 1;
	}
	memcpy(j->val + j->val_len, s, n);
	j->val_len += (uint16_t) n;
}

static void
str_put(llmcost__json *j, const char *s, size_t n)
{
	if (j->tok == TOK_KEY) {
		seg_put(j, s, n);
	} else {
		val_put(j, s, n);
	}
}

static void
put_cp(llmcost__json *j, uint32_t cp)
{
	char b[4];
	size_t n;
	if (cp < 0x80) {
		b[0] = (char) cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char) (0xC0 | (cp >> 6));
		b[1] = (char) (0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char) (0xE0 | (cp >> 12));
		b[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
		b[2] = (char) (0x80 | (cp & 0x3F));
		n = 3;
	} else {
		b[0] = (char) (0xF0 | (cp >> 18));
		b[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
		b[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
		b[3] = (char) (0x80 | (cp & 0x3F));
		n = 4;
	}
	str_put(j, b, n);
}

// A lone surrogate from a \u escape is valid JSON but not a character:
// the captured text gets U+FFFD in its place.
static void
flush_surrogate(llmcost__json *j)
{
	if (j->hi_surr != 0) {
		j->hi_surr = 0;
		put_cp(j, 0xFFFD);
	}
}

static void
code_unit(llmcost__json *j, uint16_t u)
{
	if (j->hi_surr != 0) {
		if (u >= 0xDC00 && u <= 0xDFFF) {
			uint32_t cp = 0x10000
			    + (((uint32_t) j->hi_surr - 0xD800) << 10)
			    + (u - 0xDC00);
			j->hi_surr = 0;
			put_cp(j, cp);
			return;
		}
		flush_surrogate(j);
	}
	if (u >= 0xD800 && u <= 0xDBFF) {
		j->hi_surr = u;
	} else if (u >= 0xDC00 && u <= 0xDFFF) {
		put_cp(j, 0xFFFD);
	} else {
		put_cp(j, u);
	}
}

static void
after_value(llmcost__json *j)
{
	j->state = j->depth == 0 ? ST_DONE : ST_AFTER;
}

static void
open_container(llmcost__json *j, int arr)
{
	emit(j, arr ? LLMCOST__J_ARR : LLMCOST__J_OBJ);
	if (j->depth == LLMCOST__JSON_MAX_DEPTH) {
		fail(j, LLMCOST_ETOOBIG);
		return;
	}
	j->depth++;
	j->path_off[j->depth] = (uint8_t) j->path_len;
	if (arr) {
		j->is_arr |= UINT64_C(1) << (j->depth - 1);
		seg_put(j, "[]", 2);
		j->state = ST_ARR_FIRST;
	} else {
		j->is_arr &= ~(UINT64_C(1) << (j->depth - 1));
		j->state = ST_OBJ_FIRST;
	}
}

static int
top_is_arr(const llmcost__json *j)
{
	return ((j->is_arr >> (j->depth - 1)) & 1u) != 0;
}

static void
close_container(llmcost__json *j)
{
	int arr = top_is_arr(j);
	seg_reset(j, j->depth);
	j->depth--;
	emit(j, arr ? LLMCOST__J_END_ARR : LLMCOST__J_END_OBJ);
	after_value(j);
}

static void
begin_key(llmcost__json *j)
{
	seg_reset(j, j->depth);
	if (j->path_len > 0) {
		seg_put(j, ".", 1);
	}
	j->key_bad = 0;
	j->tok = TOK_KEY;
	j->sub = S_PLAIN;
}

static void
end_key(llmcost__json *j)
{
	if (j->key_bad) {
		seg_reset(j, j->depth);
		if (j->path_len > 0) {
			seg_put(j, ".", 1);
		}
		seg_put(j, "\x01", 1);
	}
	j->tok = TOK_NONE;
	j->state = ST_COLON;
}

static void
end_scalar(llmcost__json *j, int ev)
{
	j->val[j->val_len] = '\0';
	j->tok = TOK_NONE;
	emit(j, ev);
	after_value(j);
}

static void
begin_value(llmcost__json *j, unsigned char c)
{
	j->val_len = 0;
	j->val_trunc = 0;
	j->sub = 0;
	switch (c) {
	case '{':
		open_container(j, 0);
		return;
	case '[':
		open_container(j, 1);
		return;
	case '"':
		j->tok = TOK_STR;
		j->sub = S_PLAIN;
		return;
	case 't':
		j->tok = TOK_LIT;
		j->uhex = 0;
		return;
	case 'f':
		j->tok = TOK_LIT;
		j->uhex = 1;
		return;
	case 'n':
		j->tok = TOK_LIT;
		j->uhex = 2;
		return;
	default:
		if (c == '-' || (c >= '0' && c <= '9')) {
			j->tok = TOK_NUM;
			j->sub = N_START;
			return;
		}
		fail(j, LLMCOST_EPROTO);
	}
}

// One structural byte (after whitespace).  Returns the next position;
// a byte that begins a number or literal is left for its scanner.
static const char *
structural(llmcost__json *j, const char *p, const char *end)
{
	while (p < end && is_ws((unsigned char) *p)) {
		p++;
	}
	if (p == end) {
		return (p);
	}
	unsigned char c = (unsigned char) *p;
	switch (j->state) {
	case ST_DONE:
		fail(j, LLMCOST_EPROTO);
		return (end);
	case ST_COLON:
		if (c != ':') {
			fail(j, LLMCOST_EPROTO);
			return (end);
		}
		j->state = ST_VALUE;
		return (p + 1);
	case ST_OBJ_FIRST:
		if (c == '}') {
			close_container(j);
			return (p + 1);
		}
		// fall through
	case ST_KEY:
		if (c != '"') {
			fail(j, LLMCOST_EPROTO);
			return (end);
		}
		begin_key(j);
		return (p + 1);
	case ST_AFTER:
		if (c == ',') {
			if (top_is_arr(j)) {
				j->state = ST_VALUE;
			} else {
				j->state = ST_KEY;
			}
			return (p + 1);
		}
		if ((c == ']' && top_is_arr(j))
		    || (c == '}' && !top_is_arr(j))) {
			close_container(j);
			return (p + 1);
		}
		fail(j, LLMCOST_EPROTO);
		return (end);
	case ST_ARR_FIRST:
		if (c == ']') {
			close_container(j);
			return (p + 1);
		}
		// fall through
	default: // ST_VALUE
		begin_value(j, c);
		if (j->tok == TOK_NUM || j->tok == TOK_LIT) {
			return (p);
		}
		return (p + 1);
	}
}

// String bytes taken as they are: 1 for printable ASCII other than '"'
// and '\\', 2 for those that make a key unmatchable ('.', '[', ']').
static const uint8_t plain[256] = {
	// clang-format off
	[' '] = 1, ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1,
	['\''] = 1, ['('] = 1, [')'] = 1, ['*'] = 1, ['+'] = 1, [','] = 1,
	['-'] = 1, ['.'] = 2, ['/'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1,
	['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1,
	['9'] = 1, [':'] = 1, [';'] = 1, ['<'] = 1, ['='] = 1, ['>'] = 1,
	['?'] = 1, ['@'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1,
	['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1,
	['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,
	['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1,
	['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['['] = 2, [']'] = 2,
	['^'] = 1, ['_'] = 1, ['`'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1,
	['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1,
	['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1,
	['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
	['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1, ['{'] = 1,
	['|'] = 1, ['}'] = 1, ['~'] = 1, [0x7f] = 1,
	// clang-format on
};

// 1 when one of the 8 bytes of x may end a run of plain string bytes:
// '"', '\\', a control byte or a non-ASCII byte (the classic "has a
// zero byte" bit trick; a false positive only sends the bytes to the
// byte-by-byte loop).
static inline int
special8(uint64_t x)
{
	const uint64_t ones = UINT64_C(0x0101010101010101);
	const uint64_t highs = UINT64_C(0x8080808080808080);
	uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
	uint64_t t = ((x - ones * 0x20) | (q - ones) | (b - ones)) & ~x;
	return (((t | x) & highs) != 0);
}

static const char *
scan_string(llmcost__json *j, const char *p, const char *end)
{
	while (p < end) {
		unsigned char c = (unsigned char) *p;
		if (j->u8_need != 0) {
			if (c < j->u8_lo || c > j->u8_hi) {
				fail(j, LLMCOST_EPROTO);
				return (end);
			}
			j->u8_need--;
			j->u8_lo = 0x80;
			j->u8_hi = 0xBF;
			str_put(j, (const char *) p, 1);
			p++;
			continue;
		}
		if (j->sub == S_ESC) {
			static const char from[] = "\"\\/bfnrt";
			static const char to[] = "\"\\/\b\f\n\r\t";
			const char *hit = c != 0 ? strchr(from, c) : NULL;
			if (j->tok == TOK_KEY) {
				j->key_bad = 1;
			}
			if (c == 'u') {
				j->sub = S_U1;
				j->uhex = 0;
			} else if (hit != NULL) {
				flush_surrogate(j);
				if (j->tok != TOK_KEY) {
					str_put(j, &to[hit - from], 1);
				}
				j->sub = S_PLAIN;
			} else {
				fail(j, LLMCOST_EPROTO);
				return (end);
			}
			p++;
			continue;
		}
		if (j->sub >= S_U1) {
			int h = llmcost__hex_digit(c);
			if (h < 0) {
				fail(j, LLMCOST_EPROTO);
				return (end);
			}
			j->uhex = (uint16_t) (j->uhex * 16 + h);
			if (j->sub == S_U4) {
				j->sub = S_PLAIN;
				if (j->tok != TOK_KEY) {
					code_unit(j, j->uhex);
				}
			} else {
				j->sub++;
			}
			p++;
			continue;
		}
		// Plain bytes: take a run of printable ASCII at once (the
		// hot loop: one table lookup per byte).
		const char *run = p;
		if (j->tok == TOK_KEY) {
			while (p < end && (c = (unsigned char) *p, plain[c])) {
				if (plain[c] == 2) {
					j->key_bad = 1;
				}
				p++;
			}
		} else {
			// Eight bytes at a time while none can be special.
			uint64_t x;
			while (
			    end - p >= 8 && (memcpy(&x, p, 8), !special8(x))) {
				p += 8;
			}
			while (p < end && plain[(unsigned char) *p]) {
				p++;
			}
			c = p < end ? (unsigned char) *p : 0;
		}
		if (p > run) {
			flush_surrogate(j);
			str_put(j, run, (size_t) (p - run));
			continue;
		}
		p++;
		if (c == '"') {
			flush_surrogate(j);
			if (j->tok == TOK_KEY) {
				end_key(j);
			} else {
				end_scalar(j, LLMCOST__J_STR);
			}
			return (p);
		}
		if (c == '\\') {
			j->sub = S_ESC;
			continue;
		}
		if (c < 0x20) {
			fail(j, LLMCOST_EPROTO);
			return (end);
		}
		// A UTF-8 lead byte: the ranges of its next byte exclude
		// overlong forms, surrogates and code points past U+10FFFF.
		j->u8_lo = 0x80;
		j->u8_hi = 0xBF;
		if (c >= 0xC2 && c <= 0xDF) {
			j->u8_need = 1;
		} else if (c >= 0xE0 && c <= 0xEF) {
			j->u8_need = 2;
			if (c == 0xE0) {
				j->u8_lo = 0xA0;
			} else if (c == 0xED) {
				j->u8_hi = 0x9F;
			}
		} else if (c >= 0xF0 && c <= 0xF4) {
			j->u8_need = 3;
			if (c == 0xF0) {
				j->u8_lo = 0x90;
			} else if (c == 0xF4) {
				j->u8_hi = 0x8F;
			}
		} else {
			fail(j, LLMCOST_EPROTO);
			return (end);
		}
		flush_surrogate(j);
		str_put(j, (const char *) p - 1, 1);
	}
	return (p);
}

static int
num_terminal(uint8_t sub)
{
	return (
	    sub == N_ZERO || sub == N_INT || sub == N_FRAC || sub == N_EXP);
}

static const char *
scan_number(llmcost__json *j, const char *p, const char *end)
{
	while (p < end) {
		unsigned char c = (unsigned char) *p;
		int digit = c >= '0' && c <= '9';
		uint8_t next;
		switch (j->sub) {
		case N_START:
			next = c == '-' ? N_MINUS : c == '0' ? N_ZERO : N_INT;
			break;
		case N_MINUS:
			next = !digit ? 0xFF : c == '0' ? N_ZERO : N_INT;
			break;
		case N_ZERO:
			next = c == '.'              ? N_DOT
			    : (c == 'e' || c == 'E') ? N_E
			    : digit                  ? 0xFF
			                             : 0xFE;
			break;
		case N_INT:
			next = digit                 ? N_INT
			    : c == '.'               ? N_DOT
			    : (c == 'e' || c == 'E') ? N_E
			                             : 0xFE;
			break;
		case N_DOT:
			next = digit ? N_FRAC : 0xFF;
			break;
		case N_FRAC:
			next = digit                 ? N_FRAC
			    : (c == 'e' || c == 'E') ? N_E
			                             : 0xFE;
			break;
		case N_E:
			next = (c == '+' || c == '-') ? N_ESIGN
			    : digit                   ? N_EXP
			                              : 0xFF;
			break;
		case N_ESIGN:
			next = digit ? N_EXP : 0xFF;
			break;
		default: // N_EXP
			next = digit ? N_EXP : 0xFE;
			break;
		}
		if (next == 0xFF) {
			fail(j, LLMCOST_EPROTO);
			return (end);
		}
		if (next == 0xFE) { // the number ended before c
			end_scalar(j, LLMCOST__J_NUM);
			return (p);
		}
		if (j->val_len == LLMCOST__JSON_NUM_MAX) {
			fail(j, LLMCOST_ETOOBIG);
			return (end);
		}
		j->val[j->val_len++] = (char) c;
		j->sub = next;
		p++;
	}
	return (p);
}

static const char *
scan_literal(llmcost__json *j, const char *p, const char *end)
{
	const char *lit = literals[j->uhex];
	while (p < end) {
		if (*p != lit[j->sub]) {
			fail(j, LLMCOST_EPROTO);
			return (end);
		}
		p++;
		j->sub++;
		if (lit[j->sub] == '\0') {
			end_scalar(j, literal_ev[j->uhex]);
			return (p);
		}
	}
	return (p);
}

int
llmcost__json_feed(llmcost__json *j, const char *p, size_t n)
{
	const char *end;

	if (j->err != 0) {
		return (j->err);
	}
	if (p == NULL && n > 0) {
		return (LLMCOST_EINVAL);
	}
	if (n == 0) {
		return (0);
	}
	end = p + n;
	while (p < end && j->err == 0) {
		switch (j->tok) {
		case TOK_KEY:
		case TOK_STR:
			p = scan_string(j, p, end);
			break;
		case TOK_NUM:
			p = scan_number(j, p, end);
			break;
		case TOK_LIT:
			p = scan_literal(j, p, end);
			break;
		default:
			p = structural(j, p, end);
			break;
		}
	}
	return (j->err);
}

int
llmcost__json_end(llmcost__json *j)
{
	if (j->err != 0) {
		return (j->err);
	}
	if (j->tok == TOK_NUM && num_terminal(j->sub)) {
		end_scalar(j, LLMCOST__J_NUM);
		if (j->err != 0) {
			return (j->err);
		}
	}
	if (j->state != ST_DONE || j->tok != TOK_NONE) {
		fail(j, LLMCOST_EPROTO);
	}
	return (j->err);
}

int
llmcost__json_done(const llmcost__json *j)
{
	return (j->state == ST_DONE && j->tok == TOK_NONE);
}

int
llmcost__json_empty(const llmcost__json *j)
{
	return (j->state == ST_VALUE && j->depth == 0 && j->tok == TOK_NONE);
}

int
llmcost__json_path_is(const llmcost__json *j, const char *s)
{
	size_t n = strlen(s);
	return (j->ovf == 0 && j->path_len == n && memcmp(j->path, s, n) == 0);
}

int
llmcost__json_u64(const llmcost__json *j, uint64_t *out)
{
	uint64_t v = 0;
	if (j->val_len == 0) {
		return (LLMCOST_EPROTO);
	}
	for (uint16_t i = 0; i < j->val_len; i++) {
		unsigned char c = (unsigned char) j->val[i];
		if (c < '0' || c > '9') {
			return (LLMCOST_EPROTO);
		}
		if (v > (UINT64_MAX - (c - '0')) / 10) {
			return (LLMCOST_ETOOBIG);
		}
		v = v * 10 + (c - '0');
	}
	*out = v;
	return (0);
}

int
llmcost__json_pusd(const llmcost__json *j, int64_t *out)
{
	static const int64_t pow10[19] = { 1, 10, 100, 1000, 10000, 100000,
		1000000, 10000000, 100000000, 1000000000, 10000000000,
		100000000000, 1000000000000, 10000000000000, 100000000000000,
		1000000000000000, 10000000000000000, 100000000000000000,
		1000000000000000000 };
	const char *s = j->val, *e = j->val + j->val_len;
	const char *digits_end, *dot = NULL;
	long exp = 0;
	int int_digits = 0;

	if (s < e && *s == '-') {
		return (LLMCOST_EPROTO);
	}
	// Mantissa digits [s, digits_end), with an optional '.' inside.
	digits_end = s;
	while (digits_end < e && *digits_end != 'e' && *digits_end != 'E') {
		if (*digits_end == '.') {
			dot = digits_end;
		} else if (dot == NULL) {
			int_digits++;
		}
		digits_end++;
	}
	if (digits_end < e) {
		const char *x = digits_end + 1;
		int neg = 0;
		if (*x == '+' || *x == '-') {
			neg = *x == '-';
			x++;
		}
		for (; x < e; x++) {
			if (exp < 100000) {
				exp = exp * 10 + (*x - '0');
			}
		}
		if (neg) {
			exp = -exp;
		}
	}
	// Each digit is worth 10^k pico-USD; the first digit below one
	// pico-USD rounds half up, the later ones cannot change that.
	int64_t v = 0;
	long k = int_digits - 1 + exp + 12;
	for (const char *d = s; d < digits_end; d++) {
		if (*d == '.') {
			continue;
		}
		int dv = *d - '0';
		if (k < 0) {
			if (k == -1 && dv >= 5) {
				if (v == INT64_MAX) {
					return (LLMCOST_ETOOBIG);
				}
				v++;
			}
			break;
		}
		if (dv != 0) {
			if (k > 18) {
				return (LLMCOST_ETOOBIG);
			}
			int64_t term = pow10[k];
			if (term > INT64_MAX / dv
			    || v > INT64_MAX - term * dv) {
				return (LLMCOST_ETOOBIG);
			}
			v += term * dv;
		}
		k--;
	}
	*out = v;
	return (0);
}
