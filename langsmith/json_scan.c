// DESIGN: a gate in front of jansson.  jansson builds a tree of about 40
// to 200 bytes per value (an empty object carries a hash table), so a
// 20 MiB body of "[0,0,0,..." would become hundreds of megabytes before
// any check could run.  This scanner walks the text once without
// allocating, counts values (keys included) and nesting, and refuses a
// text over the caps before jansson sees it; what jansson then builds is
// bounded by the count.
//
// It is a tokenizer, not a validator: it tracks strings (with escapes),
// scalars and brackets exactly enough for the counts to be right and for
// a text that is plainly not one JSON value (unbalanced, trailing bytes)
// to be refused with a clear reason.  jansson remains the judge of
// everything else (escapes, UTF-8, numbers).  Nesting is tracked in a bit
// stack (object or array per level), so depth costs 32 bytes of stack.

#include <string.h>

#include "ls_internal.h"

static int
is_ws(char c)
{
	return (c == ' ' || c == '\t' || c == '\n' || c == '\r');
}

static int
is_scalar_char(char c)
{
	return ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
	    || (c >= 'A' && c <= 'Z') || c == '-' || c == '+' || c == '.');
}

int
llmcost_ls_json_scan(const char *s, size_t len, size_t max_values,
    size_t *values, llmcost_ls_error *err)
{
	uint8_t stack[LLMCOST_LS_JSON_DEPTH_MAX / 8] = { 0 }; // 1 bit: object
	size_t depth = 0;
	size_t count = 0;
	size_t i = 0;
	int done = 0; // the top-level value is complete

	if (s == NULL && len > 0) {
		return (llmcost_ls_fail(
		    err, 400, LLMCOST_EPROTO, "JSON: no text"));
	}
	while (i < len) {
		char c = s[i];

		if (is_ws(c) || c == ',' || c == ':') {
			i++;
			continue;
		}
		if (done) {
			return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
			    "JSON: extra bytes after the value at offset %zu",
			    i));
		}
		if (c == '{' || c == '[') {
			if (depth == LLMCOST_LS_JSON_DEPTH_MAX) {
				return (
				    llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
				        "JSON: nested deeper than %d",
				        LLMCOST_LS_JSON_DEPTH_MAX));
			}
			if (c == '{') {
				stack[depth / 8]
				    |= (uint8_t) (1u << (depth % 8));
			} else {
				stack[depth / 8]
				    &= (uint8_t) ~(1u << (depth % 8));
			}
			depth++;
			count++;
			i++;
		} else if (c == '}' || c == ']') {
			int obj;

			if (depth == 0) {
				return (
				    llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
				        "JSON: unbalanced '%c' at offset %zu",
				        c, i));
			}
			depth--;
			obj = (stack[depth / 8] >> (depth % 8)) & 1;
			if (obj != (c == '}')) {
				return (
				    llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
				        "JSON: mismatched '%c' at offset %zu",
				        c, i));
			}
			i++;
			done = depth == 0;
		} else if (c == '"') {
			i++;
			while (i < len && s[i] != '"') {
				i += s[i] == '\\' ? 2 : 1;
			}
			if (i >= len) {
				return (
				    llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
				        "JSON: unterminated string"));
			}
			i++;
			count++;
			done = depth == 0;
		} else if (is_scalar_char(c)) {
			while (i < len && is_scalar_char(s[i])) {
				i++;
			}
			count++;
			done = depth == 0;
		} else {
			return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
			    "JSON: unexpected byte 0x%02x at offset %zu",
			    (unsigned) (unsigned char) c, i));
		}
		if (count > max_values) {
			return (llmcost_ls_fail(err, 413, LLMCOST_ETOOBIG,
			    "JSON: more than %zu values", max_values));
		}
	}
	if (depth > 0) {
		int obj = (stack[(depth - 1) / 8] >> ((depth - 1) % 8)) & 1;

		return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
		    "JSON: truncated (unclosed '%c')", obj ? '{' : '['));
	}
	if (!done) {
		return (llmcost_ls_fail(
		    err, 400, LLMCOST_EPROTO, "JSON: empty text"));
	}
	if (values != NULL) {
		*values = count;
	}
	return (0);
}

int
llmcost__ls_json_load(const char *s, size_t len, size_t *budget,
    const char *what, json_t **out, llmcost_ls_error *err)
{
	size_t values = 0;
	json_error_t jerr;
	json_t *v;
	int rv;

	if ((rv = llmcost_ls_json_scan(s, len, *budget, &values, err)) != 0) {
		char inner[sizeof(err->msg)];

		if (rv == LLMCOST_ETOOBIG) {
			// The budget is what is left of the request's.
			return (llmcost_ls_fail(err, 413, rv,
			    "%s: the request holds more JSON values than its "
			    "limit (json_values_max)",
			    what));
		}
		// Name the part or field in front of the scanner's reason.
		if (err != NULL) {
			memcpy(inner, err->msg, sizeof(inner));
			return (llmcost_ls_fail(
			    err, err->status, rv, "%s: %s", what, inner));
		}
		return (rv);
	}
	*budget -= values;
	v = json_loadb(s, len, JSON_DECODE_ANY, &jerr);
	if (v == NULL) {
		return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
		    "%s: invalid JSON: %s (offset %d)", what, jerr.text,
		    jerr.position));
	}
	*out = v;
	return (0);
}
