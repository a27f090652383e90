// Inside a price table: shared by the parser (prices_parse.c) and the
// lookups (prices.c).  Not for other modules.
#ifndef LLMCOST_CORE_PRICES_INT_H
#define LLMCOST_CORE_PRICES_INT_H

#include <regex.h>

#include "prices.h"

struct prices_table {
	price_entry *e; // sorted as prices_table_entries() says
	size_t n;
	// The pattern entries, as indexes into e, in priority order
	// (overrides first, then in the order read), and their compiled
	// patterns: re[i] belongs to e[pat[i]].
	uint32_t *pat;
	regex_t *re;
	size_t npat;
	char version[17];
	int builtin;   // the built-in table: never freed
	unsigned refs; // references held through prices_current_*
	int retired;   // no longer current: freed at its last release
};

// Frees what prices_table_build allocated for t (entries, strings, sets,
// patterns) and t itself.
void prices__table_destroy(prices_table *t);

// The version of a table built from src[n] (prices_table_version), from
// the sources alone: 16 hex digits and a NUL into out.
void prices__sources_version(const prices_source *src, size_t n, char out[17]);

#endif // LLMCOST_CORE_PRICES_INT_H
