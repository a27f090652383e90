// DESIGN: a zone is its list of transitions (Unix time, then the offset
// in force from it), read once from the system's compiled zone file
// (RFC 8536 TZif; the 64-bit second part when the file has one), and
// answered by binary search.  Local units are found from offsets only:
// the start of a local day is the earliest instant whose local time is
// that day's midnight, found among the offsets in force around it; when
// a clock change skips midnight, the day starts at the change.  The file
// is read through a bounded buffer and every count in it is checked
// against the bytes present before it is used, since a zone name comes
// from a user and a damaged file must not read past its end.  Debian's
// tzdata lists transitions up to 2037; past the last one its offset
// stays in force (the file's POSIX rule for later years is not read).
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmcost.h"
#include "tz.h"

#define TZ_FILE_MAX (256u * 1024u)

struct tz {
	char name[TZ_NAME_MAX + 1];
	uint32_t n;   // transitions
	int64_t *at;  // transition times, ascending
	int32_t *off; // offset from at[i] on
	int32_t off0; // before the first transition
};

static void errf(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
errf(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;
	if (err != NULL && errsz > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
}

static uint32_t
be32(const uint8_t *p)
{
	return (((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16)
	    | ((uint32_t) p[2] << 8) | p[3]);
}

static int64_t
be64(const uint8_t *p)
{
	return ((int64_t) (((uint64_t) be32(p) << 32) | be32(p + 4)));
}

static int
name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > TZ_NAME_MAX || s[0] == '/') {
		return (0);
	}
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		        || (c >= '0' && c <= '9') || c == '/' || c == '_'
		        || c == '-' || c == '+' || c == '.')) {
			return (0);
		}
		// No "." or ".." segment.
		if (c == '.' && (i == 0 || s[i - 1] == '/')) {
			return (0);
		}
	}
	return (1);
}

// Parses one TZif data block of time size tsz (4 or 8) at p[0..len).
// Returns the bytes it spans, or 0 when malformed.
static size_t
parse_block(tz *z, const uint8_t *p, size_t len, size_t tsz, int keep)
{
	if (len < 44 || memcmp(p, "TZif", 4) != 0) {
		return (0);
	}
	uint32_t isut = be32(p + 20), isstd = be32(p + 24);
	uint32_t leap = be32(p + 28), timecnt = be32(p + 32);
	uint32_t typecnt = be32(p + 36), charcnt = be32(p + 40);
	if (timecnt > TZ_MAX_TRANS || typecnt == 0 || typecnt > 256
	    || leap > 1000 || isut > typecnt || isstd > typecnt
	    || charcnt > 4096) {
		return (0);
	}
	size_t need = 44 + (size_t) timecnt * tsz + timecnt
	    + (size_t) typecnt * 6 + charcnt + (size_t) leap * (tsz + 4)
	    + isstd + isut;
	if (need > len) {
		return (0);
	}
	if (!keep) {
		return (need);
	}
	const uint8_t *tt = p + 44, *idx = tt + (size_t) timecnt * tsz;
	const uint8_t *types = idx + timecnt;
	for (uint32_t i = 0; i < timecnt; i++) {
		if (idx[i] >= typecnt) {
			return (0);
		}
	}
	z->at = calloc(timecnt + 1, sizeof(*z->at));
	z->off = calloc(timecnt + 1, sizeof(*z->off));
	if (z->at == NULL || z->off == NULL) {
		return (0);
	}
	z->off0 = (int32_t) be32(types);
	for (uint32_t i = 0; i < timecnt; i++) {
		int64_t at = tsz == 8
		    ? be64(tt + 8 * (size_t) i)
		    : (int64_t) (int32_t) be32(tt + 4 * (size_t) i);
		if (i > 0 && at <= z->at[i - 1]) {
			return (0);
		}
		z->at[i] = at;
		z->off[i] = (int32_t) be32(types + 6 * (size_t) idx[i]);
		if (z->off[i] < -26 * 3600 || z->off[i] > 26 * 3600) {
			return (0);
		}
	}
	z->n = timecnt;
	return (need);
}

