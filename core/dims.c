// DESIGN: names and lists generated from REPORT_DIM_MAP (dims.h), so that
// `--by` parsing, help text, error messages and report headers all follow
// the one table: a new dimension is one row there, with no list to keep
// in step here or in the CLI.  The list writer checks for truncation,
// because a silently shortened help line would hide a dimension.
#include <stdio.h>
#include <string.h>

#include "dims.h"
#include "llmcost.h"

static const char *const dim_names[REPORT_DIM_COUNT] = {
#define DIM_NAME(id, name, field, src) [REPORT_BY_##id] = name,
	REPORT_DIM_MAP(DIM_NAME)
#undef DIM_NAME
};

const char *
report_dim_name(report_dim dim)
{
	return ((unsigned) dim < REPORT_DIM_COUNT ? dim_names[dim] : "?");
}

int
report_dim_parse(const char *s, report_dim *out)
{
	if (s == NULL || out == NULL) {
		return (LLMCOST_EINVAL);
	}
	for (int i = 0; i < REPORT_DIM_COUNT; i++) {
		if (strcmp(s, dim_names[i]) == 0) {
			*out = (report_dim) i;
			return (0);
		}
	}
	return (LLMCOST_EINVAL);
}

int
report_dim_list(char *buf, size_t bufsz, report_dim first, const char *sep,
    const char *last_sep, int mark_default)
{
	size_t o = 0;

	if (buf == NULL || bufsz == 0 || sep == NULL || last_sep == NULL
	    || (unsigned) first >= REPORT_DIM_COUNT) {
		return (LLMCOST_EINVAL);
	}
	buf[0] = '\0';
	for (int i = (int) first; i < REPORT_DIM_COUNT; i++) {
		const char *join = i == (int) first ? ""
		    : i == REPORT_DIM_COUNT - 1     ? last_sep
		                                    : sep;
		const char *mark = mark_default && i == REPORT_DIM_DEFAULT
		    ? " (default)"
		    : "";
		int n = snprintf(
		    buf + o, bufsz - o, "%s%s%s", join, dim_names[i], mark);
		if (n < 0 || (size_t) n >= bufsz - o) {
			return (LLMCOST_ETOOBIG);
		}
		o += (size_t) n;
	}
	return (0);
}
