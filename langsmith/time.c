// DESIGN: times as LangSmith accepts them, to and from integer
// microseconds since the Unix epoch.  Strings are RFC 3339 (the SDKs send
// "2026-11-26T11:55:52.336001Z"; Python sends "+00:00"; a time without a
// zone is taken as UTC, as LangSmith's read API prints them that way);
// numbers are epoch milliseconds (the JS SDK's end_time).  The calendar
// arithmetic is Howard Hinnant's days-from-civil, exact for every year we
// accept (1970 to 9999), with no dependence on the process's time zone or
// on timegm().
//
// Fractions beyond microseconds are truncated, as LangSmith stores
// microseconds.  Out-of-range fields (month 13, 30 February, 24:00,
// second 60) are refused rather than normalised: a normalised time would
// silently disagree with the dotted_order it is compared against.

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ls_internal.h"

#define US_PER_SEC INT64_C(1000000)
#define US_PER_DAY (INT64_C(86400) * US_PER_SEC)
// 10000-01-01T00:00:00Z, the first time we refuse.
#define US_LIMIT (INT64_C(253402300800) * US_PER_SEC)

static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned) (y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return (era * 146097 + (int64_t) doe - 719468);
}

static void
civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned) (z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;

	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int) ((int64_t) yoe + era * 400 + (*m <= 2));
}

static int
days_in_month(int y, unsigned m)
{
	static const int dm[12]
	    = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return (m == 2 && leap ? 29 : dm[m - 1]);
}

int64_t
llmcost__ls_digits(const char *s, size_t n)
{
	int64_t v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9') {
			return (-1);
		}
		v = v * 10 + (s[i] - '0');
	}
	return (v);
}

int64_t
llmcost__ls_civil_us(int64_t y, int64_t mo, int64_t d, int64_t h, int64_t mi,
    int64_t s, int64_t us)
{
	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1
	    || d > days_in_month((int) y, (unsigned) mo) || h < 0 || h > 23
	    || mi < 0 || mi > 59 || s < 0 || s > 59 || us < 0
	    || us >= US_PER_SEC) {
		return (-1);
	}
	return (days_from_civil(y, (unsigned) mo, (unsigned) d) * US_PER_DAY
	    + ((h * 60 + mi) * 60 + s) * US_PER_SEC + us);
}

int
llmcost_ls_time_parse_str(const char *s, size_t len, int64_t *us)
{
	int64_t y, mo, d, h, mi, sec, frac = 0, t;
	size_t i = 19;
	int64_t off = 0; // zone offset in seconds

	if (s == NULL || us == NULL || len < 19 || len > 64 || s[4] != '-'
	    || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
	    || s[13] != ':' || s[16] != ':') {
		return (LLMCOST_EINVAL);
	}
	y = llmcost__ls_digits(s, 4);
	mo = llmcost__ls_digits(s + 5, 2);
	d = llmcost__ls_digits(s + 8, 2);
	h = llmcost__ls_digits(s + 11, 2);
	mi = llmcost__ls_digits(s + 14, 2);
	sec = llmcost__ls_digits(s + 17, 2);
	if (i < len && s[i] == '.') {
		size_t start = ++i;

		while (i < len && s[i] >= '0' && s[i] <= '9') {
			if (i - start < 6) {
				frac = frac * 10 + (s[i] - '0');
			}
			i++;
		}
		if (i == start) {
			return (LLMCOST_EINVAL);
		}
		for (size_t k = i - start; k < 6; k++) {
			frac *= 10;
		}
	}
	if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i < len && (s[i] == '+' || s[i] == '-')) {
		int64_t oh;
		int64_t om;

		if (len - i != 6 || s[i + 3] != ':') {
			return (LLMCOST_EINVAL);
		}
		oh = llmcost__ls_digits(s + i + 1, 2);
		om = llmcost__ls_digits(s + i + 4, 2);
		if (oh < 0 || oh > 23 || om < 0 || om > 59) {
			return (LLMCOST_EINVAL);
		}
		off = (oh * 60 + om) * 60 * (s[i] == '-' ? -1 : 1);
		i += 6;
	}
	if (i != len) {
		return (LLMCOST_EINVAL);
	}
	t = llmcost__ls_civil_us(y, mo, d, h, mi, sec, frac);
	if (t < 0) {
		return (LLMCOST_EINVAL);
	}
	t -= off * US_PER_SEC;
	if (t < 0 || t >= US_LIMIT) {
		return (LLMCOST_EINVAL);
	}
	*us = t;
	return (0);
}

int
llmcost_ls_time_parse(const json_t *v, int64_t *us)
{
	if (v == NULL || us == NULL) {
		return (LLMCOST_EINVAL);
	}
	if (json_is_string(v)) {
		return (llmcost_ls_time_parse_str(
		    json_string_value(v), json_string_length(v), us));
	}
	if (json_is_integer(v)) {
		json_int_t ms = json_integer_value(v);

		if (ms < 0 || ms >= US_LIMIT / 1000) {
			return (LLMCOST_EINVAL);
		}
		*us = (int64_t) ms * 1000;
		return (0);
	}
	if (json_is_real(v)) {
		double ms = json_real_value(v);

		// NaN fails both comparisons' complement: test it first.
		if (!(ms >= 0.0) || ms >= (double) (US_LIMIT / 1000)) {
			return (LLMCOST_EINVAL);
		}
		*us = (int64_t) llround(ms * 1000.0);
		return (0);
	}
	return (LLMCOST_EINVAL);
}

void
llmcost_ls_time_format(int64_t us, int z, char out[28])
{
	char buf[80]; // the compiler cannot see that y has four digits
	int y;
	unsigned m;
	unsigned d;
	int64_t rem;

	if (us < 0) {
		us = 0;
	} else if (us >= US_LIMIT) {
		us = US_LIMIT - 1;
	}
	rem = us % US_PER_DAY;
	civil_from_days(us / US_PER_DAY, &y, &m, &d);
	snprintf(buf, sizeof(buf), "%04d-%02u-%02uT%02d:%02d:%02d.%06d%s", y,
	    m, d, (int) (rem / (3600 * US_PER_SEC)),
	    (int) (rem / (60 * US_PER_SEC) % 60),
	    (int) (rem / US_PER_SEC % 60), (int) (rem % US_PER_SEC),
	    z ? "Z" : "");
	memcpy(out, buf, LLMCOST_LS_TIME_STR_LEN - 1);
	out[LLMCOST_LS_TIME_STR_LEN - 1] = '\0';
}
