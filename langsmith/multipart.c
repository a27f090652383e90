// DESIGN: the multipart/form-data framing of POST /runs/multipart
// (RFC 2046 and RFC 7578, as LangSmith narrows them: every part states its
// size).  One pass over a complete body, no allocation: parts are spans
// into the body.
//
// Because LangSmith requires each part's size (a Content-Length header or
// the JS SDK's "length=" parameter on the Content-Type), the parser never
// searches a part's data for the boundary: it jumps over the stated
// length and then demands CRLF plus the delimiter right there.  That keeps
// the pass linear whatever the data holds (a boundary-like string inside a
// JSON value cannot split a part), and it is exactly the check that
// catches a wrong length, which a search-based parser would silently
// accept or misframe.  The only search is for the first delimiter, past an
// optional preamble.
//
// Every header line, header count, name and the part count are capped;
// running out of body anywhere is "truncated", never a read past the end.

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ls_internal.h"

int
llmcost_ls_fail(
    llmcost_ls_error *err, int status, int code, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		err->status = status;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		if (err->msg[0] == '\0') {
			snprintf(
			    err->msg, sizeof(err->msg), "invalid request");
		}
	}
	return (code);
}

llmcost_ls_limits
llmcost__ls_limits(const llmcost_ls_limits *lim)
{
	llmcost_ls_limits l = { 0 };

	if (lim != NULL) {
		l = *lim;
	}
	if (l.body_max == 0) {
		l.body_max = LLMCOST_LS_BODY_MAX_DEFAULT;
	}
	if (l.parts_max == 0) {
		l.parts_max = LLMCOST_LS_PARTS_MAX_DEFAULT;
	}
	if (l.ops_max == 0) {
		l.ops_max = LLMCOST_LS_OPS_MAX_DEFAULT;
	}
	if (l.json_values_max == 0) {
		l.json_values_max = LLMCOST_LS_JSON_VALUES_MAX_DEFAULT;
	}
	return (l);
}

int
llmcost__ls_body_size(
    size_t len, const llmcost_ls_limits *l, llmcost_ls_error *err)
{
	if (len > l->body_max) {
		return (llmcost_ls_fail(err, 413, LLMCOST_ETOOBIG,
		    "body of %zu bytes is over the limit of %zu", len,
		    l->body_max));
	}
	return (0);
}

// memmem() is a GNU extension: the first occurrence of needle (nlen > 0)
// in [h, h + hlen), or NULL.
static const char *
find(const char *h, size_t hlen, const char *needle, size_t nlen)
{
	const char *end = h + hlen;

	while ((size_t) (end - h) >= nlen) {
		const char *c
		    = memchr(h, needle[0], (size_t) (end - h) - nlen + 1);

		if (c == NULL) {
			return (NULL);
		}
		if (memcmp(c, needle, nlen) == 0) {
			return (c);
		}
		h = c + 1;
	}
	return (NULL);
}

static int
is_tchar(unsigned char c)
{
	return (isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c)));
}

static int
is_ows(char c)
{
	return (c == ' ' || c == '\t');
}

static int
span_ieq(llmcost_ls_span s, const char *lit)
{
	size_t n = strlen(lit);

	if (s.len != n) {
		return (0);
	}
	for (size_t i = 0; i < n; i++) {
		if (tolower((unsigned char) s.ptr[i]) != lit[i]) {
			return (0);
		}
	}
	return (1);
}

static llmcost_ls_span
trim(const char *p, const char *end)
{
	llmcost_ls_span s;

	while (p < end && is_ows(*p)) {
		p++;
	}
	while (end > p && is_ows(end[-1])) {
		end--;
	}
	s.ptr = p;
	s.len = (size_t) (end - p);
	return (s);
}

// The leading token of a header value (a media type or a disposition
// type), up to the first ';'.  *p is left at that ';' or at end.
static llmcost_ls_span
head_value(const char **p, const char *end)
{
	const char *q = *p;

	while (q < end && *q != ';') {
		q++;
	}
	llmcost_ls_span s = trim(*p, q);
	*p = q;
	return (s);
}

