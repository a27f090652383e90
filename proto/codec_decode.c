// DESIGN: the decoder is strict, runs in two steps over one complete
// message, and builds no object tree.
//
// 1. A skim walks the raw bytes without allocating: it checks every
//    msgpack header, finds where the single top-level value ends (so that
//    truncation and trailing bytes get exact reasons), checks that every
//    container's announced element count is backed by enough bytes, and
//    caps nesting at DEC_MAX_DEPTH.  It also counts the values the
//    message announces and refuses more than LLMCOST_PROTO_MAX_VALUES, at
//    the header that passes the cap, before walking them.  The cap sits
//    above the largest batch v1 allows (4096 records of at most 211
//    values each), so no valid message is refused by it.
// 2. A cursor walks the same bytes again, in order, reading one msgpack
//    header at a time (mobj: a type, a size, a pointer into the input)
//    and checking each value against the v1 schema as it goes; each
//    record key goes to the decoder of its row in LLMCOST_PROTO_RKEY_MAP,
//    which also says which keys are required.  Strings point into the
//    caller's buffer.  The skim has proved the structure, so the cursor
//    cannot leave the buffer; it checks anyway, and reads nil past the
//    end rather than a byte.  Positive fixints, fixmaps, fixarrays and
//    fixstrs, most of a batch, are read inline; strings are checked for ASCII eight bytes
//    at a time, and only one with a byte above 0x7f gets the full UTF-8
//    check.  Records, key/value pairs and tags live in one malloc'd
//    block (priv_), sized without another walk: the skim
//    counts the message's map pairs and array elements, which bound the
//    meta pairs and tags, and so do the limits per record, whatever the
//    input announces (an exact count took one more walk over every
//    record's headers).  Nothing else is allocated, so a hostile message
//    costs at most that block.  (msgpack-c used to build an object tree per
//    message here: 24 bytes per value, allocated, faulted in and freed
//    for every batch.)
//
// A BATCH, the message a collector decodes all day, first gets one pass
// instead (decode_batch_one_pass): the cursor alone, checking every
// length against the end itself.  The skim cost a third of a batch's
// decoding.  Whatever that pass cannot finish (anything the skim would
// have had to prove, such as a value to skip, or any failure) goes to
// the two steps, so results and reasons are those of the two steps on
// every input.  In that pass a record in the form every encoder writes
// (keys 0 to 8 in order, each value in its usual form) is read straight
// from the bytes by rec_fast, and only what follows goes through the
// general loop: the loop's per-value headers, checks and calls were
// most of a batch's decoding.  The calls of a call site repeat their
// status, meta and tags (keys 6 to 8) byte for byte, so rec_fast keeps
// a memo of the last records (one per call site, DEC_MEMO_SLOTS of
// them) whose keys 6 to 8 it read: the bytes they took and the map's
// size.  A record with the same map size whose next bytes are those
// takes that record's fields, sharing its meta and tags arrays (the
// same strings, checked by the same rules), after one comparison of a
// dozen bytes; keys 3 and 4 (provider, model) the same way, from the
// last record that read them.  The two steps leave rec_fast out, so
// comparing them with the one pass checks it too.
//
// A TBATCH (type 9) decodes into the same batch as a BATCH: its string
// table is read and checked (UTF-8, size) first, into a temporary array,
// and while its records are decoded a string field may be an index into
// that array (get_str and the meta values check the index and the
// field's limits), so each distinct string is checked once per batch.
//
// Every failure writes a specific reason, prefixed with the record index
// when there is one, and leaves *out zeroed with nothing to free.  Limits
// on counts and sizes fail with LLMCOST_ETOOBIG, everything else with
// LLMCOST_EPROTO.

#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmcost_proto.h"

// Deepest nesting of non-empty containers; see README "Limits".
#define DEC_MAX_DEPTH 16

// Call sites whose keys 6 to 8 the one pass remembers (a power of 2).
#define DEC_MEMO_SLOTS 4

// Largest map a record may be: one entry per possible key 0..63.
#define RK_MAX_ENTRIES (LLMCOST_RK_RESERVED_MAX + 1)

_Static_assert(
    LLMCOST_RK_COUNT <= LLMCOST_RK_RESERVED_MAX + 1, "record keys are 0..63");
_Static_assert(LLMCOST_RK_RUN_ID == 0 && LLMCOST_RK_START_NS == 1
        && LLMCOST_RK_DURATION_NS == 2 && LLMCOST_RK_PROVIDER == 3
        && LLMCOST_RK_MODEL == 4 && LLMCOST_RK_USAGE == 5
        && LLMCOST_RK_STATUS == 6 && LLMCOST_RK_META == 7
        && LLMCOST_RK_TAGS == 8,
    "rec_fast reads keys 0 to 8 in this order");
_Static_assert(LLMCOST_BUCKET_COUNT >= LLMCOST_PROTO_USAGE_MIN
        && LLMCOST_BUCKET_COUNT <= LLMCOST_PROTO_MAX_BUCKETS,
    "a v1 encoder writes 10..64 usage entries");

typedef struct dec {
	char *reason;
	size_t reasonsz;
	// Where we are, for reasons.  Formatted only when something fails,
	// so that decoding a valid batch does no string work.
	int32_t rec; // record index, or -1
	int32_t idx; // element index within the current field, or -1
	char isep;   // '[' for "usage[3]", ' ' for "meta: key 3"
	char lbl[48];
	// Counted by the skim: key/value pairs of every map and elements of
	// every array in the message.  They bound the meta pairs and tags a
	// batch can hold, so dec_batch sizes its block without a walk.
	uint64_t map_pairs;
	uint64_t arr_elems;
	// A TBATCH's string table while its records are decoded (NULL
	// otherwise): a record's string may then be an index into it.
	const llmcost_proto_str *tab;
	uint32_t ntab;
	// The one pass's memo of keys 6 to 8 (rec_fast), one slot per call
	// site seen lately: a record whose fast path read any of them, the
	// bytes they took, the map's entry count, and what rec_fast
	// returned for them (r NULL: an empty slot).  memo_last is the slot
	// the last record used, memo_next the one the next miss fills.
	struct {
		const llmcost_proto_record *r;
		const uint8_t *p;
		uint32_t len;
		uint32_t n;
		uint32_t i;
		uint64_t sn;
	} memo[DEC_MEMO_SLOTS];
	uint32_t memo_last;
	uint32_t memo_next;
	// The same for keys 3 and 4 (provider, model), of the last record
	// whose fast path read them.  pm_r NULL: none.
	const llmcost_proto_record *pm_r;
	const uint8_t *pm_p;
	uint32_t pm_len;
} dec;

// The current field's label, e.g. "usage[3]"; only called on failure.
static const char *
lbl(dec *d, const char *what)
{
	if (d->idx < 0) {
		return (what);
	}
	(void) snprintf(d->lbl, sizeof(d->lbl),
	    d->isep == '[' ? "%s[%d]" : "%s %d", what, (int) d->idx);
	return (d->lbl);
}

static int fail(dec *d, int rv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(dec *d, int rv, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (d->reason == NULL || d->reasonsz == 0) {
		return (rv);
	}
	n = d->rec >= 0
	    ? snprintf(d->reason, d->reasonsz, "record %d: ", (int) d->rec)
	    : 0;
	if (n < 0 || (size_t) n >= d->reasonsz) {
		return (rv);
	}
	va_start(ap, fmt);
	(void) vsnprintf(d->reason + n, d->reasonsz - (size_t) n, fmt, ap);
	va_end(ap);
	return (rv);
}

static int
truncated(dec *d)
{
	return (fail(d, LLMCOST_EPROTO, "truncated message"));
}

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define BE16(x) __builtin_bswap16(x)
#define BE32(x) __builtin_bswap32(x)
#define BE64(x) __builtin_bswap64(x)
#else
#define BE16(x) (x)
#define BE32(x) (x)
#define BE64(x) (x)
#endif

static inline __attribute__((always_inline)) uint64_t
read_be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	uint32_t v4;
	uint16_t v2;

	// The sizes msgpack uses, as one load each.
	switch (n) {
	case 1:
		return (p[0]);
	case 2:
		memcpy(&v2, p, 2);
		return (BE16(v2));
	case 4:
		memcpy(&v4, p, 4);
		return (BE32(v4));
	case 8:
		memcpy(&v, p, 8);
		return (BE64(v));
	default:
		for (size_t i = 0; i < n; i++) {
			v = (v << 8) | p[i];
		}
		return (v);
	}
}

// Step 1: find the end of the first msgpack value in p[0..len) without
// building anything.  See DESIGN above.
static int
skim(dec *d, const uint8_t *p, size_t len, size_t *endp)
{
	uint64_t left[DEC_MAX_DEPTH]; // elements left per open container
	unsigned depth = 0;
	uint64_t pending = 1; // values announced but not started yet
	uint64_t values = 1;  // values announced so far, the top one too
	size_t off = 0;

	for (;;) {
		uint8_t b;
		uint64_t skip = 0; // payload bytes after the header
		size_t lenlen = 0; // bytes of a length or count field
		int is_cont = 0;   // 1 array, 2 map
		uint64_t items = 0;

		if (off >= len) {
			return (truncated(d));
		}
		b = p[off++];
		pending--;
		// The scalars most of a message is made of, on their own.
		if (b <= 0x7f || (b & 0xe0u) == 0xa0u) {
			if (b > 0x7f) {
				if ((size_t) (b & 0x1fu) > len - off) {
					return (truncated(d));
				}
				off += b & 0x1fu;
			}
			goto done;
		}
		if (b <= 0x7f || b >= 0xe0) {
			// positive or negative fixint
		} else if (b <= 0x8f) {
			is_cont = 2;
			items = 2u * (b & 0x0fu);
		} else if (b <= 0x9f) {
			is_cont = 1;
			items = b & 0x0fu;
		} else if (b <= 0xbf) {
			skip = b & 0x1fu; // fixstr
		} else {
			switch (b) {
			case 0xc0: // nil
			case 0xc2: // false
			case 0xc3: // true
				break;
			case 0xc4: // bin 8, 16, 32
			case 0xd9: // str 8, 16, 32
				lenlen = 1;
				break;
			case 0xc5:
			case 0xda:
				lenlen = 2;
				break;
			case 0xc6:
			case 0xdb:
				lenlen = 4;
				break;
			case 0xc7: // ext 8, 16, 32: length, type, data
				lenlen = 1;
				skip = 1;
				break;
			case 0xc8:
				lenlen = 2;
				skip = 1;
				break;
			case 0xc9:
				lenlen = 4;
				skip = 1;
				break;
			case 0xcc: // uint 8
			case 0xd0: // int 8
				skip = 1;
				break;
			case 0xcd:
			case 0xd1:
				skip = 2;
				break;
			case 0xca: // float 32
			case 0xce:
			case 0xd2:
				skip = 4;
				break;
			case 0xcb: // float 64
			case 0xcf:
			case 0xd3:
				skip = 8;
				break;
			case 0xd4: // fixext 1, 2, 4, 8, 16: type, data
				skip = 2;
				break;
			case 0xd5:
				skip = 3;
				break;
			case 0xd6:
				skip = 5;
				break;
			case 0xd7:
				skip = 9;
				break;
			case 0xd8:
				skip = 17;
				break;
			case 0xdc: // array 16, 32
				is_cont = 1;
				lenlen = 2;
				break;
			case 0xdd:
				is_cont = 1;
				lenlen = 4;
				break;
			case 0xde: // map 16, 32
				is_cont = 2;
				lenlen = 2;
				break;
			case 0xdf:
				is_cont = 2;
				lenlen = 4;
				break;
			default: // 0xc1 is never used
				return (fail(d, LLMCOST_EPROTO,
				    "invalid msgpack byte 0x%02x at offset "
				    "%zu",
				    b, off - 1));
			}
		}
		if (lenlen > 0) {
			uint64_t n;

			if (len - off < lenlen) {
				return (truncated(d));
			}
			n = read_be(p + off, lenlen);
			off += lenlen;
			if (is_cont == 0) {
				skip += n;
			} else {
				items = is_cont == 2 ? 2 * n : n;
			}
		}
		if ((uint64_t) (len - off) < skip) {
			return (truncated(d));
		}
		off += (size_t) skip;
		if (items > 0) {
			if (depth == DEC_MAX_DEPTH) {
				return (fail(d, LLMCOST_ETOOBIG,
				    "nesting deeper than %d levels",
				    DEC_MAX_DEPTH));
			}
			// Each announced value takes at least one byte.
			pending += items;
			if (pending > (uint64_t) (len - off)) {
				return (truncated(d));
			}
			// items <= 2^33: no overflow.
			values += items;
			if (is_cont == 2) {
				d->map_pairs += items / 2;
			} else {
				d->arr_elems += items;
			}
			if (values > LLMCOST_PROTO_MAX_VALUES) {
				return (fail(d, LLMCOST_ETOOBIG,
				    "more than %u msgpack values in one "
				    "message",
				    LLMCOST_PROTO_MAX_VALUES));
			}
			left[depth++] = items;
			continue;
		}
	done:
		// A value is complete: close the containers it completes.
		while (depth > 0) {
			if (--left[depth - 1] > 0) {
				break;
			}
			depth--;
		}
		if (depth == 0) {
			*endp = off;
			return (0);
		}
	}
}

