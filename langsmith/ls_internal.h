// Internal functions of the LangSmith wire library: error reporting and the
// default limits.  Not installed, not used outside langsmith/.
#ifndef LLMCOST_LS_INTERNAL_H
#define LLMCOST_LS_INTERNAL_H

#include "llmcost_langsmith.h"

// lim with its zero fields replaced by the defaults (lim may be NULL).
llmcost_ls_limits llmcost__ls_limits(const llmcost_ls_limits *lim);

// 0 when a body of len bytes is within l->body_max; else LLMCOST_ETOOBIG
// with status 413 and the reason in err (multipart.c).
int llmcost__ls_body_size(
    size_t len, const llmcost_ls_limits *l, llmcost_ls_error *err);

// Parse a JSON text already bounded by the limits: gate with
// llmcost_ls_json_scan (the values count is charged to *budget), then
// build the tree.  what names the text in reasons ("part post.<id>").
// Returns 0 and *out (a new reference), or an error with err.
int llmcost__ls_json_load(const char *s, size_t len, size_t *budget,
    const char *what, json_t **out, llmcost_ls_error *err);

// UTC calendar fields (years 1970 to 9999) to microseconds since the
// epoch, or -1 when a field is out of range (time.c).
int64_t llmcost__ls_civil_us(int64_t y, int64_t mo, int64_t d, int64_t h,
    int64_t mi, int64_t s, int64_t us);

// n decimal digits at s (not NUL-terminated) as an unsigned value, or -1
// when one of them is not a digit (time.c).
int64_t llmcost__ls_digits(const char *s, size_t n);

// Parse 36 characters at s as a UUID (not NUL-terminated).  0 or -1.
int llmcost__ls_uuid36(const char *s, size_t len, uint8_t id[16]);

#endif // LLMCOST_LS_INTERNAL_H