// The next "; name=value" parameter.  Returns 1 with name and value (a
// quoted string's contents, escapes left as they are), 0 at the end, -1
// when malformed.
static int
next_param(const char **pp, const char *end, llmcost_ls_span *name,
    llmcost_ls_span *value)
{
	const char *p = *pp;

	for (;;) {
		while (p < end && is_ows(*p)) {
			p++;
		}
		if (p == end) {
			*pp = p;
			return (0);
		}
		if (*p != ';') {
			return (-1);
		}
		p++;
		while (p < end && is_ows(*p)) {
			p++;
		}
		if (p < end && *p != ';') {
			break;
		}
		// an empty parameter (";;" or a trailing ';') is skipped
	}
	name->ptr = p;
	while (p < end && is_tchar((unsigned char) *p)) {
		p++;
	}
	name->len = (size_t) (p - name->ptr);
	if (name->len == 0 || p == end || *p != '=') {
		return (-1);
	}
	p++;
	if (p < end && *p == '"') {
		p++;
		value->ptr = p;
		while (p < end && *p != '"') {
			if (*p == '\\') {
				p++;
				if (p == end) {
					return (-1);
				}
			}
			p++;
		}
		if (p == end) {
			return (-1);
		}
		value->len = (size_t) (p - value->ptr);
		p++;
	} else {
		value->ptr = p;
		while (p < end && is_tchar((unsigned char) *p)) {
			p++;
		}
		value->len = (size_t) (p - value->ptr);
		if (value->len == 0) {
			return (-1);
		}
	}
	*pp = p;
	return (1);
}

static int
is_bchar(unsigned char c)
{
	return (isalnum(c) || (c != '\0' && strchr("'()+_,-./:=? ", c)));
}

int
llmcost_ls_multipart_boundary(const char *content_type, size_t len,
    llmcost_ls_span *boundary, llmcost_ls_error *err)
{
	const char *p = content_type;
	const char *end;
	llmcost_ls_span type;
	llmcost_ls_span name;
	llmcost_ls_span value;
	llmcost_ls_span found = { NULL, 0 };
	int rv;

	if (content_type == NULL || boundary == NULL) {
		return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
		    "Content-Type: missing (want multipart/form-data)"));
	}
	end = content_type + len;
	type = head_value(&p, end);
	if (!span_ieq(type, "multipart/form-data")) {
		return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
		    "Content-Type: want multipart/form-data, got '%.*s'",
		    (int) (type.len > 64 ? 64 : type.len), type.ptr));
	}
	while ((rv = next_param(&p, end, &name, &value)) == 1) {
		if (!span_ieq(name, "boundary")) {
			continue;
		}
		if (found.ptr != NULL) {
			return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
			    "Content-Type: boundary given twice"));
		}
		found = value;
	}
	if (rv < 0) {
		return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
		    "Content-Type: malformed parameters"));
	}
	if (found.ptr == NULL) {
		return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
		    "Content-Type: multipart/form-data without a boundary"));
	}
	if (found.len == 0 || found.len > LLMCOST_LS_BOUNDARY_MAX
	    || found.ptr[found.len - 1] == ' ') {
		return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
		    "Content-Type: boundary must be 1 to %d characters, not "
		    "ending in a space",
		    LLMCOST_LS_BOUNDARY_MAX));
	}
	for (size_t i = 0; i < found.len; i++) {
		if (!is_bchar((unsigned char) found.ptr[i])) {
			return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
			    "Content-Type: boundary has a character outside "
			    "RFC 2046's set"));
		}
	}
	*boundary = found;
	return (0);
}

// A decimal size: digits only, no sign, at most 19 digits.
static int
parse_size(llmcost_ls_span s, uint64_t *out)
{
	uint64_t v = 0;

	if (s.len == 0 || s.len > 19) {
		return (-1);
	}
	for (size_t i = 0; i < s.len; i++) {
		if (s.ptr[i] < '0' || s.ptr[i] > '9') {
			return (-1);
		}
		v = v * 10 + (uint64_t) (s.ptr[i] - '0');
	}
	*out = v;
	return (0);
}

// Parsing state of one part's headers.
typedef struct part_hdrs {
	int have_disp;
	int have_type;
	int have_clen;
	int have_plen;
	uint64_t clen; // Content-Length header
	uint64_t plen; // length= parameter
	llmcost_ls_part part;
} part_hdrs;

#define PART_LABEL(h)                                                         \
	(int) ((h)->part.name.len > 80 ? 80 : (h)->part.name.len),            \
	    ((h)->part.name.len ? (h)->part.name.ptr : "?")