// ---- the cursor ----

typedef enum {
	MT_NIL,
	MT_BOOL,
	MT_UINT,
	MT_NINT,
	MT_FLOAT,
	MT_STR,
	MT_BIN,
	MT_EXT,
	MT_ARRAY,
	MT_MAP,
} mtype;

// One msgpack value's header.  For str, bin and ext, ptr and size are
// the payload; for an array or map, size is its element or pair count
// and the elements follow in the cursor, to be read (or skipped) next.
typedef struct mobj {
	mtype type;
	uint32_t size;
	const char *ptr;
	uint64_t u64; // MT_UINT, MT_BOOL
	int64_t i64;  // MT_NINT
} mobj;

typedef struct mcur {
	const uint8_t *p;
	const uint8_t *end;
	// One pass (llmcost_proto_decode's batch path): no skim ran, so every
	// header and payload is checked against the end here, and a value
	// that would need skipping is not walked.  Either sets bad, which
	// sends the message to the two steps.
	int fast;
	int bad;
} mcur;

// Reads the header at the cursor into *o and moves past it (and past the
// payload of a str, bin, ext or number).  The skim has checked every
// header and length; past the end the cursor reads nil and stays put.
static void
mo_read_any(mcur *c, mobj *o)
{
	const uint8_t *p = c->p;
	size_t lenlen = 0;
	uint64_t n = 0;

	o->size = 0;
	o->ptr = NULL;
	o->u64 = 0;
	o->i64 = 0;
	if (p >= c->end) {
		o->type = MT_NIL;
		c->bad = 1;
		return;
	}
	uint8_t b = *p++;
	// Bytes after the header byte; every length and payload is checked
	// against it (the skim proved them, the one pass did not).
	size_t rem = (size_t) (c->end - p);
	if (b <= 0x7f) {
		o->type = MT_UINT;
		o->u64 = b;
	} else if (b >= 0xe0) {
		o->type = MT_NINT;
		o->i64 = (int8_t) b;
	} else if (b <= 0x8f) {
		o->type = MT_MAP;
		o->size = b & 0x0fu;
	} else if (b <= 0x9f) {
		o->type = MT_ARRAY;
		o->size = b & 0x0fu;
	} else if (b <= 0xbf) {
		o->type = MT_STR;
		o->size = b & 0x1fu;
		if (o->size > rem) {
			goto short_input;
		}
		o->ptr = (const char *) p;
		p += o->size;
	} else {
		switch (b) {
		case 0xc2:
		case 0xc3:
			o->type = MT_BOOL;
			o->u64 = b == 0xc3;
			break;
		case 0xc4:
		case 0xc5:
		case 0xc6:
			o->type = MT_BIN;
			lenlen = (size_t) 1 << (b - 0xc4);
			break;
		case 0xd9:
		case 0xda:
		case 0xdb:
			o->type = MT_STR;
			lenlen = (size_t) 1 << (b - 0xd9);
			break;
		case 0xc7:
		case 0xc8:
		case 0xc9:
			o->type = MT_EXT;
			lenlen = (size_t) 1 << (b - 0xc7);
			break;
		case 0xca:
		case 0xcb:
			o->type = MT_FLOAT;
			n = b == 0xca ? 4 : 8;
			if (n > rem) {
				goto short_input;
			}
			p += n;
			break;
		case 0xcc:
		case 0xcd:
		case 0xce:
		case 0xcf:
			o->type = MT_UINT;
			n = (uint64_t) 1 << (b - 0xcc);
			if (n > rem) {
				goto short_input;
			}
			o->u64 = read_be(p, (size_t) n);
			p += n;
			break;
		case 0xd0:
		case 0xd1:
		case 0xd2:
		case 0xd3: {
			n = (uint64_t) 1 << (b - 0xd0);
			if (n > rem) {
				goto short_input;
			}
			uint64_t v = read_be(p, (size_t) n);
			p += n;
			// Sign-extend from n bytes.
			unsigned sh = (unsigned) (64 - 8 * n);
			int64_t sv = (int64_t) (v << sh) >> sh;
			if (sv >= 0) {
				o->type = MT_UINT; // as msgpack-c reads it
				o->u64 = (uint64_t) sv;
			} else {
				o->type = MT_NINT;
				o->i64 = sv;
			}
			break;
		}
		case 0xd4:
		case 0xd5:
		case 0xd6:
		case 0xd7:
		case 0xd8:
			o->type = MT_EXT;
			o->size = 1u << (b - 0xd4);
			if ((size_t) o->size + 1 > rem) {
				goto short_input;
			}
			o->ptr = (const char *) p + 1;
			p += 1 + o->size;
			break;
		case 0xdc:
		case 0xdd:
		case 0xde:
		case 0xdf:
			o->type = b <= 0xdd ? MT_ARRAY : MT_MAP;
			n = (b & 1u) == 0 ? 2 : 4;
			if (n > rem) {
				goto short_input;
			}
			o->size = (uint32_t) read_be(p, (size_t) n);
			p += n;
			break;
		case 0xc0:
			o->type = MT_NIL;
			break;
		default: // 0xc1 (never passes the skim)
			goto short_input;
		}
		if (lenlen > 0) {
			size_t head = lenlen + (o->type == MT_EXT ? 1 : 0);
			if (head > rem) {
				goto short_input;
			}
			o->size = (uint32_t) read_be(p, lenlen);
			p += head; // the length, and an ext's type byte
			if (o->size > rem - head) {
				goto short_input;
			}
			o->ptr = (const char *) p;
			p += o->size;
		}
	}
	c->p = p;
	return;
short_input:
	// Truncated or invalid: read as nil, which no field accepts, and
	// stay at the end.
	o->type = MT_NIL;
	o->size = 0;
	o->ptr = NULL;
	o->u64 = 0;
	c->p = c->end;
	c->bad = 1;
}

// mo_read_any, with the forms most of a batch is made of read inline:
// positive fixints (keys, small counts), fixmaps, fixarrays, and fixstrs,
// uints and bin 8 whose bytes are all there.
static inline __attribute__((always_inline)) void
mo_read(mcur *c, mobj *o)
{
	if (c->p < c->end) {
		uint8_t b = *c->p;
		if (b <= 0x7f) {
			o->type = MT_UINT;
			o->size = 0;
			o->ptr = NULL;
			o->u64 = b;
			o->i64 = 0;
			c->p++;
			return;
		}
		if ((b & 0xe0u) == 0x80u) {
			o->type = b < 0x90 ? MT_MAP : MT_ARRAY;
			o->size = b & 0x0fu;
			o->ptr = NULL;
			o->u64 = 0;
			o->i64 = 0;
			c->p++;
			return;
		}
		size_t rem = (size_t) (c->end - c->p);
		if (b >= 0xcc && b <= 0xcf) {
			// uint 8, 16, 32, 64: start times, durations, counts.
			size_t w = (size_t) 1 << (b - 0xcc);
			if (rem > w) {
				o->type = MT_UINT;
				o->size = 0;
				o->ptr = NULL;
				o->u64 = read_be(c->p + 1, w);
				o->i64 = 0;
				c->p += 1 + w;
				return;
			}
		} else if (b == 0xc4 && rem > 2 && rem - 2 >= c->p[1]) {
			// bin 8: run ids.
			o->type = MT_BIN;
			o->size = c->p[1];
			o->ptr = (const char *) c->p + 2;
			o->u64 = 0;
			o->i64 = 0;
			c->p += 2 + o->size;
			return;
		}
		uint32_t n = b & 0x1fu;
		if ((b & 0xe0u) == 0xa0u && rem > n) {
			o->type = MT_STR;
			o->size = n;
			o->ptr = (const char *) c->p + 1;
			o->u64 = 0;
			o->i64 = 0;
			c->p += 1 + n;
			return;
		}
	}
	mo_read_any(c, o);
}

// Moves the cursor past the elements of o, a header just read (nothing
// to do for anything but an array or a map).  Depth is bounded by the
// skim.
static void
mo_skip(mcur *c, const mobj *o)
{
	uint64_t items;

	if (o->type == MT_ARRAY) {
		items = o->size;
	} else if (o->type == MT_MAP) {
		items = 2 * (uint64_t) o->size;
	} else {
		return;
	}
	if (c->fast && items > 0) {
		// Unbounded depth without the skim: leave it to the two steps.
		c->bad = 1;
		c->p = c->end;
		return;
	}
	for (uint64_t i = 0; i < items && c->p < c->end; i++) {
		mobj e;
		mo_read(c, &e);
		mo_skip(c, &e);
	}
}

static const char *
type_name(const mobj *o)
{
	switch (o->type) {
	case MT_NIL:
		return ("nil");
	case MT_BOOL:
		return ("boolean");
	case MT_UINT:
		return ("unsigned integer");
	case MT_NINT:
		return ("negative integer");
	case MT_FLOAT:
		return ("float");
	case MT_STR:
		return ("str");
	case MT_ARRAY:
		return ("array");
	case MT_MAP:
		return ("map");
	case MT_BIN:
		return ("bin");
	case MT_EXT:
		return ("ext");
	}
	return ("unknown");
}

// Writes s as a quoted, printable-ASCII string for use in a reason.
static const char *
quote(char *buf, size_t bufsz, const char *s, uint32_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	buf[o++] = '"';
	for (uint32_t i = 0; i < len && o + 6 < bufsz; i++) {
		uint8_t c = (uint8_t) s[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			buf[o++] = (char) c;
		} else {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 0x0f];
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return (buf);
}

static int
get_uint(dec *d, const mobj *o, const char *what, uint64_t *v)
{
	if (o->type != MT_UINT) {
		return (fail(d, LLMCOST_EPROTO,
		    "%s: want unsigned integer, got %s", lbl(d, what),
		    type_name(o)));
	}
	*v = o->u64;
	return (0);
}

static int
get_range(dec *d, const mobj *o, const char *what, uint64_t max, uint64_t *v)
{
	int rv;

	if ((rv = get_uint(d, o, what, v)) != 0) {
		return (rv);
	}
	if (*v > max) {
		return (fail(d, LLMCOST_EPROTO,
		    "%s: %" PRIu64 " out of range 0..%" PRIu64, lbl(d, what),
		    *v, max));
	}
	return (0);
}

static int
get_id(dec *d, const mobj *o, const char *what, uint8_t id[16])
{
	if (o->type != MT_BIN) {
		return (
		    fail(d, LLMCOST_EPROTO, "%s: want bin of 16 bytes, got %s",
		        lbl(d, what), type_name(o)));
	}
	if (o->size != 16) {
		return (fail(d, LLMCOST_EPROTO,
		    "%s: want bin of 16 bytes, got %" PRIu32 " bytes",
		    lbl(d, what), o->size));
	}
	memcpy(id, o->ptr, 16);
	return (0);
}

// Whether s[0..n) is valid UTF-8: ASCII, the common case, is checked
// eight bytes at a time here, anything else by the full check.
static inline int
utf8_ok(const char *s, uint32_t n)
{
	uint64_t acc = 0, w;
	uint32_t i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, s + i, 8);
		acc |= w;
	}
	if (n & 4) {
		uint32_t v4;
		memcpy(&v4, s + i, 4);
		acc |= v4;
		i += 4;
	}
	if (n & 2) {
		uint16_t v2;
		memcpy(&v2, s + i, 2);
		acc |= v2;
		i += 2;
	}
	if (n & 1) {
		acc |= (uint8_t) s[i];
	}
	return ((acc & UINT64_C(0x8080808080808080)) == 0
	    || llmcost__utf8_valid(s, n));
}

// A TBATCH record's string given as an index into the batch's table:
// the index must be in the table, and the entry meet the field's limits
// (its UTF-8 was checked once, with the table).
static inline __attribute__((always_inline)) int
get_ref(dec *d, const mobj *o, const char *what, uint32_t min, uint32_t max,
    llmcost_proto_str *s)
{
	if (o->u64 >= d->ntab) {
		return (fail(d, LLMCOST_EPROTO,
		    "%s: string %" PRIu64 " out of range (%" PRIu32
		    " strings)",
		    lbl(d, what), o->u64, d->ntab));
	}
	*s = d->tab[o->u64];
	if (s->len > max) {
		return (fail(d, LLMCOST_ETOOBIG,
		    "%s: %" PRIu32 " bytes exceeds %" PRIu32, lbl(d, what),
		    s->len, max));
	}
	if (s->len < min) {
		return (fail(d, LLMCOST_EPROTO, "%s: empty", lbl(d, what)));
	}
	return (0);
}

