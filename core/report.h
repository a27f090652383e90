// Cost reports from the hourly rollups: calls, tokens and exact cost per
// feature (or model, env, provider) over a window of whole hours.  Used
// by the CLI on a read-only store, and by the daemon's query API.
#ifndef LLMCOSTD_REPORT_H
#define LLMCOSTD_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

typedef enum report_dim {
	REPORT_BY_FEATURE,
	REPORT_BY_MODEL,
	REPORT_BY_ENV,
	REPORT_BY_PROVIDER,
} report_dim;

typedef struct report_row {
	char *name; // NULL: the dimension was absent ("untagged")
	uint64_t calls;
	uint64_t unpriced_calls;
	uint64_t error_calls;
	uint64_t usage[LLMCOST_BUCKET_COUNT];
	uint64_t input_tokens;  // sum of the input buckets
	uint64_t output_tokens; // sum of the output buckets
	store_i128 cost_pusd;
} report_row;

typedef struct report_unpriced {
	char *provider;
	char *model;
	uint64_t calls;
} report_unpriced;

typedef struct report {
	report_dim dim;
	uint32_t from_hour, to_hour; // [from, to)
	report_row *rows;            // sorted by cost, then calls, then name
	size_t n_rows;
	report_row total;          // the exact sum of the rows
	report_unpriced *unpriced; // models with unpriced calls, by calls
	size_t n_unpriced;
	uint64_t dropped; // calls clients reported dropping in the window
} report;

#define REPORT_MAX_ROWS (1u << 20)

// Builds a report.  Returns 0, LLMCOST_ENOMEM, LLMCOST_ETOOBIG (more than
// REPORT_MAX_ROWS groups) or LLMCOST_ESTORE.  Free with report_free.
int report_build(store *s, report_dim dim, uint32_t from_hour,
    uint32_t to_hour, report **out);
void report_free(report *r);

const char *report_dim_name(report_dim dim);
int report_dim_parse(const char *s, report_dim *out);

// Formats pico-USD as USD with `decimals` places (0..12), rounding half
// away from zero; exact when decimals == 12.  Returns buf.
char *report_fmt_usd(store_i128 pusd, int decimals, char *buf, size_t bufsz);
// Formats a 128-bit integer in decimal.  Returns buf.
char *report_fmt_i128(store_i128 v, char *buf, size_t bufsz);

#endif // LLMCOSTD_REPORT_H