static int
header_disposition(part_hdrs *h, const char *p, const char *end, size_t index,
    llmcost_ls_error *err)
{
	llmcost_ls_span type = head_value(&p, end);
	llmcost_ls_span name;
	llmcost_ls_span value;
	int rv;

	if (h->have_disp) {
		return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
		    "part %zu: Content-Disposition given twice", index));
	}
	h->have_disp = 1;
	if (!span_ieq(type, "form-data")) {
		return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
		    "part %zu: Content-Disposition must be form-data", index));
	}
	while ((rv = next_param(&p, end, &name, &value)) == 1) {
		if (span_ieq(name, "name")) {
			if (h->part.name.ptr != NULL) {
				return (
				    llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
				        "part %zu: name given twice", index));
			}
			h->part.name = value;
		} else if (span_ieq(name, "filename")) {
			h->part.filename = value;
		}
	}
	if (rv < 0) {
		return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
		    "part %zu: malformed Content-Disposition", index));
	}
	if (h->part.name.ptr == NULL || h->part.name.len == 0) {
		return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
		    "part %zu: Content-Disposition without a name", index));
	}
	if (h->part.name.len > LLMCOST_LS_PART_NAME_MAX) {
		return (llmcost_ls_fail(err, 413, LLMCOST_ETOOBIG,
		    "part %zu: name longer than %d bytes", index,
		    LLMCOST_LS_PART_NAME_MAX));
	}
	return (0);
}

static int
header_type(part_hdrs *h, const char *p, const char *end, size_t index,
    llmcost_ls_error *err)
{
	llmcost_ls_span name;
	llmcost_ls_span value;
	int rv;

	if (h->have_type) {
		return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
		    "part %zu: Content-Type given twice", index));
	}
	h->have_type = 1;
	h->part.content_type = head_value(&p, end);
	if (h->part.content_type.len == 0) {
		return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
		    "part %zu: empty Content-Type", index));
	}
	while ((rv = next_param(&p, end, &name, &value)) == 1) {
		if (!span_ieq(name, "length")) {
			continue;
		}
		if (h->have_plen || parse_size(value, &h->plen) != 0) {
			return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
			    "part %zu: Content-Type length= must be one "
			    "decimal number",
			    index));
		}
		h->have_plen = 1;
	}
	if (rv < 0) {
		return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
		    "part %zu: malformed Content-Type parameters", index));
	}
	return (0);
}

// One header line [p, end) of part index.
static int
header_line(part_hdrs *h, const char *p, const char *end, size_t index,
    llmcost_ls_error *err)
{
	const char *colon = memchr(p, ':', (size_t) (end - p));
	llmcost_ls_span name;
	llmcost_ls_span value;

	if (is_ows(*p)) {
		return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
		    "part %zu: folded header lines are not allowed", index));
	}
	if (colon == NULL || colon == p) {
		return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
		    "part %zu: header line without a name", index));
	}
	name.ptr = p;
	name.len = (size_t) (colon - p);
	for (size_t i = 0; i < name.len; i++) {
		if (!is_tchar((unsigned char) name.ptr[i])) {
			return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
			    "part %zu: bad header name", index));
		}
	}
	if (span_ieq(name, "content-disposition")) {
		return (header_disposition(h, colon + 1, end, index, err));
	}
	if (span_ieq(name, "content-type")) {
		return (header_type(h, colon + 1, end, index, err));
	}
	value = trim(colon + 1, end);
	if (span_ieq(name, "content-length")) {
		if (h->have_clen || parse_size(value, &h->clen) != 0) {
			return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
			    "part %zu: Content-Length must be one decimal "
			    "number",
			    index));
		}
		h->have_clen = 1;
		return (0);
	}
	if (span_ieq(name, "content-encoding")) {
		return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
		    "part %zu: Content-Encoding is not allowed on a part "
		    "(compress the whole request instead)",
		    index));
	}
	if (span_ieq(name, "content-transfer-encoding")
	    && !span_ieq(value, "binary") && !span_ieq(value, "8bit")
	    && !span_ieq(value, "7bit")) {
		return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
		    "part %zu: Content-Transfer-Encoding '%.*s' is not "
		    "supported",
		    index, (int) (value.len > 32 ? 32 : value.len),
		    value.ptr));
	}
	return (0); // other headers are ignored
}

