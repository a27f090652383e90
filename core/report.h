// Cost reports from the hourly rollups: calls, tokens and exact cost per
// value of one roll-up dimension (dims.h: feature, model, env, provider)
// over a window of whole hours.  The CLI builds them on a read-only
// store; render.h turns one into a table, CSV or JSON.
//
// Ownership: a report is the caller's, freed with report_free; it holds
// copies of every string, so it outlives the store it was built from.
// Threading: report_build may run on any thread, concurrently with the
// store's writer and other readers.
#ifndef LLMCOST_CORE_REPORT_H
#define LLMCOST_CORE_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "dims.h"
#include "store.h"

typedef struct report_row {
	char *name; // NULL: the dimension was absent ("untagged")
	uint64_t calls;
	uint64_t unpriced_calls;
	uint64_t error_calls;
	uint64_t usage[LLMCOST_BUCKET_COUNT];
	uint64_t input_tokens;            // sum of the input buckets
	uint64_t output_tokens;           // sum of the output buckets
	store_i128 cost_pusd;             // fees included
	uint64_t fees[LLMCOST_FEE_COUNT]; // requests, llmcost_fee order
	store_i128 fee_cost_pusd;         // the fees' part of cost_pusd
	uint64_t provider_cost_calls;     // calls that carried a provider cost
	store_i128 provider_cost_pusd;    // the sum of those costs
	uint64_t usage_missing_calls;     // ended without usage: cost unknown
	uint64_t usage_partial_calls;     // cut short: usage so far only
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

// Builds a report of the rollups in [from_hour, to_hour) grouped by dim.
// Returns 0, LLMCOST_EINVAL (dim outside the table), LLMCOST_ENOMEM,
// LLMCOST_ETOOBIG (more than REPORT_MAX_ROWS groups) or LLMCOST_ESTORE.
// Free with report_free.
int report_build(store *s, report_dim dim, uint32_t from_hour,
    uint32_t to_hour, report **out);
void report_free(report *r);

// Formats pico-USD as USD with `decimals` places (0..12), rounding half
// away from zero; exact when decimals == 12.  Returns buf.
char *report_fmt_usd(store_i128 pusd, int decimals, char *buf, size_t bufsz);
// Formats a 128-bit integer in decimal.  Returns buf.
char *report_fmt_i128(store_i128 v, char *buf, size_t bufsz);

#endif // LLMCOST_CORE_REPORT_H