static inline __attribute__((always_inline)) int
get_str(dec *d, const mobj *o, const char *what, uint32_t min, uint32_t max,
    llmcost_proto_str *s)
{
	if (o->type != MT_STR) {
		if (o->type == MT_UINT && d->tab != NULL) {
			return (get_ref(d, o, what, min, max, s));
		}
		return (fail(d, LLMCOST_EPROTO, "%s: want str, got %s",
		    lbl(d, what), type_name(o)));
	}
	if (o->size > max) {
		return (fail(d, LLMCOST_ETOOBIG,
		    "%s: %" PRIu32 " bytes exceeds %" PRIu32, lbl(d, what),
		    o->size, max));
	}
	if (o->size < min) {
		return (fail(d, LLMCOST_EPROTO, "%s: empty", lbl(d, what)));
	}
	if (!utf8_ok(o->ptr, o->size)) {
		return (fail(
		    d, LLMCOST_EPROTO, "%s: invalid UTF-8", lbl(d, what)));
	}
	s->ptr = o->ptr;
	s->len = o->size;
	return (0);
}

static inline int
str_eq(const llmcost_proto_str *a, const llmcost_proto_str *b)
{
	return (a->len == b->len
	    && (a->len == 0 || a->ptr == b->ptr
	        || memcmp(a->ptr, b->ptr, a->len) == 0));
}

// Usage: 10 to 64 unsigned integers, one per bucket in llmcost_bucket
// order.  Entries past the buckets this version knows come from a newer
// encoder: they are validated like the others, counted, and the first
// LLMCOST_PROTO_USAGE_EXTRA are kept, so that one new bucket does not
// make every newer shim's batches unreadable.  An array shorter than
// LLMCOST_BUCKET_COUNT (but not than 10, which no v1 encoder ever wrote)
// comes from an older encoder: the buckets it did not know stay 0.
static int
dec_usage(dec *d, mcur *c, const mobj *o, llmcost_proto_record *r)
{
	uint32_t n;
	int rv;

	if (o->type != MT_ARRAY) {
		return (fail(d, LLMCOST_EPROTO,
		    "usage: want array of %u to %u unsigned integers, got %s",
		    LLMCOST_PROTO_USAGE_MIN, LLMCOST_PROTO_MAX_BUCKETS,
		    type_name(o)));
	}
	n = o->size;
	if (n > LLMCOST_PROTO_MAX_BUCKETS) {
		return (fail(d, LLMCOST_ETOOBIG,
		    "usage: %" PRIu32 " elements exceeds %u", n,
		    LLMCOST_PROTO_MAX_BUCKETS));
	}
	if (n < LLMCOST_PROTO_USAGE_MIN) {
		return (fail(d, LLMCOST_EPROTO,
		    "usage: want array of %u to %u unsigned integers, got "
		    "%" PRIu32 " elements",
		    LLMCOST_PROTO_USAGE_MIN, LLMCOST_PROTO_MAX_BUCKETS, n));
	}
	for (uint32_t i = 0; i < n; i++) {
		uint64_t v;
		mobj e;

		if (c->p < c->end && *c->p <= 0x7f) {
			// A positive fixint, most counts of a call, at once.
			v = *c->p++;
		} else {
			mo_read(c, &e);
			if (e.type != MT_UINT) {
				d->idx = (int32_t) i;
				d->isep = '[';
				rv = get_uint(d, &e, "usage", &v);
				d->idx = -1;
				return (rv);
			}
			v = e.u64;
		}
		if (i < LLMCOST_BUCKET_COUNT) {
			r->usage[i] = v;
		} else if (i - LLMCOST_BUCKET_COUNT
		    < LLMCOST_PROTO_USAGE_EXTRA) {
			r->usage_extra[i - LLMCOST_BUCKET_COUNT] = v;
		}
	}
	for (uint32_t i = n; i < LLMCOST_BUCKET_COUNT; i++) {
		r->usage[i] = 0;
	}
	r->n_usage_extra
	    = n > LLMCOST_BUCKET_COUNT ? n - LLMCOST_BUCKET_COUNT : 0;
	return (0);
}

// Key 9: fee counts in llmcost_fee order.  Entries past the fees this
// decoder knows (from a newer shim) are checked and dropped.
static int
dec_fees(dec *d, mcur *c, const mobj *o, uint64_t fees[])
{
	uint64_t v = 0;
	int rv;

	if (o->type != MT_ARRAY) {
		return (fail(d, LLMCOST_EPROTO,
		    "fees: want array of unsigned integers, got %s",
		    type_name(o)));
	}
	if (o->size > LLMCOST_PROTO_MAX_FEES) {
		return (fail(d, LLMCOST_ETOOBIG,
		    "fees: %" PRIu32 " entries exceeds %u", o->size,
		    LLMCOST_PROTO_MAX_FEES));
	}
	for (uint32_t i = 0; i < o->size; i++) {
		mobj e;

		mo_read(c, &e);
		d->idx = (int32_t) i;
		d->isep = '[';
		rv = get_uint(d, &e, "fees", &v);
		d->idx = -1;
		if (rv != 0) {
			return (rv);
		}
		if (i < LLMCOST_FEE_COUNT) {
			fees[i] = v;
		}
	}
	return (0);
}

// kv has room for `room` entries.
static int
dec_meta(dec *d, mcur *c, const mobj *o, llmcost_proto_kv *kv, size_t room,
    uint32_t *np)
{
	char q[LLMCOST_MAX_KEY * 4 + 3];
	int rv;

	if (o->type != MT_MAP) {
		return (fail(d, LLMCOST_EPROTO, "meta: want map, got %s",
		    type_name(o)));
	}
	if (o->size > LLMCOST_MAX_META) {
		return (fail(d, LLMCOST_ETOOBIG,
		    "meta: %" PRIu32 " entries exceeds %d", o->size,
		    LLMCOST_MAX_META));
	}
	if (o->size > room) {
		return (fail(d, LLMCOST_EPROTO, "meta: internal error"));
	}
	for (uint32_t i = 0; i < o->size; i++) {
		mobj k, vo;
		const mobj *v = &vo;

		// The usual pair of a TBATCH, two indices below 128, read at
		// once when the loop below would accept it; else by the loop
		// (with its reason).
		if (d->tab != NULL && c->end - c->p >= 2 && c->p[0] < d->ntab
		    && c->p[1] < d->ntab && c->p[0] <= 0x7f
		    && c->p[1] <= 0x7f) {
			const llmcost_proto_str *tk = &d->tab[c->p[0]];
			const llmcost_proto_str *tv = &d->tab[c->p[1]];
			uint32_t j = 0;
			if (tk->len >= 1 && tk->len <= LLMCOST_MAX_KEY
			    && tv->len <= LLMCOST_MAX_VALUE) {
				while (j < i && !str_eq(&kv[j].key, tk)) {
					j++;
				}
			}
			if (j == i && tk->len >= 1
			    && tk->len <= LLMCOST_MAX_KEY
			    && tv->len <= LLMCOST_MAX_VALUE) {
				kv[i].key = *tk;
				kv[i].val = *tv;
				c->p += 2;
				continue;
			}
		}
		mo_read(c, &k);
		d->idx = (int32_t) i;
		d->isep = ' ';
		rv = get_str(
		    d, &k, "meta: key", 1, LLMCOST_MAX_KEY, &kv[i].key);
		d->idx = -1;
		if (rv != 0) {
			return (rv);
		}
		// The quoted key is only built for a reason.
#define QKEY() quote(q, sizeof(q), kv[i].key.ptr, kv[i].key.len)
		for (uint32_t j = 0; j < i; j++) {
			if (str_eq(&kv[j].key, &kv[i].key)) {
				QKEY();
				return (fail(d, LLMCOST_EPROTO,
				    "meta: duplicate key %s", q));
			}
		}
		mo_read(c, &vo);
		if (v->type == MT_UINT && d->tab != NULL) {
			// An index into a TBATCH's table (checked UTF-8).
			if (v->u64 >= d->ntab) {
				QKEY();
				return (fail(d, LLMCOST_EPROTO,
				    "meta: value of key %s: string %" PRIu64
				    " out of range (%" PRIu32 " strings)",
				    q, v->u64, d->ntab));
			}
			kv[i].val = d->tab[v->u64];
			if (kv[i].val.len > LLMCOST_MAX_VALUE) {
				QKEY();
				return (fail(d, LLMCOST_ETOOBIG,
				    "meta: value of key %s: %" PRIu32
				    " bytes exceeds %d",
				    q, kv[i].val.len, LLMCOST_MAX_VALUE));
			}
			continue;
		}
		if (v->type != MT_STR) {
			QKEY();
			return (fail(d, LLMCOST_EPROTO,
			    "meta: value of key %s: want str, got %s", q,
			    type_name(v)));
		}
		if (v->size > LLMCOST_MAX_VALUE) {
			QKEY();
			return (fail(d, LLMCOST_ETOOBIG,
			    "meta: value of key %s: %" PRIu32
			    " bytes exceeds %d",
			    q, v->size, LLMCOST_MAX_VALUE));
		}
		if (!utf8_ok(v->ptr, v->size)) {
			QKEY();
			return (fail(d, LLMCOST_EPROTO,
			    "meta: invalid UTF-8 in value of key %s", q));
		}
#undef QKEY
		kv[i].val.ptr = v->ptr;
		kv[i].val.len = v->size;
	}
	*np = o->size;
	return (0);
}

// tags has room for `room` entries.
static int
dec_tags(dec *d, mcur *c, const mobj *o, llmcost_proto_str *tags, size_t room,
    uint32_t *np)
{
	int rv;

	if (o->type != MT_ARRAY) {
		return (fail(d, LLMCOST_EPROTO, "tags: want array, got %s",
		    type_name(o)));
	}
	if (o->size > LLMCOST_MAX_TAGS) {
		return (fail(d, LLMCOST_ETOOBIG,
		    "tags: %" PRIu32 " entries exceeds %d", o->size,
		    LLMCOST_MAX_TAGS));
	}
	if (o->size > room) {
		return (fail(d, LLMCOST_EPROTO, "tags: internal error"));
	}
	for (uint32_t i = 0; i < o->size; i++) {
		mobj e;

		// A TBATCH's index below 128 to a tag of the right size.
		if (d->tab != NULL && c->p < c->end && *c->p <= 0x7f
		    && *c->p < d->ntab && d->tab[*c->p].len >= 1
		    && d->tab[*c->p].len <= LLMCOST_MAX_TAG) {
			tags[i] = d->tab[*c->p++];
			continue;
		}
		mo_read(c, &e);
		d->idx = (int32_t) i;
		d->isep = '[';
		rv = get_str(d, &e, "tags", 1, LLMCOST_MAX_TAG, &tags[i]);
		d->idx = -1;
		if (rv != 0) {
			return (rv);
		}
	}
	*np = o->size;
	return (0);
}

// Where one record's meta pairs and tags go: room for kv_room and
// tag_room entries, what dec_batch's block has left.
typedef struct rec_ctx {
	llmcost_proto_record *r;
	llmcost_proto_kv *kv;
	size_t kv_room;
	llmcost_proto_str *tags;
	size_t tag_room;
} rec_ctx;

// One decoder per record key, dec_rk_<field>, named after its row in
// LLMCOST_PROTO_RKEY_MAP (dec_record's switch is generated from the
// table): adding a row without its decoder does not build.

// The field name of each key, for reasons.
static const char *const rk_names[LLMCOST_RK_COUNT] = {
#define RK_NAME(name, num, id, req, type) [num] = #id,
	LLMCOST_PROTO_RKEY_MAP(RK_NAME)
#undef RK_NAME
};

// The keys a record must carry, as a bit mask.
#define RK_REQ_BIT(name, num, id, req, type) | ((uint64_t) (req) << (num))

#define RK_REQUIRED (0 LLMCOST_PROTO_RKEY_MAP(RK_REQ_BIT))

static int
dec_rk_run_id(dec *d, mcur *c, const mobj *o, rec_ctx *rc)
{
	(void) c;
	static const uint8_t zero[16] = { 0 };
	int rv;

	if ((rv = get_id(d, o, "run_id", rc->r->run_id)) != 0) {
		return (rv);
	}
	if (memcmp(rc->r->run_id, zero, sizeof(zero)) == 0) {
		return (fail(d, LLMCOST_EPROTO, "run_id: all zero"));
	}
	return (0);
}