int
tz_load(const char *name, tz **out, char *err, size_t errsz)
{
	tz *z;

	if (name == NULL || out == NULL) {
		return (LLMCOST_EINVAL);
	}
	if ((z = calloc(1, sizeof(*z))) == NULL) {
		return (LLMCOST_ENOMEM);
	}
	if (name[0] == '\0' || strcmp(name, "UTC") == 0
	    || strcmp(name, "Z") == 0) {
		snprintf(z->name, sizeof(z->name), "UTC");
		*out = z;
		return (0);
	}
	if (!name_ok(name)) {
		errf(err, errsz,
		    "'%s' is not a time zone name: use an IANA name such as "
		    "Europe/Berlin, or UTC",
		    name);
		free(z);
		return (LLMCOST_EINVAL);
	}
	snprintf(z->name, sizeof(z->name), "%s", name);
	const char *dir = getenv("TZDIR");
	char path[512];
	snprintf(path, sizeof(path), "%s/%s",
	    dir != NULL && dir[0] == '/' ? dir : "/usr/share/zoneinfo", name);
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		errf(err, errsz,
		    "unknown time zone '%s' (no such file in the system's "
		    "zone database: is tzdata installed?)",
		    name);
		free(z);
		return (LLMCOST_ENOTFOUND);
	}
	uint8_t *buf = malloc(TZ_FILE_MAX);
	size_t len = buf != NULL ? fread(buf, 1, TZ_FILE_MAX, f) : 0;
	fclose(f);
	if (buf == NULL) {
		free(z);
		return (LLMCOST_ENOMEM);
	}
	// Version 2 and later repeat the data with 64-bit times after the
	// 32-bit block: use those.
	size_t first = parse_block(z, buf, len, 4, 0);
	size_t ok = 0;
	if (first != 0 && len > 4 && buf[4] >= '2') {
		ok = parse_block(z, buf + first, len - first, 8, 1);
	} else if (first != 0) {
		ok = parse_block(z, buf, len, 4, 1);
	}
	free(buf);
	if (ok == 0) {
		errf(
		    err, errsz, "time zone '%s': not a valid zone file", name);
		tz_free(z);
		return (LLMCOST_EPROTO);
	}
	*out = z;
	return (0);
}

void
tz_free(tz *z)
{
	if (z != NULL) {
		free(z->at);
		free(z->off);
		free(z);
	}
}

const char *
tz_name(const tz *z)
{
	return (z->name);
}

// The index + 1 of the last transition at or before t; 0 when none.
static uint32_t
trans_at(const tz *z, int64_t t)
{
	if (z->n == 0 || t < z->at[0]) {
		return (0);
	}
	uint32_t lo = 0, hi = z->n; // at[lo] <= t < at[hi]
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (z->at[mid] <= t) {
			lo = mid;
		} else {
			hi = mid;
		}
	}
	return (lo + 1);
}

int32_t
tz_offset(const tz *z, int64_t t)
{
	uint32_t i = trans_at(z, t);
	return (i == 0 ? z->off0 : z->off[i - 1]);
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return ((a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q);
}

// The first instant of local day d (days since 1970-01-01, local).
static int64_t
day_start(const tz *z, int64_t d)
{
	int64_t L = d * 86400, best = INT64_MAX;
	// Every offset in force within 27 hours of local midnight is a
	// candidate: u = L - o is the midnight if o is in force at u.
	int64_t lo = L - 27 * 3600, hi = L + 27 * 3600;
	int32_t o = tz_offset(z, lo);
	int64_t u = L - o;
	if (tz_offset(z, u) == o) {
		best = u;
	}
	for (uint32_t i = 0; i < z->n; i++) {
		if (z->at[i] <= lo || z->at[i] > hi) {
			continue;
		}
		o = z->off[i];
		u = L - o;
		if (tz_offset(z, u) == o && u < best) {
			best = u;
		}
	}
	if (best != INT64_MAX) {
		return (best);
	}
	// No instant shows midnight: a change skipped it.  The day starts
	// at the change that jumps past it.
	for (uint32_t i = 0; i < z->n; i++) {
		if (z->at[i] > lo && z->at[i] <= hi && z->at[i] + z->off[i] > L
		    && z->at[i] - 1 + tz_offset(z, z->at[i] - 1) < L) {
			return (z->at[i]);
		}
	}
	return (L - tz_offset(z, L)); // not reached with sane data
}

int64_t
tz_floor(const tz *z, tz_unit u, int64_t t, int64_t *end)
{
	int64_t start, next;

	if (u == TZ_HOUR) {
		// A local hour, cut at any clock change inside it (a change
		// by a whole hour at a whole hour, the usual kind, cuts
		// none).
		uint32_t i = trans_at(z, t);
		int32_t off = i == 0 ? z->off0 : z->off[i - 1];
		int64_t local = t + off;
		start = t - (local - floor_div(local, 3600) * 3600);
		next = start + 3600;
		if (i > 0 && z->at[i - 1] > start) {
			start = z->at[i - 1];
		}
		if (i < z->n && z->at[i] < next) {
			next = z->at[i];
		}
	} else {
		int64_t d = floor_div(t + tz_offset(z, t), 86400);
		int64_t n = 1;
		if (u == TZ_WEEK) {
			// 1970-01-01 was a Thursday: (d + 3) mod 7 is 0 on
			// Mondays.
			d -= (d + 3) - floor_div(d + 3, 7) * 7;
			n = 7;
		}
		start = day_start(z, d);
		// A day whose midnight fell in the repeated hour of a change
		// may begin after t by this search: t then belongs to the
		// day before.
		if (start > t) {
			d -= n;
			start = day_start(z, d);
		}
		next = day_start(z, d + n);
	}
	if (end != NULL) {
		*end = next;
	}
	return (start);
}
