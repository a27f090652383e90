// DESIGN: the price-file format, written: an entry as the reader
// (prices_parse.c) takes it back, and exact decimals from integer
// pico-USD.  `llmcost prices show` prints entries with it and `llmcost
// prices import` writes the entries it converts with it, so what a user
// sees or imports is always a valid price file (the tests read the
// output back).
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "llmcost_common.h"
#include "prices.h"

int
prices_format_decimal(int64_t v, unsigned scale, char *buf, size_t bufsz)
{
	uint64_t p10 = 1;
	char frac[32];
	int n;

	if (v < 0 || scale > 18 || buf == NULL || bufsz == 0) {
		return (LLMCOST_EINVAL);
	}
	for (unsigned i = 0; i < scale; i++) {
		p10 *= 10;
	}
	uint64_t ip = (uint64_t) v / p10, fp = (uint64_t) v % p10;
	if (fp == 0) {
		n = snprintf(buf, bufsz, "%" PRIu64, ip);
	} else {
		snprintf(frac, sizeof(frac), "%0*" PRIu64, (int) scale, fp);
		size_t len = strlen(frac);
		while (len > 0 && frac[len - 1] == '0') {
			frac[--len] = '\0';
		}
		n = snprintf(buf, bufsz, "%" PRIu64 ".%s", ip, frac);
	}
	return (n < 0 || (size_t) n >= bufsz ? LLMCOST_ETOOBIG : 0);
}

static void
write_date(FILE *f, int64_t t)
{
	time_t tt = (time_t) t;
	struct tm tm;
	char buf[32];

	gmtime_r(&tt, &tm);
	if (tm.tm_hour == 0 && tm.tm_min == 0 && tm.tm_sec == 0) {
		strftime(buf, sizeof(buf), "%Y-%m-%d", &tm);
	} else {
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	fputs(buf, f);
}

int
prices_write_entry(FILE *f, const price_entry *e)
{
	char num[48];

	fprintf(f, "entry %u %s %s\n", e->id, e->provider, e->model);
	if (e->match == PRICE_MATCH_PATTERN) {
		fputs("match pattern\n", f);
	}
	if (e->platform != NULL && e->platform[0] != '\0') {
		fprintf(f, "platform %s\n", e->platform);
	}
	fputs("valid_from ", f);
	write_date(f, e->valid_from);
	fprintf(f, "\nsource %s\n", e->source != NULL ? e->source : "-");
	for (uint32_t i = 0; i < e->nsets; i++) {
		const price_set *s = &e->sets[i];
		fputs(llmcost__tier_name(s->service_tier), f);
		if (s->above != 0) {
			fprintf(f, " >%" PRIu64, s->above);
		}
		for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
			if (s->pusd[b] == PRICE_UNPRICED) {
				continue;
			}
			prices_format_decimal(s->pusd[b], 6, num, sizeof(num));
			fprintf(f, " %s=%s", llmcost__bucket_key[b], num);
		}
		fputc('\n', f);
	}
	int any = 0;
	for (int k = 0; k < LLMCOST_FEE_COUNT; k++) {
		if (e->fee_pusd[k] == PRICE_UNPRICED) {
			continue;
		}
		prices_format_decimal(e->fee_pusd[k], 12, num, sizeof(num));
		fprintf(f, "%s%s=%s", any ? " " : "fee ", llmcost__fee_key[k],
		    num);
		any = 1;
	}
	if (any) {
		fputc('\n', f);
	}
	return (ferror(f) ? LLMCOST_EINVAL : 0);
}
