// The roll-up dimensions: what a call is grouped by in the hourly rollups
// and in reports.  One table, REPORT_DIM_MAP, from which the report_dim
// enum, the rollup key (store_rkey, its on-disk encoding), the store
// writer's extraction of each dimension from a decoded call, `--by`
// parsing and the CLI's help text are all generated.
//
// XX(ID, name, field, src):
//   ID     the enum suffix: REPORT_BY_<ID>
//   name   the dimension's name (`--by name`, JSON keys, CSV header)
//   field  the interned-string field of store_run and store_rkey
//   src    where the writer finds the value in a decoded call: RECORD
//          (the record's own string field `field`) or META (the metadata
//          entry whose key is `name`)
//
// The row order is the order of the dimensions in a rollup key on disk
// (after the hour): adding, removing or reordering a row changes the
// store's layout and needs a new STORE_SCHEMA, and a new dimension needs
// its own store_run field.
//
// Threading: everything here is reentrant.
#ifndef LLMCOST_CORE_DIMS_H
#define LLMCOST_CORE_DIMS_H

#include <stddef.h>

// clang-format off
#define REPORT_DIM_MAP(XX)                                                    \
	XX(FEATURE,  "feature",  feature,  META)                              \
	XX(MODEL,    "model",    model,    RECORD)                            \
	XX(ENV,      "env",      env,      META)                              \
	XX(PROVIDER, "provider", provider, RECORD)
// clang-format on

typedef enum report_dim {
#define REPORT_DIM__ENUM(id, name, field, src) REPORT_BY_##id,
	REPORT_DIM_MAP(REPORT_DIM__ENUM)
#undef REPORT_DIM__ENUM
	    REPORT_DIM_COUNT
} report_dim;

// What a report groups by when not told.
#define REPORT_DIM_DEFAULT REPORT_BY_FEATURE

// The name of a dimension ("feature"); "?" for one outside the table.
const char *report_dim_name(report_dim dim);

// The dimension called s (exact, case-sensitive).  Returns 0 and *out, or
// LLMCOST_EINVAL (unknown name or a NULL argument; *out is untouched).
int report_dim_parse(const char *s, report_dim *out);

// Writes the names of the dimensions from `first` to the last, in table
// order, into buf: separated by sep, the last two by last_sep; with
// mark_default, REPORT_DIM_DEFAULT is followed by " (default)".  For
// example (REPORT_BY_FEATURE, ", ", " or ", 1) gives
// "feature (default), model, env or provider".  Help text and error
// messages are built with it, so they list every row of the table.
// Returns 0, or LLMCOST_ETOOBIG (buf holds a truncated, NUL-terminated
// list) or LLMCOST_EINVAL.
int report_dim_list(char *buf, size_t bufsz, report_dim first, const char *sep,
    const char *last_sep, int mark_default);

#endif // LLMCOST_CORE_DIMS_H
