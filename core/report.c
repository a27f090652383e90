// DESIGN: money is an integer number of pico-USD (1e-12 USD) in 128 bits
// from the store to the screen: these functions are the only place it
// becomes text, by integer division, so no figure goes through floating
// point and an exact rendering (12 places) is the stored number itself.
#include <stdio.h>

#include "report.h"

char *
report_fmt_i128(store_i128 v, char *buf, size_t bufsz)
{
	char tmp[48];
	size_t n = 0;
	int neg = v < 0;
	unsigned __int128 u
	    = neg ? -(unsigned __int128) v : (unsigned __int128) v;

	do {
		tmp[n++] = (char) ('0' + (int) (u % 10));
		u /= 10;
	} while (u != 0);
	size_t o = 0;
	if (neg && o + 1 < bufsz) {
		buf[o++] = '-';
	}
	while (n > 0 && o + 1 < bufsz) {
		buf[o++] = tmp[--n];
	}
	buf[o] = '\0';
	return (buf);
}

static const int64_t pow10[]
    = { 1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000,
	      1000000000, 10000000000, 100000000000, 1000000000000 };

// |pusd| rounded half away from zero to *decimals places (clamped to
// 0..12), counted in units of 10^-decimals USD; *neg is its sign.
static unsigned __int128
round_units(store_i128 pusd, int *decimals, int *neg)
{
	*decimals = *decimals < 0 ? 0 : *decimals > 12 ? 12 : *decimals;
	*neg = pusd < 0;
	unsigned __int128 u
	    = *neg ? -(unsigned __int128) pusd : (unsigned __int128) pusd;
	unsigned __int128 unit = (unsigned __int128) pow10[12 - *decimals];
	return ((u + unit / 2) / unit);
}

store_i128
report_round_pusd(store_i128 pusd, int decimals)
{
	int neg;
	unsigned __int128 u = round_units(pusd, &decimals, &neg)
	    * (unsigned __int128) pow10[12 - decimals];
	return (neg ? -(store_i128) u : (store_i128) u);
}

char *
report_fmt_usd(store_i128 pusd, int decimals, char *buf, size_t bufsz)
{
	int neg;
	unsigned __int128 u = round_units(pusd, &decimals, &neg);
	if (u == 0) {
		neg = 0; // no "-0.0000"
	}
	unsigned __int128 scale = (unsigned __int128) pow10[decimals];
	char whole[48], frac[16];
	report_fmt_i128((store_i128) (u / scale), whole, sizeof(whole));
	uint64_t f = (uint64_t) (u % scale);
	for (int i = decimals - 1; i >= 0; i--) {
		frac[i] = (char) ('0' + (int) (f % 10));
		f /= 10;
	}
	frac[decimals] = '\0';
	snprintf(buf, bufsz, "%s%s%s%s", neg ? "-" : "", whole,
	    decimals > 0 ? "." : "", frac);
	return (buf);
}
