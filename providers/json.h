// A push JSON scanner: allocation-free, resumable at any byte, bounded
// depth.  It validates RFC 8259 syntax (strings must be well-formed
// UTF-8) and reports every value with its path, so that the provider
// parsers can pick the few fields they need from a body without
// building a tree.
//
// Paths join object keys with '.' and mark array elements with "[]":
// the value 12 in {"usage":{"x":[{"n":12}]}} has the path "usage.x[].n".
// A key holding an escape, '.', '[', ']' or a control byte cannot be
// matched (its segment is written as one 0x01 byte), and a path longer
// than LLMCOST__JSON_PATH_MAX is marked as overflowing: such values are
// still validated, never matched.
//
// Ownership: the scanner lives in caller storage; the path and value it
// hands to the callback are valid only during the callback.
//
// Threading: a scanner is used by one thread at a time.
#ifndef LLMCOST_PROVIDERS_JSON_H
#define LLMCOST_PROVIDERS_JSON_H

#include <stddef.h>
#include <stdint.h>

#define LLMCOST__JSON_MAX_DEPTH 64  // nesting accepted (ETOOBIG beyond)
#define LLMCOST__JSON_PATH_MAX  160 // bytes of path kept for matching
#define LLMCOST__JSON_VAL_MAX   256 // decoded bytes kept of a string
#define LLMCOST__JSON_NUM_MAX   64  // bytes of a number (ETOOBIG beyond)

// What the callback is told about.
enum llmcost__json_ev {
	LLMCOST__J_NUM = 1, // val holds the number as written
	LLMCOST__J_STR,     // val holds the decoded string (maybe cut)
	LLMCOST__J_TRUE,    // the literal true
	LLMCOST__J_FALSE,   // the literal false
	LLMCOST__J_NULL,    // the literal null
	LLMCOST__J_OBJ,     // an object begins
	LLMCOST__J_ARR,     // an array begins
	LLMCOST__J_END_OBJ, // the object at this path ends
	LLMCOST__J_END_ARR, // the array at this path ends
};

typedef struct llmcost__json llmcost__json;

// Called once per event; a non-zero return stops the scan with that
// error.  depth is the number of containers open around the value (for
// J_OBJ/J_ARR and the matching END events: around the container).
typedef int (*llmcost__json_fn)(void *arg, const llmcost__json *j, int ev);

struct llmcost__json {
	llmcost__json_fn fn;
	void *arg;
	int err;       // sticky: the first error
	uint8_t state; // what the next significant byte may be
	uint8_t tok;   // token in progress
	uint8_t sub;   // state inside the token
	uint8_t depth;
	uint8_t ovf;     // depth whose path segment did not fit; 0: none
	uint8_t key_bad; // the key being read cannot be matched
	uint8_t u8_need; // UTF-8 continuation bytes still expected
	uint8_t u8_lo;   // range of the next continuation byte
	uint8_t u8_hi;
	uint8_t val_trunc; // val holds only the first LLMCOST__JSON_VAL_MAX
	uint16_t uhex;     // \uXXXX being read
	uint16_t hi_surr;  // a high surrogate waiting for its low half
	uint16_t path_len;
	uint16_t val_len;
	uint64_t is_arr; // bit d-1: the container at depth d is an array
	uint8_t path_off[LLMCOST__JSON_MAX_DEPTH + 1];
	char path[LLMCOST__JSON_PATH_MAX];
	char val[LLMCOST__JSON_VAL_MAX + 4];
};

// Prepares j to scan one JSON value.
void llmcost__json_init(llmcost__json *j, llmcost__json_fn fn, void *arg);

// Scans n more bytes.  Returns 0, LLMCOST_EPROTO (not JSON, or bytes
// after the value), LLMCOST_ETOOBIG (over a depth or number cap) or the
// callback's error; errors are sticky.
int llmcost__json_feed(llmcost__json *j, const char *p, size_t n);

// The input ended: returns 0 when exactly one complete value was read,
// LLMCOST_EPROTO when it is missing or cut short (or the sticky error).
int llmcost__json_end(llmcost__json *j);

// 1 once a complete value has been read (only whitespace may follow).
int llmcost__json_done(const llmcost__json *j);

// 1 when nothing but whitespace has been fed since init.
int llmcost__json_empty(const llmcost__json *j);

// 1 if the current path is exactly s (NUL-terminated).
int llmcost__json_path_is(const llmcost__json *j, const char *s);

// A J_NUM value as a non-negative integer.  Returns 0, LLMCOST_EPROTO (a
// fraction, an exponent or a sign) or LLMCOST_ETOOBIG (above UINT64_MAX).
int llmcost__json_u64(const llmcost__json *j, uint64_t *out);

// A J_NUM value in US dollars as pico-USD (10^-12), exact: decimal digits
// and exponent are read as written, never through floating point; digits
// below one pico-USD are rounded half up.  Returns 0, LLMCOST_EPROTO
// (negative) or LLMCOST_ETOOBIG (above INT64_MAX pico-USD).
int llmcost__json_pusd(const llmcost__json *j, int64_t *out);

#endif // LLMCOST_PROVIDERS_JSON_H