static int
dec_rk_start_ns(dec *d, mcur *c, const mobj *o, rec_ctx *rc)
{
	(void) c;
	int rv;

	if ((rv = get_uint(d, o, "start_ns", &rc->r->start_ns)) != 0) {
		return (rv);
	}
	if (rc->r->start_ns == 0) {
		return (fail(d, LLMCOST_EPROTO, "start_ns: zero"));
	}
	return (0);
}

static int
dec_rk_duration_ns(dec *d, mcur *c, const mobj *o, rec_ctx *rc)
{
	(void) c;
	return (get_uint(d, o, "duration_ns", &rc->r->duration_ns));
}

static int
dec_rk_provider(dec *d, mcur *c, const mobj *o, rec_ctx *rc)
{
	(void) c;
	return (get_str(
	    d, o, "provider", 1, LLMCOST_MAX_PROVIDER, &rc->r->provider));
}

static int
dec_rk_model(dec *d, mcur *c, const mobj *o, rec_ctx *rc)
{
	(void) c;
	return (get_str(d, o, "model", 1, LLMCOST_MAX_MODEL, &rc->r->model));
}

static int
dec_rk_usage(dec *d, mcur *c, const mobj *o, rec_ctx *rc)
{
	return (dec_usage(d, c, o, rc->r));
}

static int
dec_rk_status(dec *d, mcur *c, const mobj *o, rec_ctx *rc)
{
	(void) c;
	uint64_t v = 0;
	int rv;

	if ((rv = get_range(d, o, "status", LLMCOST_STATUS_ABORTED, &v))
	    != 0) {
		return (rv);
	}
	rc->r->status = (uint32_t) v;
	return (0);
}

static int
dec_rk_meta(dec *d, mcur *c, const mobj *o, rec_ctx *rc)
{
	llmcost_proto_record *r = rc->r;
	int rv;

	if ((rv = dec_meta(d, c, o, rc->kv, rc->kv_room, &r->n_meta)) != 0) {
		return (rv);
	}
	r->meta = r->n_meta > 0 ? rc->kv : NULL;
	return (0);
}

static int
dec_rk_tags(dec *d, mcur *c, const mobj *o, rec_ctx *rc)
{
	llmcost_proto_record *r = rc->r;
	int rv;

	if ((rv = dec_tags(d, c, o, rc->tags, rc->tag_room, &r->n_tags))
	    != 0) {
		return (rv);
	}
	r->tags = r->n_tags > 0 ? rc->tags : NULL;
	return (0);
}

static int
dec_rk_fees(dec *d, mcur *c, const mobj *o, rec_ctx *rc)
{
	return (dec_fees(d, c, o, rc->r->fees));
}

static int
dec_rk_provider_cost(dec *d, mcur *c, const mobj *o, rec_ctx *rc)
{
	(void) c;
	int rv;

	if ((rv = get_range(
	         d, o, "provider_cost", INT64_MAX, &rc->r->provider_cost_pusd))
	    != 0) {
		return (rv);
	}
	rc->r->has_provider_cost = 1;
	return (0);
}

static int
dec_rk_usage_flags(dec *d, mcur *c, const mobj *o, rec_ctx *rc)
{
	(void) c;
	uint64_t v = 0;
	int rv;

	if ((rv = get_range(d, o, "usage_flags", UINT32_MAX, &v)) != 0) {
		return (rv);
	}
	rc->r->usage_flags = (uint32_t) v;
	return (0);
}

static int
dec_rk_trace_id(dec *d, mcur *c, const mobj *o, rec_ctx *rc)
{
	(void) c;
	return (get_id(d, o, "trace_id", rc->r->trace_id));
}

static int
dec_rk_parent_run_id(dec *d, mcur *c, const mobj *o, rec_ctx *rc)
{
	(void) c;
	return (get_id(d, o, "parent_run_id", rc->r->parent_run_id));
}

static int
dec_rk_dotted_order(dec *d, mcur *c, const mobj *o, rec_ctx *rc)
{
	(void) c;
	return (get_str(d, o, "dotted_order", 1, LLMCOST_PROTO_MAX_DOTTED,
	    &rc->r->dotted_order));
}

static int
dec_rk_service_tier(dec *d, mcur *c, const mobj *o, rec_ctx *rc)
{
	(void) c;
	uint64_t v = 0;
	int rv;

	if ((rv = get_range(d, o, "service_tier", UINT8_MAX, &v)) != 0) {
		return (rv);
	}
	rc->r->service_tier = (uint32_t) v;
	return (0);
}

static int
dec_rk_platform(dec *d, mcur *c, const mobj *o, rec_ctx *rc)
{
	(void) c;
	int rv;

	if ((rv = get_str(
	         d, o, "platform", 1, LLMCOST_MAX_PLATFORM, &rc->r->platform))
	    != 0) {
		return (rv);
	}
	if (llmcost__platform_check(rc->r->platform.ptr, rc->r->platform.len)
	    != 0) {
		return (fail(d, LLMCOST_EPROTO,
		    "%s: not only a-z, 0-9, '-' and '_'", lbl(d, "platform")));
	}
	return (0);
}

// ---- the record's usual form, read at once ----
//
// A record as every encoder writes it starts with keys 0 to 5 in order,
// each value in its usual form: run id as bin 8, times and counts as
// unsigned integers, provider and model as a str (or, in a TBATCH, an
// index), usage as an array; then status, meta and tags (keys 6 to 8)
// when it has them, as small maps and arrays.  rec_fast reads such a
// record straight from the bytes, checking each length against the end
// and each value as its field decoder would, and hands whatever follows
// to dec_record's loop, with the keys it read.  Anything else (another
// order, another form, a value a field decoder refuses) is left to the
// loop: before key 6 the loop decodes the whole record, with its reason
// if it fails; from key 6 on, from the first key rec_fast did not read.
// So the result is the loop's on every input.  Only the one pass uses
// it: the two steps decode every record by the loop alone.

// The unsigned integer at *pp (a positive fixint, uint 8 to 64) when it
// is all there: 1, *v and *pp moved past it; else 0.
static inline __attribute__((always_inline)) int
fast_uint(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
	const uint8_t *p = *pp;

	if (p >= end) {
		return (0);
	}
	uint8_t b = *p;
	if (b <= 0x7f) {
		*v = b;
		*pp = p + 1;
		return (1);
	}
	if (b >= 0xcc && b <= 0xcf) {
		size_t w = (size_t) 1 << (b - 0xcc);
		if ((size_t) (end - p) > w) {
			*v = read_be(p + 1, w);
			*pp = p + 1 + w;
			return (1);
		}
	}
	return (0);
}

// Whether a[0..n) and b[0..n) are the same bytes: the short spans of
// rec_fast's memos, a word at a time (the last word overlapping).
static inline __attribute__((always_inline)) int
span_eq(const uint8_t *a, const uint8_t *b, uint32_t n)
{
	uint64_t x, y, acc = 0;
	uint32_t i = 0;

	if (n < 8) {
		if (n >= 4) {
			uint32_t u, v;
			memcpy(&u, a, 4);
			memcpy(&v, b, 4);
			acc = u ^ v;
			memcpy(&u, a + n - 4, 4);
			memcpy(&v, b + n - 4, 4);
			return ((acc | (u ^ v)) == 0);
		}
		for (; i < n; i++) {
			acc |= (uint64_t) (a[i] ^ b[i]);
		}
		return (acc == 0);
	}
	for (; i + 8 <= n; i += 8) {
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		acc |= x ^ y;
	}
	memcpy(&x, a + n - 8, 8);
	memcpy(&y, b + n - 8, 8);
	return ((acc | (x ^ y)) == 0);
}

// A TBATCH's string table as rec_fast reads it: copied out of the dec
// once per record, so that the compiler keeps it in registers (stores
// into the record could otherwise alias d and reload it per string).
// tab NULL: a BATCH, strings are inline.
typedef struct fast_tab {
	const llmcost_proto_str *tab;
	uint32_t ntab;
} fast_tab;

// fast_uint for an unsigned integer at *pp with at least 9 bytes of the
// message from *pp on (the most an unsigned integer takes), so that the
// end need not be checked: a uint 8 to 64 is one 8-byte load, shifted
// down to its width.
static inline __attribute__((always_inline)) int
count9(const uint8_t **pp, uint64_t *v)
{
	const uint8_t *p = *pp;
	uint8_t b = *p;

	if (b <= 0x7f) {
		*v = b; // most counts of a call
		*pp = p + 1;
		return (1);
	}
	if (b < 0xcc || b > 0xcf) {
		return (0);
	}
	unsigned w = 1u << (b - 0xcc); // 1, 2, 4 or 8 bytes
	*v = read_be(p + 1, 8) >> (64 - 8 * w);
	*pp = p + 1 + w;
	return (1);
}

// A string of min to max bytes at *pp, as get_str (and dec_meta for a
// value) accepts it: a str (fixstr or str 8, valid UTF-8) or, in a
// TBATCH, an index into the table.
static inline __attribute__((always_inline)) int
fast_str(fast_tab t, const uint8_t **pp, const uint8_t *end, uint32_t min,
    uint32_t max, llmcost_proto_str *s)
{
	const uint8_t *p = *pp;
	uint64_t x;
	uint32_t n;

	if (p >= end) {
		return (0);
	}
	if (*p <= 0x7f && t.tab != NULL) {
		// A TBATCH's index below 128, the usual string there; its
		// length in [min, max] as one unsigned comparison.
		if (*p >= t.ntab || t.tab[*p].len - min > max - min) {
			return (0);
		}
		*s = t.tab[*p];
		*pp = p + 1;
		return (1);
	}
	if ((*p & 0xe0u) == 0xa0u) {
		n = *p & 0x1fu;
		p++;
	} else if (*p == 0xd9 && end - p >= 2) {
		n = p[1];
		p += 2;
	} else {
		if (t.tab == NULL || !fast_uint(&p, end, &x) || x >= t.ntab
		    || t.tab[x].len < min || t.tab[x].len > max) {
			return (0);
		}
		*s = t.tab[x];
		*pp = p;
		return (1);
	}
	if (n < min || n > max || (size_t) (end - p) < n
	    || !utf8_ok((const char *) p, n)) {
		return (0);
	}
	s->ptr = (const char *) p;
	s->len = n;
	*pp = p + n;
	return (1);
}

// Meta (key 7) at *pp, a fixmap whose pairs all pass (dec_meta's checks,
// no duplicate key), into rc's room.
static inline __attribute__((always_inline)) int
fast_meta(fast_tab t, const uint8_t **pp, const uint8_t *end, rec_ctx *rc)
{
	const uint8_t *p = *pp;
	llmcost_proto_kv *kv = rc->kv;

	if (p >= end || (*p & 0xf0u) != 0x80u) {
		return (0);
	}
	uint32_t n = *p++ & 0x0fu;
	_Static_assert(LLMCOST_MAX_META >= 15, "a fixmap is within the cap");
	if (n > rc->kv_room) {
		return (0);
	}
	for (uint32_t i = 0; i < n; i++) {
		if (!fast_str(t, &p, end, 1, LLMCOST_MAX_KEY, &kv[i].key)) {
			return (0);
		}
		for (uint32_t j = 0; j < i; j++) {
			if (str_eq(&kv[j].key, &kv[i].key)) {
				return (0);
			}
		}
		if (!fast_str(t, &p, end, 0, LLMCOST_MAX_VALUE, &kv[i].val)) {
			return (0);
		}
	}
	rc->r->n_meta = n;
	rc->r->meta = n > 0 ? kv : NULL;
	*pp = p;
	return (1);
}

// Tags (key 8) at *pp, a fixarray whose tags all pass, into rc's room.
static inline __attribute__((always_inline)) int
fast_tags(fast_tab t, const uint8_t **pp, const uint8_t *end, rec_ctx *rc)
{
	const uint8_t *p = *pp;

	if (p >= end || (*p & 0xf0u) != 0x90u) {
		return (0);
	}
	uint32_t n = *p++ & 0x0fu;
	_Static_assert(LLMCOST_MAX_TAGS >= 15, "a fixarray is within the cap");
	if (n > rc->tag_room) {
		return (0);
	}
	for (uint32_t i = 0; i < n; i++) {
		if (!fast_str(t, &p, end, 1, LLMCOST_MAX_TAG, &rc->tags[i])) {
			return (0);
		}
	}
	rc->r->n_tags = n;
	rc->r->tags = n > 0 ? rc->tags : NULL;
	*pp = p;
	return (1);
}

