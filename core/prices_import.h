// Importers of other projects' price tables into the price-file format
// (docs/prices.md): LiteLLM's model_prices_and_context_window.json and
// Langfuse's default-model-prices.json.  Each maps every field it
// understands, writes one entry per model to out, and writes to log one
// line per entry or field it skips (with why) and per implausible price
// it flags.
//
// Threading: reentrant.  Ownership: the caller owns the streams.
#ifndef LLMCOST_CORE_PRICES_IMPORT_H
#define LLMCOST_CORE_PRICES_IMPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PRICES_IMPORT_MAX_FIELDS 512 // distinct skipped field names kept

typedef struct prices_import_field {
	char name[64];
	const char *why;
	size_t count;
} prices_import_field;

typedef struct prices_import {
	FILE *out;          // entries, in the price-file format
	FILE *log;          // "skip entry", "skip field", "flag" lines
	uint32_t next_id;   // the id of the next entry written
	int64_t valid_from; // Unix seconds for every entry written
	// What happened, for the caller and the tests.
	size_t entries; // entries written
	size_t skipped; // entries skipped
	size_t flagged; // implausible prices flagged
	size_t rounded; // prices that were not whole pico-USD
	prices_import_field fields[PRICES_IMPORT_MAX_FIELDS];
	size_t nfields;
	// Private: (provider, model, platform) already written, to skip a
	// second key that names the same model.
	char **seen;
	size_t nseen, capseen;
} prices_import;

// Sets up imp to write to out and log (both required).
void prices_import_init(prices_import *imp, FILE *out, FILE *log,
    uint32_t first_id, int64_t valid_from);
// Frees what imp keeps.
void prices_import_fini(prices_import *imp);

// Reads the file at path and writes its entries.  Returns 0;
// LLMCOST_ENOTFOUND (cannot read it), LLMCOST_EPROTO (not JSON of the
// expected shape), both with the reason in err.
int prices_import_litellm(
    prices_import *imp, const char *path, char *err, size_t errsz);
int prices_import_langfuse(
    prices_import *imp, const char *path, char *err, size_t errsz);

// Writes "skip field NAME (N entries): why" for every skipped field.
void prices_import_summary(const prices_import *imp);

// A JSON number as pico-USD (USD x 10^12), exactly when its shortest
// decimal form allows, else rounded to the nearest (*rounded set to 1).
// Returns 0, or -1 for a negative, non-finite or too large value.
int prices_import_pusd(double usd, int64_t *out, int *rounded);

#endif // LLMCOST_CORE_PRICES_IMPORT_H
