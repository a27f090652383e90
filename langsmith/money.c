// DESIGN: money on the LangSmith wire, to and from integer pico-USD.
// LangSmith serves costs as JSON numbers (v2 query, stats) or as decimal
// strings (v1 query, sessions), and a Python Decimal prints small values
// in exponent form ("1.5E-7"), so a reader must take all of these.  The
// decimal parser is exact: digits are shifted by the exponent and the
// scale, never routed through a double, and rounding (half away from
// zero) happens once, on the first dropped digit.  JSON numbers that
// jansson has already made doubles are rounded to the nearest pico-USD.

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ls_internal.h"

#define DEC_TEXT_MAX 128 // longest decimal string accepted
#define EXP_MAX      400 // |exponent| accepted

int
llmcost_ls_decimal_parse(
    const char *s, size_t len, unsigned scale, int64_t *out)
{
	const char *digs[2] = { NULL, NULL }; // integer part, fraction
	size_t ndig[2] = { 0, 0 };
	size_t i = 0;
	int neg = 0;
	int64_t e = 0;
	int64_t k;
	int64_t keep;
	uint64_t v = 0;
	uint64_t limit;
	int round_up = 0;
	int64_t seen = 0;

	if (s == NULL || out == NULL || len == 0 || len > DEC_TEXT_MAX
	    || scale > 18) {
		return (LLMCOST_EINVAL);
	}
	if (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-';
		i++;
	}
	digs[0] = s + i;
	while (i < len && s[i] >= '0' && s[i] <= '9') {
		i++;
		ndig[0]++;
	}
	if (i < len && s[i] == '.') {
		i++;
		digs[1] = s + i;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			i++;
			ndig[1]++;
		}
	}
	if (ndig[0] + ndig[1] == 0) {
		return (LLMCOST_EINVAL);
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		int eneg = 0;
		size_t start;

		i++;
		if (i < len && (s[i] == '-' || s[i] == '+')) {
			eneg = s[i] == '-';
			i++;
		}
		start = i;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			if (e <= EXP_MAX) {
				e = e * 10 + (s[i] - '0');
			}
			i++;
		}
		if (i == start || e > EXP_MAX) {
			return (LLMCOST_EINVAL);
		}
		e = eneg ? -e : e;
	}
	if (i != len) {
		return (LLMCOST_EINVAL);
	}

	// value = D * 10^(e - nfrac); we want D * 10^k, k = e - nfrac + scale:
	// keep the first (ndigits + k) digits, and round on the next one.
	k = e - (int64_t) ndig[1] + (int64_t) scale;
	keep = (int64_t) (ndig[0] + ndig[1]) + k;
	limit = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
	for (int part = 0; part < 2; part++) {
		for (size_t j = 0; j < ndig[part]; j++, seen++) {
			unsigned d = (unsigned) (digs[part][j] - '0');

			if (seen == keep) {
				round_up = d >= 5;
			}
			if (seen >= keep) {
				continue;
			}
			if (v > (limit - d) / 10) {
				return (LLMCOST_ETOOBIG);
			}
			v = v * 10 + d;
		}
	}
	// Trailing zeros when the exponent shifts left past the digits.
	for (int64_t z = seen; z < keep; z++) {
		if (v > limit / 10) {
			return (LLMCOST_ETOOBIG);
		}
		v *= 10;
	}
	if (round_up) {
		if (v == limit) {
			return (LLMCOST_ETOOBIG);
		}
		v++;
	}
	*out = neg ? (int64_t) (0 - v) : (int64_t) v;
	return (0);
}

int
llmcost_ls_cost_parse(const json_t *v, int64_t *pico, int *present)
{
	if (pico == NULL || present == NULL) {
		return (LLMCOST_EINVAL);
	}
	*present = 0;
	if (v == NULL || json_is_null(v)) {
		return (0);
	}
	if (json_is_integer(v)) {
		json_int_t usd = json_integer_value(v);
		int64_t r;

		if (__builtin_mul_overflow(
		        (int64_t) usd, INT64_C(1000000000000), &r)) {
			return (LLMCOST_ETOOBIG);
		}
		*pico = r;
		*present = 1;
		return (0);
	}
	if (json_is_real(v)) {
		double usd = json_real_value(v);

		if (!(fabs(usd) < 9.2e6)) { // also refuses NaN
			return (LLMCOST_ETOOBIG);
		}
		*pico = (int64_t) llround(usd * 1e12);
		*present = 1;
		return (0);
	}
	if (json_is_string(v)) {
		int rv = llmcost_ls_decimal_parse(
		    json_string_value(v), json_string_length(v), 12, pico);

		if (rv == 0) {
			*present = 1;
		}
		return (rv);
	}
	return (LLMCOST_EINVAL);
}

void
llmcost_ls_pico_format(int64_t pico, char out[32])
{
	uint64_t a = pico < 0 ? 0 - (uint64_t) pico : (uint64_t) pico;
	uint64_t whole = a / UINT64_C(1000000000000);
	uint64_t frac = a % UINT64_C(1000000000000);
	char f[13];
	int n = 12;

	snprintf(f, sizeof(f), "%012llu", (unsigned long long) frac);
	while (n > 0 && f[n - 1] == '0') {
		n--;
	}
	f[n] = '\0';
	snprintf(out, 32, "%s%llu%s%s", pico < 0 ? "-" : "",
	    (unsigned long long) whole, n > 0 ? "." : "", f);
}