// Reads the record map at the cursor as far as it has its usual form
// (above): keys 0 to 5, then 6 to 8 as far as they come in order.
// Returns the number of entries read, with the map's entries in *n, the
// keys read in *seen and the cursor at the next key; or 0, the cursor
// where it was.  Fields are written into rc's record (zeroed) as they
// are read; when the loop decodes the record again after a 0, it
// writes each of them again.  Keys 6 to 8 that repeat a memo's bytes
// (see DESIGN) are taken from the memo's record, whose meta and tags the
// record then shares; keys 6 to 8 read otherwise make this record a
// memo, in the slot filled longest ago.
static uint32_t
rec_fast(dec *d, mcur *c, rec_ctx *rc, uint32_t *n, uint64_t *seen)
{
	static const uint8_t zero[16] = { 0 };
	const uint8_t *p = c->p, *q, *end = c->end;
	llmcost_proto_record *r = rc->r;
	const fast_tab t = { d->tab, d->ntab };
	uint64_t m, v, sn;
	uint32_t i;

	// A fixmap of 6 or more entries, key 0 and a bin 8 of 16 bytes.
	if (end - p < 21 || (p[0] & 0xf0u) != 0x80u || (p[0] & 0x0fu) < 6
	    || p[1] != LLMCOST_RK_RUN_ID || p[2] != 0xc4 || p[3] != 16
	    || memcmp(p + 4, zero, 16) == 0) {
		return (0);
	}
	*n = p[0] & 0x0fu;
	memcpy(r->run_id, p + 4, 16);
	p += 20;
	if (*p++ != LLMCOST_RK_START_NS || !fast_uint(&p, end, &r->start_ns)
	    || r->start_ns == 0 || p >= end || *p++ != LLMCOST_RK_DURATION_NS
	    || !fast_uint(&p, end, &r->duration_ns)) {
		return (0);
	}
	// Keys 3 and 4 as the last record that read them wrote them, byte
	// for byte: its provider and model.
	const llmcost_proto_record *pm = d->pm_r;
	if (pm != NULL && (size_t) (end - p) >= d->pm_len
	    && span_eq(p, d->pm_p, d->pm_len)) {
		r->provider = pm->provider;
		r->model = pm->model;
		p += d->pm_len;
	} else {
		const uint8_t *p3 = p;
		if (p >= end || *p++ != LLMCOST_RK_PROVIDER
		    || !fast_str(
		        t, &p, end, 1, LLMCOST_MAX_PROVIDER, &r->provider)
		    || p >= end || *p++ != LLMCOST_RK_MODEL
		    || !fast_str(
		        t, &p, end, 1, LLMCOST_MAX_MODEL, &r->model)) {
			return (0);
		}
		// Kept before the record has passed whole: a record that
		// fails abandons the one pass (the two steps decode the
		// message again), so no later record reads a refused one.
		d->pm_r = r;
		d->pm_p = p3;
		d->pm_len = (uint32_t) (p - p3);
	}
	if (end - p < 2 || *p++ != LLMCOST_RK_USAGE) {
		return (0);
	}
	// Usage: a fixarray, or an array 16, of 10 to 64 counts.
	if ((*p & 0xf0u) == 0x90u) {
		m = *p++ & 0x0fu;
	} else if (*p == 0xdc && end - p >= 3) {
		m = read_be(p + 1, 2);
		p += 3;
	} else {
		return (0);
	}
	if (m < LLMCOST_PROTO_USAGE_MIN || m > LLMCOST_PROTO_MAX_BUCKETS) {
		return (0);
	}
	if ((size_t) (end - p) >= m * 9) {
		// Room for m counts of the largest size (9 bytes): none can
		// run past the end, and each is read unchecked.  The usual
		// array (one count per bucket) is read unrolled.
		uint32_t k = 0;
		if (m == LLMCOST_BUCKET_COUNT) {
#pragma GCC unroll 16
			for (k = 0; k < LLMCOST_BUCKET_COUNT; k++) {
				if (!count9(&p, &r->usage[k])) {
					return (0);
				}
			}
		}
		uint32_t nb = m < LLMCOST_BUCKET_COUNT ? (uint32_t) m
		                                       : LLMCOST_BUCKET_COUNT;
		for (; k < nb; k++) {
			if (!count9(&p, &r->usage[k])) {
				return (0);
			}
		}
		for (; k < m; k++) {
			if (!count9(&p, &v)) {
				return (0);
			}
			if (k - LLMCOST_BUCKET_COUNT
			    < LLMCOST_PROTO_USAGE_EXTRA) {
				r->usage_extra[k - LLMCOST_BUCKET_COUNT] = v;
			}
		}
	} else {
		for (uint32_t k = 0; k < m; k++) {
			if (p < end && *p <= 0x7f) {
				v = *p++; // most counts of a call
			} else if (!fast_uint(&p, end, &v)) {
				return (0);
			}
			if (k < LLMCOST_BUCKET_COUNT) {
				r->usage[k] = v;
			} else if (k - LLMCOST_BUCKET_COUNT
			    < LLMCOST_PROTO_USAGE_EXTRA) {
				r->usage_extra[k - LLMCOST_BUCKET_COUNT] = v;
			}
		}
	}
	r->n_usage_extra = m > LLMCOST_BUCKET_COUNT
	    ? (uint32_t) m - LLMCOST_BUCKET_COUNT
	    : 0;
	i = 6;
	sn = (UINT64_C(1) << 6) - 1; // keys 0 to 5
	for (uint32_t j = 0; j < DEC_MEMO_SLOTS; j++) {
		uint32_t k = (d->memo_last + j) & (DEC_MEMO_SLOTS - 1);
		const llmcost_proto_record *mr = d->memo[k].r;
		uint64_t msn = d->memo[k].sn;
		if (mr == NULL || *n != d->memo[k].n
		    || (size_t) (end - p) < d->memo[k].len
		    || mr->n_meta > rc->kv_room || mr->n_tags > rc->tag_room
		    || !span_eq(p, d->memo[k].p, d->memo[k].len)) {
			continue;
		}
		// The bytes of keys 6 to 8 of the memo's record, and as many
		// entries: the same fields, read by the same checks.  The
		// record shares the memo record's meta and tags (the same
		// strings, in the same order).
		if ((msn & (UINT64_C(1) << LLMCOST_RK_STATUS)) != 0) {
			r->status = mr->status;
		}
		if ((msn & (UINT64_C(1) << LLMCOST_RK_META)) != 0) {
			r->n_meta = mr->n_meta;
			r->meta = mr->meta;
		}
		if ((msn & (UINT64_C(1) << LLMCOST_RK_TAGS)) != 0) {
			r->n_tags = mr->n_tags;
			r->tags = mr->tags;
		}
		d->memo_last = k;
		*seen = msn;
		c->p = p + d->memo[k].len;
		return (d->memo[k].i);
	}
	// Keys 6 to 8, each only if it comes next and passes whole.
	const uint8_t *p6 = p;
	q = p;
	if (i < *n && q < end && *q == LLMCOST_RK_STATUS) {
		q++;
		if (fast_uint(&q, end, &v) && v <= LLMCOST_STATUS_ABORTED) {
			r->status = (uint32_t) v;
			sn |= UINT64_C(1) << LLMCOST_RK_STATUS;
			p = q;
			i++;
		}
	}
	q = p;
	if (i < *n && q < end && *q == LLMCOST_RK_META) {
		q++;
		if (fast_meta(t, &q, end, rc)) {
			sn |= UINT64_C(1) << LLMCOST_RK_META;
			p = q;
			i++;
		}
	}
	q = p;
	if (i < *n && q < end && *q == LLMCOST_RK_TAGS) {
		q++;
		if (fast_tags(t, &q, end, rc)) {
			sn |= UINT64_C(1) << LLMCOST_RK_TAGS;
			p = q;
			i++;
		}
	}
	if (p > p6) {
		// As for keys 3 and 4 above: a failure later in this record
		// abandons the one pass, memo and all.
		uint32_t k = d->memo_next;
		d->memo_next = (k + 1) & (DEC_MEMO_SLOTS - 1);
		d->memo_last = k;
		d->memo[k].r = r;
		d->memo[k].p = p6;
		d->memo[k].len = (uint32_t) (p - p6);
		d->memo[k].n = *n;
		d->memo[k].i = i;
		d->memo[k].sn = sn;
	}
	*seen = sn;
	c->p = p;
	return (i);
}

static int
dec_record(dec *d, mcur *c, rec_ctx *rc)
{
	uint64_t seen = 0;
	uint32_t i = 0;
	mobj o;
	int rv;

	// The two steps leave rec_fast out, so that comparing them with the
	// one pass (the fuzz target, codec_test) checks it on every input.
	if (!c->fast || (i = rec_fast(d, c, rc, &o.size, &seen)) == 0) {
		mo_read(c, &o);
		if (o.type != MT_MAP) {
			return (fail(d, LLMCOST_EPROTO, "want map, got %s",
			    type_name(&o)));
		}
		if (o.size > RK_MAX_ENTRIES) {
			return (fail(d, LLMCOST_ETOOBIG,
			    "%" PRIu32 " keys exceeds %d", o.size,
			    RK_MAX_ENTRIES));
		}
	}
	for (; i < o.size; i++) {
		mobj k, v;
		uint64_t key;

		mo_read(c, &k);
		if (k.type == MT_NINT) {
			return (fail(d, LLMCOST_EPROTO,
			    "negative key %" PRId64, k.i64));
		}
		if (k.type != MT_UINT) {
			return (fail(d, LLMCOST_EPROTO,
			    "key: want unsigned integer, got %s",
			    type_name(&k)));
		}
		key = k.u64;
		if (key > LLMCOST_RK_RESERVED_MAX) {
			return (fail(
			    d, LLMCOST_EPROTO, "unknown key %" PRIu64, key));
		}
		if ((seen & (UINT64_C(1) << key)) != 0) {
			return (fail(d, LLMCOST_EPROTO,
			    "duplicate key %" PRIu64 " (%s)", key,
			    key < LLMCOST_RK_COUNT ? rk_names[key]
			                           : "reserved"));
		}
		seen |= UINT64_C(1) << key;
		mo_read(c, &v);
		// Keys past the table are reserved for v1 extensions and
		// skipped: the skim has already checked that the value is
		// well formed.  A field decoder reads the elements of a
		// container it accepts; anything it leaves is skipped.
		if (key < LLMCOST_RK_COUNT) {
			const uint8_t *at = c->p;
			// Each key's decoder, by a switch generated from the
			// table, so that the compiler may inline them here.
			switch (key) {
#define RK_CASE(name, num, id, req, type)                                     \
	case num:                                                             \
		rv = dec_rk_##id(d, c, &v, rc);                               \
		break;
				LLMCOST_PROTO_RKEY_MAP(RK_CASE)
#undef RK_CASE
			default: // none: key < LLMCOST_RK_COUNT
				rv = LLMCOST_EPROTO;
				break;
			}
			if (rv != 0) {
				return (rv);
			}
			if (c->p == at
			    && (v.type == MT_ARRAY || v.type == MT_MAP)) {
				mo_skip(c, &v);
			}
		} else {
			mo_skip(c, &v);
		}
	}
	if ((seen & RK_REQUIRED) != RK_REQUIRED) {
		for (unsigned k = 0; k < LLMCOST_RK_COUNT; k++) {
			if ((RK_REQUIRED & ~seen & (UINT64_C(1) << k)) != 0) {
				return (fail(d, LLMCOST_EPROTO,
				    "missing %s (key %u)", rk_names[k], k));
			}
		}
	}
	return (0);
}

// How many meta entries and tags the counting pass reserves for one
// record, read at the cursor (which it moves past the record): the first
// key 7 and key 8 only (a duplicate key fails later), each capped at its
// limit (more fails later), so the block stays small whatever the input
// announces.
// The cursor is at element 2 of a message array of n elements; reads
// elements 2 to 5.
static int dec_records(dec *d, mcur *c, llmcost_proto_batch *b, void **privp);

static int
dec_batch_v1(dec *d, mcur *c, uint32_t n, llmcost_proto_batch *b, void **privp)
{
	mobj e;
	int rv;

	if (n < 6) {
		return (fail(d, LLMCOST_EPROTO,
		    "batch: %" PRIu32 " elements, want at least 6", n));
	}
	mo_read(c, &e);
	if ((rv = get_id(d, &e, "batch: client_id", b->client_id)) != 0) {
		return (rv);
	}
	mo_read(c, &e);
	if ((rv = get_uint(d, &e, "batch: seq", &b->seq)) != 0) {
		return (rv);
	}
	mo_read(c, &e);
	if ((rv = get_uint(d, &e, "batch: dropped", &b->dropped)) != 0) {
		return (rv);
	}
	return (dec_records(d, c, b, privp));
}

