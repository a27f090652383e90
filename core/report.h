// Money as text for reports: pico-USD (1e-12 USD, store_i128) as a
// decimal USD amount rounded to a number of places, or exact, and
// 128-bit integers in decimal.  The query engine (query.h) sums costs;
// render.h, the CLI and budgets print them with these.
//
// Threading: reentrant.
#ifndef LLMCOST_CORE_REPORT_H
#define LLMCOST_CORE_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

// Formats pico-USD as USD with `decimals` places (0..12), rounding half
// away from zero; exact when decimals == 12.  Returns buf.
char *report_fmt_usd(store_i128 pusd, int decimals, char *buf, size_t bufsz);
// Formats a 128-bit integer in decimal.  Returns buf.
char *report_fmt_i128(store_i128 v, char *buf, size_t bufsz);

// pusd rounded to `decimals` places of a dollar (0..12), half away from
// zero, still in pico-USD: what report_fmt_usd shows, as a number.
store_i128 report_round_pusd(store_i128 pusd, int decimals);

#endif // LLMCOST_CORE_REPORT_H