int
llmcost_ls_multipart_parse(const uint8_t *body, size_t len,
    llmcost_ls_span boundary, const llmcost_ls_limits *lim,
    llmcost_ls_part *parts, size_t cap, size_t *n, llmcost_ls_error *err)
{
	const char *b = (const char *) body;
	const char *end = b + len;
	llmcost_ls_limits l = llmcost__ls_limits(lim);
	char delim[2 + LLMCOST_LS_BOUNDARY_MAX + 2]; // "\r\n--" boundary
	size_t dlen;
	const char *p;
	size_t count = 0;

	if ((body == NULL && len > 0) || boundary.ptr == NULL || n == NULL
	    || (parts == NULL && cap > 0)) {
		return (llmcost_ls_fail(
		    err, 400, LLMCOST_EINVAL, "multipart: invalid arguments"));
	}
	*n = 0;
	if (boundary.len == 0 || boundary.len > LLMCOST_LS_BOUNDARY_MAX) {
		return (llmcost_ls_fail(
		    err, 400, LLMCOST_EPROTO, "multipart: bad boundary"));
	}
	if (llmcost__ls_body_size(len, &l, err) != 0) {
		return (LLMCOST_ETOOBIG);
	}
	if (cap > l.parts_max) {
		cap = l.parts_max;
	}
	memcpy(delim, "\r\n--", 4);
	memcpy(delim + 4, boundary.ptr, boundary.len);
	dlen = 4 + boundary.len; // with the leading CRLF

	// The first delimiter may open the body or follow a preamble.
	if (len >= dlen - 2 && memcmp(b, delim + 2, dlen - 2) == 0) {
		p = b + dlen - 2;
	} else {
		const char *q = len >= dlen ? find(b, len, delim, dlen) : NULL;

		if (q == NULL) {
			return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
			    "multipart: no boundary line '--%.*s' in the body",
			    (int) boundary.len, boundary.ptr));
		}
		p = q + dlen;
	}

	for (;;) {
		part_hdrs h;
		uint64_t size;

		// After a delimiter: "--" closes, else padding and CRLF.
		if (end - p >= 2 && p[0] == '-' && p[1] == '-') {
			break; // the epilogue, if any, is ignored
		}
		while (p < end && is_ows(*p)) {
			p++;
		}
		if (end - p < 2) {
			return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
			    "multipart: truncated after boundary %zu (no "
			    "closing '--%.*s--')",
			    count, (int) boundary.len, boundary.ptr));
		}
		if (p[0] != '\r' || p[1] != '\n') {
			return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
			    "multipart: boundary %zu is not followed by CRLF",
			    count));
		}
		p += 2;
		if (count == cap) {
			return (llmcost_ls_fail(err, 413, LLMCOST_ETOOBIG,
			    "multipart: more than %zu parts", cap));
		}

		memset(&h, 0, sizeof(h));
		for (int lines = 0;; lines++) {
			size_t room = (size_t) (end - p);
			const char *eol;
			int rv;

			if (room > LLMCOST_LS_HEADER_LINE_MAX + 2) {
				room = LLMCOST_LS_HEADER_LINE_MAX + 2;
			}
			eol = find(p, room, "\r\n", 2);
			if (eol == NULL) {
				if (room == (size_t) (end - p)) {
					return (llmcost_ls_fail(err, 400,
					    LLMCOST_EPROTO,
					    "multipart: part %zu: truncated "
					    "headers",
					    count));
				}
				return (
				    llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
				        "multipart: part %zu: header line "
				        "longer than %d bytes",
				        count, LLMCOST_LS_HEADER_LINE_MAX));
			}
			if (eol == p) {
				p += 2;
				break; // end of headers
			}
			if (lines == LLMCOST_LS_PART_HEADERS_MAX) {
				return (llmcost_ls_fail(err, 400,
				    LLMCOST_EPROTO,
				    "multipart: part %zu: more than %d header "
				    "lines",
				    count, LLMCOST_LS_PART_HEADERS_MAX));
			}
			if ((rv = header_line(&h, p, eol, count, err)) != 0) {
				return (rv);
			}
			p = eol + 2;
		}
		if (!h.have_disp) {
			return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
			    "multipart: part %zu has no Content-Disposition",
			    count));
		}
		if (!h.have_type) {
			return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
			    "multipart: part '%.*s' has no Content-Type",
			    PART_LABEL(&h)));
		}
		if (!h.have_clen && !h.have_plen) {
			return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
			    "multipart: part '%.*s' states no size (want a "
			    "Content-Length header or a length= parameter)",
			    PART_LABEL(&h)));
		}
		if (h.have_clen && h.have_plen && h.clen != h.plen) {
			return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
			    "multipart: part '%.*s': Content-Length %llu and "
			    "length=%llu disagree",
			    PART_LABEL(&h), (unsigned long long) h.clen,
			    (unsigned long long) h.plen));
		}
		size = h.have_clen ? h.clen : h.plen;
		// The data, then CRLF and the next delimiter, must fit.
		if (size > (uint64_t) (end - p)
		    || (size_t) (end - p) - size < dlen) {
			return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
			    "multipart: part '%.*s': length=%llu runs past "
			    "the "
			    "end of the body",
			    PART_LABEL(&h), (unsigned long long) size));
		}
		if (memcmp(p + size, delim, dlen) != 0) {
			return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
			    "multipart: part '%.*s': length=%llu does not end "
			    "at a boundary",
			    PART_LABEL(&h), (unsigned long long) size));
		}
		h.part.data.ptr = p;
		h.part.data.len = (size_t) size;
		parts[count++] = h.part;
		p += size + dlen;
	}
	*n = count;
	return (0);
}