// The records array of a batch, at the cursor.
static int
dec_records(dec *d, mcur *c, llmcost_proto_batch *b, void **privp)
{
	llmcost_proto_record *r;
	llmcost_proto_kv *kv;
	llmcost_proto_str *tags;
	size_t n_meta = 0;
	size_t n_tags = 0;
	size_t used_meta = 0;
	size_t used_tags = 0;
	size_t sz;
	mobj e;
	int rv;

	mo_read(c, &e);
	if (e.type != MT_ARRAY) {
		return (fail(d, LLMCOST_EPROTO,
		    "batch: records: want array, got %s", type_name(&e)));
	}
	if (e.size > LLMCOST_PROTO_MAX_RECORDS) {
		return (fail(d, LLMCOST_ETOOBIG,
		    "batch: %" PRIu32 " records exceeds %u", e.size,
		    LLMCOST_PROTO_MAX_RECORDS));
	}
	if (e.size == 0) {
		return (0);
	}
	if (c->fast && e.size > (size_t) (c->end - c->p)) {
		// Each record takes at least a byte: a count the skim would
		// have refused; the two steps give the reason.
		c->bad = 1;
		return (LLMCOST_EPROTO);
	}
	// Room for meta pairs and tags: no more than the message's map pairs
	// and array elements (counted by the skim), nor than the records'
	// caps.  Unused room is never written, so it costs no page.
	n_meta = (size_t) e.size * LLMCOST_MAX_META;
	if (d->map_pairs < n_meta) {
		n_meta = (size_t) d->map_pairs;
	}
	n_tags = (size_t) e.size * LLMCOST_MAX_TAGS;
	if (d->arr_elems < n_tags) {
		n_tags = (size_t) d->arr_elems;
	}
	// At most 4096 records of 32 + 32 entries: no overflow possible.
	sz = e.size * sizeof(*r) + n_meta * sizeof(*kv)
	    + n_tags * sizeof(*tags);
	if ((r = malloc(sz)) == NULL) {
		return (
		    fail(d, LLMCOST_ENOMEM, "out of memory (%zu bytes)", sz));
	}
	*privp = r;
	kv = (llmcost_proto_kv *) (void *) (r + e.size);
	tags = (llmcost_proto_str *) (void *) (kv + n_meta);

	for (uint32_t i = 0; i < e.size; i++) {
		rec_ctx rc = { &r[i], kv + used_meta, n_meta - used_meta,
			tags + used_tags, n_tags - used_tags };

		d->rec = (int32_t) i;
		// Zeroed here, not all at once: the record is then in the
		// cache when its fields are written.
		memset(&r[i], 0, sizeof(r[i]));
		if ((rv = dec_record(d, c, &rc)) != 0) {
			return (rv);
		}
		used_meta += r[i].n_meta;
		used_tags += r[i].n_tags;
	}
	d->rec = -1;
	b->records = r;
	b->n_records = e.size;
	return (0);
}

// A batch, and its element 6 (exporter_lost, an extension) when it is
// an unsigned integer; anything else there is skipped like any trailing
// element (proto/README.md).
static int
dec_batch(dec *d, mcur *c, uint32_t n, llmcost_proto_batch *b, void **privp)
{
	int rv = dec_batch_v1(d, c, n, b, privp);
	mobj e;

	b->exporter_lost = 0;
	if (rv != 0 || n < 7) {
		return (rv);
	}
	mo_read(c, &e);
	if (e.type == MT_UINT) {
		b->exporter_lost = e.u64;
	} else if (c->fast) {
		// Anything else is skipped once the skim has checked it.
		c->bad = 1;
		return (LLMCOST_EPROTO);
	}
	return (0);
}

// A TBATCH: [1, 9, client_id, seq, dropped, exporter_lost, strings,
// records].  The table's strings are checked (type, size, UTF-8) once
// here; a record's string given as an index is checked against the
// table's size and the field's limits where it is used.
static int
dec_tbatch(dec *d, mcur *c, uint32_t n, llmcost_proto_batch *b, void **privp)
{
	llmcost_proto_str *tab = NULL;
	mobj e;
	int rv;

	if (n < 8) {
		return (fail(d, LLMCOST_EPROTO,
		    "tbatch: %" PRIu32 " elements, want at least 8", n));
	}
	if (c->fast && n > 8) {
		c->bad = 1; // trailing elements: skipped by the two steps
		return (LLMCOST_EPROTO);
	}
	mo_read(c, &e);
	if ((rv = get_id(d, &e, "tbatch: client_id", b->client_id)) != 0) {
		return (rv);
	}
	mo_read(c, &e);
	if ((rv = get_uint(d, &e, "tbatch: seq", &b->seq)) != 0) {
		return (rv);
	}
	mo_read(c, &e);
	if ((rv = get_uint(d, &e, "tbatch: dropped", &b->dropped)) != 0) {
		return (rv);
	}
	mo_read(c, &e);
	if ((rv = get_uint(d, &e, "tbatch: exporter_lost", &b->exporter_lost))
	    != 0) {
		return (rv);
	}
	mo_read(c, &e);
	if (e.type != MT_ARRAY) {
		return (fail(d, LLMCOST_EPROTO,
		    "tbatch: strings: want array, got %s", type_name(&e)));
	}
	if (e.size > LLMCOST_PROTO_MAX_STRTAB) {
		return (fail(d, LLMCOST_ETOOBIG,
		    "tbatch: %" PRIu32 " strings exceeds %u", e.size,
		    LLMCOST_PROTO_MAX_STRTAB));
	}
	if (c->fast && e.size > (size_t) (c->end - c->p)) {
		c->bad = 1; // each string takes a byte at least
		return (LLMCOST_EPROTO);
	}
	if (e.size > 0 && (tab = malloc(e.size * sizeof(*tab))) == NULL) {
		return (fail(d, LLMCOST_ENOMEM, "out of memory"));
	}
	for (uint32_t i = 0; i < e.size; i++) {
		mobj s;

		mo_read(c, &s);
		d->idx = (int32_t) i;
		d->isep = '[';
		rv = get_str(d, &s, "tbatch: strings", 0,
		    LLMCOST_PROTO_MAX_STRTAB_STR, &tab[i]);
		d->idx = -1;
		if (rv != 0) {
			free(tab);
			return (rv);
		}
	}
	d->tab = tab;
	d->ntab = e.size;
	rv = dec_records(d, c, b, privp);
	d->tab = NULL;
	d->ntab = 0;
	free(tab);
	return (rv);
}

// The cursor is at element 2 of a message array of n elements.
static int
dec_ack(dec *d, mcur *c, uint32_t n, llmcost_proto_ack *ack)
{
	uint64_t v = 0;
	mobj e;
	int rv;

	if (n < 8) {
		return (fail(d, LLMCOST_EPROTO,
		    "ack: %" PRIu32 " elements, want at least 8", n));
	}
	mo_read(c, &e);
	if ((rv = get_id(d, &e, "ack: client_id", ack->client_id)) != 0) {
		return (rv);
	}
	mo_read(c, &e);
	if ((rv = get_uint(d, &e, "ack: seq", &ack->seq)) != 0) {
		return (rv);
	}
	mo_read(c, &e);
	if ((rv = get_range(d, &e, "ack: status", LLMCOST_ACK_RETRY, &v))
	    != 0) {
		return (rv);
	}
	ack->status = (uint32_t) v;
	mo_read(c, &e);
	if ((rv = get_range(d, &e, "ack: stored", UINT32_MAX, &v)) != 0) {
		return (rv);
	}
	ack->stored = (uint32_t) v;
	mo_read(c, &e);
	if ((rv = get_range(d, &e, "ack: duplicates", UINT32_MAX, &v)) != 0) {
		return (rv);
	}
	ack->duplicates = (uint32_t) v;
	mo_read(c, &e);
	if ((rv = get_str(d, &e, "ack: reason", 0, LLMCOST_PROTO_MAX_REASON,
	         &ack->reason))
	    != 0) {
		return (rv);
	}
	// Element 8, features (an extension): anything but an unsigned
	// integer is skipped like any trailing element; unknown bits too.
	ack->features = 0;
	if (n >= 9) {
		mo_read(c, &e);
		if (e.type == MT_UINT) {
			ack->features
			    = (uint32_t) (e.u64 & LLMCOST_PROTO_FEAT_TBATCH);
		}
	}
	return (0);
}

// The cursor is at element 2 of a message array of n elements.
static int
dec_stats(dec *d, mcur *c, uint32_t n, llmcost_proto_stats *s)
{
	char q[LLMCOST_PROTO_MAX_STAT_NAME * 4 + 3];
	mobj m;
	int rv;

	if (n < 3) {
		return (fail(d, LLMCOST_EPROTO,
		    "stats: %" PRIu32 " elements, want at least 3", n));
	}
	mo_read(c, &m);
	if (m.type != MT_MAP) {
		return (fail(d, LLMCOST_EPROTO, "stats: want map, got %s",
		    type_name(&m)));
	}
	if (m.size > LLMCOST_PROTO_MAX_STATS) {
		return (fail(d, LLMCOST_ETOOBIG,
		    "stats: %" PRIu32 " entries exceeds %u", m.size,
		    LLMCOST_PROTO_MAX_STATS));
	}
	for (uint32_t i = 0; i < m.size; i++) {
		mobj k, v;

		mo_read(c, &k);
		d->idx = (int32_t) i;
		d->isep = ' ';
		rv = get_str(d, &k, "stats: name", 1,
		    LLMCOST_PROTO_MAX_STAT_NAME, &s->names[i]);
		d->idx = -1;
		if (rv != 0) {
			return (rv);
		}
		quote(q, sizeof(q), s->names[i].ptr, s->names[i].len);
		for (uint32_t j = 0; j < i; j++) {
			if (str_eq(&s->names[j], &s->names[i])) {
				return (fail(d, LLMCOST_EPROTO,
				    "stats: duplicate name %s", q));
			}
		}
		mo_read(c, &v);
		if (v.type != MT_UINT) {
			return (fail(d, LLMCOST_EPROTO,
			    "stats: value of %s: want unsigned integer, got "
			    "%s",
			    q, type_name(&v)));
		}
		s->values[i] = v.u64;
	}
	s->n = m.size;
	return (0);
}

// The cursor is at element 2 of a message array of n elements.  The
// guards are allocated once, sized by the announced count (capped).
static int
dec_budget_state(
    dec *d, mcur *c, uint32_t n, llmcost_proto_budget_state *s, void **priv)
{
	llmcost_proto_guard *gs;
	mobj e, g, t;
	uint64_t v = 0;
	int rv;

	if (n < 4) {
		return (fail(d, LLMCOST_EPROTO,
		    "budget_state: %" PRIu32 " elements, want at least 4", n));
	}
	mo_read(c, &e);
	if ((rv = get_uint(d, &e, "budget_state: generation", &s->generation))
	    != 0) {
		return (rv);
	}
	mo_read(c, &e);
	if (e.type != MT_ARRAY) {
		return (fail(d, LLMCOST_EPROTO,
		    "budget_state: guards: want array, got %s",
		    type_name(&e)));
	}
	if (e.size > LLMCOST_PROTO_MAX_GUARDS) {
		return (fail(d, LLMCOST_ETOOBIG,
		    "budget_state: %" PRIu32 " guards exceeds %u", e.size,
		    LLMCOST_PROTO_MAX_GUARDS));
	}
	uint32_t ng = e.size;
	if (ng == 0) {
		return (0);
	}
	if ((gs = calloc(ng, sizeof(*gs))) == NULL) {
		return (fail(d, LLMCOST_ENOMEM, "out of memory"));
	}
	*priv = gs;
	for (uint32_t i = 0; i < ng; i++) {
		mo_read(c, &g);
		if (g.type != MT_ARRAY) {
			return (fail(d, LLMCOST_EPROTO,
			    "budget_state: guard %" PRIu32
			    ": want array, got %s",
			    i, type_name(&g)));
		}
		if (g.size > LLMCOST_PROTO_MAX_GUARD_CONDS) {
			return (fail(d, LLMCOST_ETOOBIG,
			    "budget_state: guard %" PRIu32 ": %" PRIu32
			    " conditions exceeds %u",
			    i, g.size, LLMCOST_PROTO_MAX_GUARD_CONDS));
		}
		for (uint32_t j = 0; j < g.size; j++) {
			llmcost_proto_guard_cond *cd = &gs[i].conds[j];
			mo_read(c, &t);
			if (t.type != MT_ARRAY || t.size != 3) {
				return (fail(d, LLMCOST_EPROTO,
				    "budget_state: guard %" PRIu32
				    " condition %" PRIu32
				    ": want [dim, key, value]",
				    i, j));
			}
			mo_read(c, &e);
			if ((rv = get_range(d, &e, "budget_state: dim",
			         LLMCOST_GUARD_META, &v))
			    != 0) {
				return (rv);
			}
			cd->dim = (uint32_t) v;
			mo_read(c, &e);
			if ((rv = get_str(d, &e, "budget_state: key", 0,
			         LLMCOST_PROTO_MAX_GUARD_KEY, &cd->key))
			    != 0) {
				return (rv);
			}
			if ((cd->dim == LLMCOST_GUARD_META)
			    != (cd->key.len > 0)) {
				return (fail(d, LLMCOST_EPROTO,
				    "budget_state: a metadata condition needs "
				    "a key, and only it"));
			}
			mo_read(c, &e);
			if ((rv = get_str(d, &e, "budget_state: value", 1,
			         LLMCOST_PROTO_MAX_GUARD_VAL, &cd->val))
			    != 0) {
				return (rv);
			}
		}
		gs[i].n_conds = g.size;
	}
	s->guards = gs;
	s->n = ng;
	return (0);
}

// ---- QUERY and QUERY_REPLY ----

static int
get_bool(dec *d, const mobj *o, const char *what, uint32_t *v)
{
	if (o->type != MT_BOOL) {
		return (fail(d, LLMCOST_EPROTO, "%s: want boolean, got %s",
		    lbl(d, what), type_name(o)));
	}
	*v = (uint32_t) o->u64;
	return (0);
}

// A signed integer within [min, max].
static int
get_int(dec *d, const mobj *o, const char *what, int64_t min, int64_t max,
    int64_t *v)
{
	if (o->type == MT_UINT) {
		if (o->u64 > (uint64_t) max) {
			return (fail(d, LLMCOST_EPROTO,
			    "%s: %" PRIu64 " out of range", lbl(d, what),
			    o->u64));
		}
		*v = (int64_t) o->u64;
		return (0);
	}
	if (o->type == MT_NINT) {
		if (o->i64 < min) {
			return (fail(d, LLMCOST_EPROTO,
			    "%s: %" PRId64 " out of range", lbl(d, what),
			    o->i64));
		}
		*v = o->i64;
		return (0);
	}
	return (fail(d, LLMCOST_EPROTO, "%s: want integer, got %s",
	    lbl(d, what), type_name(o)));
}

// A 128-bit amount: bin of 16 bytes, big-endian two's complement.
static int
get_i128(dec *d, const mobj *o, const char *what, llmcost_proto_i128 *v)
{
	unsigned __int128 u = 0;

	if (o->type != MT_BIN || o->size != 16) {
		return (
		    fail(d, LLMCOST_EPROTO, "%s: want bin of 16 bytes, got %s",
		        lbl(d, what), type_name(o)));
	}
	for (int i = 0; i < 16; i++) {
		u = (u << 8) | (uint8_t) o->ptr[i];
	}
	*v = (llmcost_proto_i128) u;
	return (0);
}

// An array header of at least min and at most max elements.
static int
get_array(dec *d, const mobj *o, const char *what, uint32_t min, uint32_t max)
{
	if (o->type != MT_ARRAY) {
		return (fail(d, LLMCOST_EPROTO, "%s: want array, got %s",
		    lbl(d, what), type_name(o)));
	}
	if (o->size > max) {
		return (fail(d, LLMCOST_ETOOBIG,
		    "%s: %" PRIu32 " elements exceeds %" PRIu32, lbl(d, what),
		    o->size, max));
	}
	if (o->size < min) {
		return (fail(d, LLMCOST_EPROTO,
		    "%s: %" PRIu32 " elements, want at least %" PRIu32,
		    lbl(d, what), o->size, min));
	}
	return (0);
}

// The cursor is at element 2 of a message array of n elements.
static int
dec_query(dec *d, mcur *c, uint32_t n, llmcost_proto_query *q)
{
	uint64_t v = 0;
	mobj e;
	int rv;

	if (n < 11) {
		return (fail(d, LLMCOST_EPROTO,
		    "query: %" PRIu32 " elements, want at least 11", n));
	}
	mo_read(c, &e);
	if ((rv = get_array(d, &e, "query: by", 0, LLMCOST_PROTO_MAX_QKEYS))
	    != 0) {
		return (rv);
	}
	q->n_by = e.size;
	for (uint32_t i = 0; i < q->n_by; i++) {
		mobj k;
		mo_read(c, &k);
		d->idx = (int32_t) i;
		d->isep = '[';
		rv = get_str(
		    d, &k, "query: by", 1, LLMCOST_PROTO_MAX_QKEY, &q->by[i]);
		d->idx = -1;
		if (rv != 0) {
			return (rv);
		}
	}
	mo_read(c, &e);
	if ((rv = get_array(
	         d, &e, "query: where", 0, LLMCOST_PROTO_MAX_QFILTERS))
	    != 0) {
		return (rv);
	}
	q->n_where = e.size;
	for (uint32_t i = 0; i < q->n_where; i++) {
		llmcost_proto_qfilter *f = &q->where[i];
		mobj a, k;
		mo_read(c, &a);
		d->idx = (int32_t) i;
		d->isep = '[';
		if (a.type != MT_ARRAY || a.size != 3) {
			rv = fail(d, LLMCOST_EPROTO,
			    "%s: want array of 3 (key, negate, value)",
			    lbl(d, "query: where"));
		}
		if (rv == 0) {
			mo_read(c, &k);
			rv = get_str(d, &k, "query: where", 1,
			    LLMCOST_PROTO_MAX_QKEY, &f->key);
		}
		if (rv == 0) {
			mo_read(c, &k);
			rv = get_bool(d, &k, "query: where", &f->negate);
		}
		if (rv == 0) {
			mo_read(c, &k);
			rv = get_str(d, &k, "query: where", 0,
			    LLMCOST_PROTO_MAX_QVALUE, &f->value);
		}
		d->idx = -1;
		if (rv != 0) {
			return (rv);
		}
	}
	mo_read(c, &e);
	if ((rv = get_uint(d, &e, "query: from_ns", &q->from_ns)) != 0) {
		return (rv);
	}
	mo_read(c, &e);
	if ((rv = get_uint(d, &e, "query: to_ns", &q->to_ns)) != 0) {
		return (rv);
	}
	mo_read(c, &e);
	if ((rv = get_range(d, &e, "query: every", 3, &v)) != 0) {
		return (rv);
	}
	q->every = (uint32_t) v;
	mo_read(c, &e);
	if ((rv = get_str(
	         d, &e, "query: tz", 0, LLMCOST_PROTO_MAX_QTZ, &q->tz))
	    != 0) {
		return (rv);
	}
	mo_read(c, &e);
	if ((rv = get_range(d, &e, "query: top", UINT32_MAX, &v)) != 0) {
		return (rv);
	}
	q->top = (uint32_t) v;
	mo_read(c, &e);
	if ((rv = get_range(d, &e, "query: max_groups", UINT32_MAX, &v))
	    != 0) {
		return (rv);
	}
	q->max_groups = (uint32_t) v;
	mo_read(c, &e);
	if ((rv = get_range(d, &e, "query: flags", 1, &v)) != 0) {
		return (rv);
	}
	q->flags = (uint32_t) v;
	return (0);
}

// The sums of a QUERY_REPLY row or total, in wire order: counts,
// 128-bit amounts and arrays of counts of which the first `keep` are
// kept (usage as a record's, 10 to 64 entries; fees, up to 64).
enum { QS_UINT, QS_I128, QS_UINTS };
static const struct qsum_field {
	uint8_t kind;
	size_t off;              // in llmcost_proto_qsums
	uint32_t min, max, keep; // QS_UINTS only
} qsum_fields[] = {
	{ QS_UINT, offsetof(llmcost_proto_qsums, calls), 0, 0, 0 },
	{ QS_UINT, offsetof(llmcost_proto_qsums, unpriced_calls), 0, 0, 0 },
	{ QS_UINT, offsetof(llmcost_proto_qsums, error_calls), 0, 0, 0 },
	{ QS_UINTS, offsetof(llmcost_proto_qsums, usage),
	    LLMCOST_PROTO_USAGE_MIN, LLMCOST_PROTO_MAX_BUCKETS,
	    LLMCOST_BUCKET_COUNT },
	{ QS_UINT, offsetof(llmcost_proto_qsums, input_tokens), 0, 0, 0 },
	{ QS_UINT, offsetof(llmcost_proto_qsums, output_tokens), 0, 0, 0 },
	{ QS_I128, offsetof(llmcost_proto_qsums, cost_pusd), 0, 0, 0 },
	{ QS_UINTS, offsetof(llmcost_proto_qsums, fees), 0,
	    LLMCOST_PROTO_MAX_FEES, LLMCOST_FEE_COUNT },
	{ QS_I128, offsetof(llmcost_proto_qsums, fee_cost_pusd), 0, 0, 0 },
	{ QS_UINT, offsetof(llmcost_proto_qsums, provider_cost_calls), 0, 0,
	    0 },
	{ QS_I128, offsetof(llmcost_proto_qsums, provider_cost_pusd), 0, 0,
	    0 },
	{ QS_UINT, offsetof(llmcost_proto_qsums, usage_missing_calls), 0, 0,
	    0 },
	{ QS_UINT, offsetof(llmcost_proto_qsums, usage_partial_calls), 0, 0,
	    0 },
};
#define QSUM_FIELDS (sizeof(qsum_fields) / sizeof(qsum_fields[0]))

// Sums: an array of at least QSUM_FIELDS elements (more are skipped).
static int
dec_qsums(dec *d, mcur *c, const char *what, llmcost_proto_qsums *s)
{
	mobj a, e;
	int rv = 0;

	mo_read(c, &a);
	if ((rv = get_array(d, &a, what, QSUM_FIELDS, UINT32_MAX)) != 0) {
		return (rv);
	}
	for (size_t f = 0; f < QSUM_FIELDS && rv == 0; f++) {
		const struct qsum_field *qf = &qsum_fields[f];
		void *p = (char *) s + qf->off;
		mo_read(c, &e);
		switch (qf->kind) {
		case QS_UINT:
			rv = get_uint(d, &e, what, p);
			break;
		case QS_I128:
			rv = get_i128(d, &e, what, p);
			break;
		default:
			rv = get_array(d, &e, what, qf->min, qf->max);
			for (uint32_t i = 0; rv == 0 && i < e.size; i++) {
				mobj x;
				uint64_t v = 0;
				mo_read(c, &x);
				rv = get_uint(d, &x, what, &v);
				if (rv == 0 && i < qf->keep) {
					((uint64_t *) p)[i] = v;
				}
			}
			break;
		}
	}
	for (uint32_t i = QSUM_FIELDS; rv == 0 && i < a.size; i++) {
		mo_read(c, &e);
		mo_skip(c, &e);
	}
	return (rv);
}

static int
dec_qrow(dec *d, mcur *c, llmcost_proto_qrow *r)
{
	int64_t v[4];
	mobj a, e;
	int rv;

	mo_read(c, &a);
	if ((rv = get_array(d, &a, "query_reply: row", 7, UINT32_MAX)) != 0) {
		return (rv);
	}
	for (int i = 0; i < 4; i++) {
		mo_read(c, &e);
		rv = i < 2
		    ? get_int(
		        d, &e, "query_reply: row", INT64_MIN, INT64_MAX, &v[i])
		    : get_int(d, &e, "query_reply: row", -86400, 86400, &v[i]);
		if (rv != 0) {
			return (rv);
		}
	}
	r->bucket = v[0];
	r->bucket_end = v[1];
	r->bucket_off = (int32_t) v[2];
	r->bucket_end_off = (int32_t) v[3];
	mo_read(c, &e);
	if ((rv = get_bool(d, &e, "query_reply: row", &r->other)) != 0) {
		return (rv);
	}
	mo_read(c, &e);
	if ((rv = get_array(
	         d, &e, "query_reply: row", 0, LLMCOST_PROTO_MAX_QKEYS))
	    != 0) {
		return (rv);
	}
	r->n_keys = e.size;
	for (uint32_t i = 0; i < r->n_keys; i++) {
		mobj k;
		mo_read(c, &k);
		if (k.type == MT_NIL) {
			continue;
		}
		if ((rv = get_str(d, &k, "query_reply: row", 0,
		         LLMCOST_PROTO_MAX_QSTR, &r->keys[i]))
		    != 0) {
			return (rv);
		}
		r->has_key[i] = 1;
	}
	if ((rv = dec_qsums(d, c, "query_reply: row", &r->sum)) != 0) {
		return (rv);
	}
	for (uint32_t i = 7; i < a.size; i++) {
		mo_read(c, &e);
		mo_skip(c, &e);
	}
	return (0);
}

// The cursor is at element 2 of a message array of n elements.  Rows
// and unpriced models live in one block (*privp), bounded by their caps.
static int
dec_qreply(dec *d, mcur *c, uint32_t n, llmcost_proto_qreply *r, void **privp)
{
	uint64_t v = 0;
	int64_t iv = 0;
	mobj e;
	int rv;

	if (n < 14) {
		return (fail(d, LLMCOST_EPROTO,
		    "query_reply: %" PRIu32 " elements, want at least 14", n));
	}
	mo_read(c, &e);
	if ((rv = get_range(d, &e, "query_reply: status", 255, &v)) != 0) {
		return (rv);
	}
	r->status = (uint32_t) v;
	mo_read(c, &e);
	if ((rv = get_str(d, &e, "query_reply: reason", 0,
	         LLMCOST_PROTO_MAX_REASON, &r->reason))
	    != 0) {
		return (rv);
	}
	mo_read(c, &e);
	if ((rv = get_int(d, &e, "query_reply: from_off", -86400, 86400, &iv))
	    != 0) {
		return (rv);
	}
	r->from_off = (int32_t) iv;
	mo_read(c, &e);
	if ((rv = get_int(d, &e, "query_reply: to_off", -86400, 86400, &iv))
	    != 0) {
		return (rv);
	}
	r->to_off = (int32_t) iv;
	mo_read(c, &e);
	if ((rv = get_bool(d, &e, "query_reply: capped", &r->capped)) != 0) {
		return (rv);
	}
	uint64_t *const u64s[]
	    = { &r->groups, &r->dropped, &r->runs_scanned, &r->rollups_read };
	static const char *const names[] = { "query_reply: groups",
		"query_reply: dropped", "query_reply: runs_scanned",
		"query_reply: rollups_read" };
	for (int i = 0; i < 4; i++) {
		mo_read(c, &e);
		if ((rv = get_uint(d, &e, names[i], u64s[i])) != 0) {
			return (rv);
		}
	}
	if ((rv = dec_qsums(d, c, "query_reply: total", &r->total)) != 0) {
		return (rv);
	}
	mobj rows;
	mo_read(c, &rows);
	if ((rv = get_array(
	         d, &rows, "query_reply: rows", 0, LLMCOST_PROTO_MAX_QROWS))
	    != 0) {
		return (rv);
	}
	if (r->status != 0 && rows.size != 0) {
		return (fail(d, LLMCOST_EPROTO,
		    "query_reply: rows with a failed status"));
	}
	size_t rsz = (size_t) rows.size * sizeof(llmcost_proto_qrow);
	char *blk = calloc(1,
	    rsz
	        + LLMCOST_PROTO_MAX_QUNPRICED
	            * sizeof(llmcost_proto_qunpriced));
	if (blk == NULL) {
		return (fail(d, LLMCOST_ENOMEM, "query_reply: out of memory"));
	}
	*privp = blk;
	llmcost_proto_qrow *rw = (llmcost_proto_qrow *) (void *) blk;
	llmcost_proto_qunpriced *up
	    = (llmcost_proto_qunpriced *) (void *) (blk + rsz);
	for (uint32_t i = 0; i < rows.size; i++) {
		d->idx = (int32_t) i;
		d->isep = ' ';
		rv = dec_qrow(d, c, &rw[i]);
		d->idx = -1;
		if (rv != 0) {
			return (rv);
		}
	}
	r->rows = rw;
	r->n_rows = rows.size;
	mo_read(c, &e);
	if ((rv = get_array(d, &e, "query_reply: unpriced", 0,
	         LLMCOST_PROTO_MAX_QUNPRICED))
	    != 0) {
		return (rv);
	}
	for (uint32_t i = 0; i < e.size; i++) {
		mobj a, x;
		mo_read(c, &a);
		d->idx = (int32_t) i;
		d->isep = ' ';
		if (a.type != MT_ARRAY || a.size != 3) {
			rv = fail(d, LLMCOST_EPROTO,
			    "%s: want array of 3 (provider, model, calls)",
			    lbl(d, "query_reply: unpriced"));
		}
		if (rv == 0) {
			mo_read(c, &x);
			rv = get_str(d, &x, "query_reply: unpriced", 0,
			    LLMCOST_MAX_PROVIDER, &up[i].provider);
		}
		if (rv == 0) {
			mo_read(c, &x);
			rv = get_str(d, &x, "query_reply: unpriced", 0,
			    LLMCOST_MAX_MODEL, &up[i].model);
		}
		if (rv == 0) {
			mo_read(c, &x);
			rv = get_uint(
			    d, &x, "query_reply: unpriced", &up[i].calls);
		}
		d->idx = -1;
		if (rv != 0) {
			return (rv);
		}
	}
	r->unpriced = up;
	r->n_unpriced = e.size;
	if (n < 15) {
		return (0); // a collector from before price_tables
	}
	// 14: price_tables, [flags, [version str, ...]].
	mobj pt, x;
	uint64_t fl = 0;
	mo_read(c, &pt);
	if (pt.type != MT_ARRAY || pt.size < 2) {
		return (fail(d, LLMCOST_EPROTO,
		    "query_reply: price_tables: want array of 2 (flags, "
		    "versions)"));
	}
	mo_read(c, &x);
	if ((rv = get_range(d, &x, "query_reply: price_tables flags",
	         LLMCOST_PROTO_QPT_UNKNOWN | LLMCOST_PROTO_QPT_MORE, &fl))
	    != 0) {
		return (rv);
	}
	mo_read(c, &x);
	if ((rv = get_array(d, &x, "query_reply: price_tables", 0,
	         LLMCOST_PROTO_MAX_QPTABLES))
	    != 0) {
		return (rv);
	}
	for (uint32_t i = 0; i < x.size; i++) {
		mobj sv;
		mo_read(c, &sv);
		if ((rv = get_str(d, &sv, "query_reply: price_tables", 1,
		         LLMCOST_PROTO_MAX_QPTABLE, &r->ptables[i]))
		    != 0) {
			return (rv);
		}
	}
	r->n_ptables = x.size;
	r->ptables_flags = (uint32_t) fl;
	r->has_ptables = 1;
	return (0);
}

static int
dec_msg(dec *d, mcur *c, llmcost_proto_msg *m)
{
	uint64_t v = 0;
	mobj a, e;
	int rv;

	mo_read(c, &a);
	if (a.type != MT_ARRAY) {
		return (fail(d, LLMCOST_EPROTO, "message: want array, got %s",
		    type_name(&a)));
	}
	if (a.size < 1) {
		return (fail(d, LLMCOST_EPROTO,
		    "message: empty array, want [version, type, ...]"));
	}
	mo_read(c, &e);
	if ((rv = get_uint(d, &e, "version", &v)) != 0) {
		return (rv);
	}
	if (v != LLMCOST_PROTO_VERSION) {
		return (fail(
		    d, LLMCOST_EPROTO, "unsupported version %" PRIu64, v));
	}
	if (a.size < 2) {
		return (fail(d, LLMCOST_EPROTO, "message: missing type"));
	}
	mo_read(c, &e);
	if ((rv = get_uint(d, &e, "type", &v)) != 0) {
		return (rv);
	}
	switch (v) {
	case LLMCOST_MSG_BATCH:
		rv = dec_batch(d, c, a.size, &m->u.batch, &m->priv_);
		break;
	case LLMCOST_MSG_TBATCH:
		rv = dec_tbatch(d, c, a.size, &m->u.batch, &m->priv_);
		break;
	case LLMCOST_MSG_ACK:
		rv = dec_ack(d, c, a.size, &m->u.ack);
		break;
	case LLMCOST_MSG_STATS_REQ:
		rv = 0;
		break;
	case LLMCOST_MSG_STATS:
		rv = dec_stats(d, c, a.size, &m->u.stats);
		break;
	case LLMCOST_MSG_BUDGET_REQ:
		rv = 0;
		break;
	case LLMCOST_MSG_BUDGET_STATE:
		rv = dec_budget_state(
		    d, c, a.size, &m->u.budget_state, &m->priv_);
		break;
	case LLMCOST_MSG_QUERY:
		rv = dec_query(d, c, a.size, &m->u.query);
		break;
	case LLMCOST_MSG_QUERY_REPLY:
		rv = dec_qreply(d, c, a.size, &m->u.qreply, &m->priv_);
		break;
	default:
		return (fail(
		    d, LLMCOST_EPROTO, "unknown message type %" PRIu64, v));
	}
	if (rv == 0) {
		m->type = (uint32_t) v;
	}
	return (rv);
}

// The one pass: a BATCH (the message the collector decodes all day) is
// decoded by the cursor alone, with no skim before it.  The cursor then
// checks every length against the end itself, and anything the skim
// would have had to prove, or a reason would have to describe, is left
// to the two steps: a short or invalid header, a value to skip (a
// reserved key, a trailing element that is not exporter_lost), bytes
// after the message, any failure at all.  So what this pass accepts the
// two steps accept too, with the same result (the fuzz target checks
// both on every input), and every refusal keeps its exact reason.  The
// block for meta pairs and tags is sized from the message's length
// instead of the skim's counts: a pair takes at least 3 bytes, a tag 2.
// Returns 0 with *out decoded, or nonzero with *out zeroed.
static int
decode_batch_one_pass(const uint8_t *buf, size_t len, llmcost_proto_msg *out)
{
	dec d;
	int rv;

	// [1, 1, ...] as a fixarray of 6 or 7: a v1 BATCH; [1, 9, ...] as
	// a fixarray of 8: a TBATCH.
	if (len < 3 || buf[1] != 1
	    || !(((buf[0] == 0x96 || buf[0] == 0x97)
	             && buf[2] == LLMCOST_MSG_BATCH)
	        || (buf[0] == 0x98 && buf[2] == LLMCOST_MSG_TBATCH))) {
		return (LLMCOST_EPROTO);
	}
	memset(out, 0, sizeof(*out));
	d.reason = NULL; // failures are described by the two steps
	d.reasonsz = 0;
	d.rec = -1;
	d.idx = -1;
	// A TBATCH's pair may be two one-byte indices, its tag one.
	d.map_pairs = buf[2] == LLMCOST_MSG_TBATCH ? len / 2 : len / 3;
	d.arr_elems = buf[2] == LLMCOST_MSG_TBATCH ? len : len / 2;
	d.tab = NULL;
	d.ntab = 0;
	memset(d.memo, 0, sizeof(d.memo));
	d.memo_last = 0;
	d.memo_next = 0;
	d.pm_r = NULL;
	mcur c = { buf, buf + len, 1, 0 };
	rv = dec_msg(&d, &c, out);
	if (rv == 0 && !c.bad && c.p == c.end) {
		return (0);
	}
	llmcost_proto_msg_free(out);
	return (rv != 0 ? rv : LLMCOST_EPROTO);
}

int
llmcost_proto_decode(const void *buf, size_t len, llmcost_proto_msg *out,
    char *reason, size_t reasonsz)
{
	if (out != NULL && buf != NULL && len <= LLMCOST_PROTO_MAX_MSG
	    && decode_batch_one_pass(buf, len, out) == 0) {
		if (reason != NULL && reasonsz > 0) {
			reason[0] = '\0';
		}
		return (0);
	}
	return (llmcost__proto_decode_steps(buf, len, out, reason, reasonsz));
}

int
llmcost__proto_decode_steps(const void *buf, size_t len,
    llmcost_proto_msg *out, char *reason, size_t reasonsz)
{
	dec d;
	size_t end = 0;
	int rv;

	d.reason = reason;
	d.reasonsz = reasonsz;
	d.rec = -1;
	d.idx = -1;
	d.map_pairs = 0;
	d.arr_elems = 0;
	d.tab = NULL;
	d.ntab = 0;
	memset(d.memo, 0, sizeof(d.memo));
	d.memo_last = 0;
	d.memo_next = 0;
	d.pm_r = NULL;
	if (reason != NULL && reasonsz > 0) {
		reason[0] = '\0';
	}
	if (out == NULL) {
		return (fail(&d, LLMCOST_EINVAL, "no output message"));
	}
	memset(out, 0, sizeof(*out));
	if (buf == NULL && len > 0) {
		return (fail(&d, LLMCOST_EINVAL, "no input buffer"));
	}
	if (len == 0) {
		return (fail(&d, LLMCOST_EPROTO, "empty message"));
	}
	if (len > LLMCOST_PROTO_MAX_MSG) {
		return (fail(&d, LLMCOST_ETOOBIG,
		    "message of %zu bytes exceeds %u", len,
		    LLMCOST_PROTO_MAX_MSG));
	}
	if ((rv = skim(&d, buf, len, &end)) != 0) {
		return (rv);
	}
	if (end != len) {
		return (
		    fail(&d, LLMCOST_EPROTO, "%zu trailing bytes", len - end));
	}
	mcur c = { (const uint8_t *) buf, (const uint8_t *) buf + len, 0, 0 };
	if ((rv = dec_msg(&d, &c, out)) != 0) {
		llmcost_proto_msg_free(out);
	}
	return (rv);
}

void
llmcost_proto_msg_free(llmcost_proto_msg *m)
{
	if (m == NULL) {
		return;
	}
	free(m->priv_);
	memset(m, 0, sizeof(*m));
}
