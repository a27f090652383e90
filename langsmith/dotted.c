// DESIGN: dotted_order, LangSmith's path from a trace's root to a run
// (reference section 1.5): segments YYYYMMDDTHHMMSSffffffZ<uuid> joined
// by '.'.  The parser checks the grammar (fixed widths, six digits of
// microseconds, a real calendar date), the time order of segments, and
// reports what the caller must compare with the run's own fields: the
// first UUID (trace_id), the last (id), the second-to-last (parent_run_id)
// and the times.  It copies nothing and allocates nothing; a dotted_order
// deeper than LLMCOST_LS_DOTTED_DEPTH_MAX segments is refused.
//
// The error texts follow LangSmith's ("invalid 'dotted_order': ...") so
// that a client's log reads the same against the stand-in and the real
// service.

#include <stdio.h>
#include <string.h>

#include "llmcost_common.h"
#include "ls_internal.h"

int
llmcost__ls_uuid36(const char *s, size_t len, uint8_t id[16])
{
	char buf[LLMCOST__UUID_STR_LEN];

	if (s == NULL || len != 36) {
		return (-1);
	}
	memcpy(buf, s, 36);
	buf[36] = '\0';
	return (llmcost__uuid_parse(buf, id) == 0 ? 0 : -1);
}

int
llmcost_ls_dotted_parse(
    const char *s, size_t len, llmcost_ls_dotted *out, llmcost_ls_error *err)
{
	llmcost_ls_dotted d;
	uint8_t prev_id[16] = { 0 };
	size_t pos = 0;

	if (s == NULL || out == NULL || len == 0) {
		return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
		    "invalid 'dotted_order': empty"));
	}
	memset(&d, 0, sizeof(d));
	for (;;) {
		const char *g = s + pos;
		int64_t us;
		uint8_t id[16];

		if (d.depth == LLMCOST_LS_DOTTED_DEPTH_MAX) {
			return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
			    "invalid 'dotted_order': more than %d segments",
			    LLMCOST_LS_DOTTED_DEPTH_MAX));
		}
		if (len - pos < LLMCOST_LS_SEGMENT_LEN) {
			return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
			    "invalid 'dotted_order': segment %u is %zu "
			    "characters, want %d (YYYYMMDDTHHMMSSffffffZ and "
			    "a "
			    "UUID)",
			    d.depth + 1, len - pos, LLMCOST_LS_SEGMENT_LEN));
		}
		if (g[8] != 'T' || g[21] != 'Z') {
			return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
			    "invalid 'dotted_order': invalid timestamp in "
			    "segment %u (want YYYYMMDDTHHMMSSffffffZ)",
			    d.depth + 1));
		}
		us = llmcost__ls_civil_us(llmcost__ls_digits(g, 4),
		    llmcost__ls_digits(g + 4, 2), llmcost__ls_digits(g + 6, 2),
		    llmcost__ls_digits(g + 9, 2),
		    llmcost__ls_digits(g + 11, 2),
		    llmcost__ls_digits(g + 13, 2),
		    llmcost__ls_digits(g + 15, 6));
		if (us < 0) {
			return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
			    "invalid 'dotted_order': invalid timestamp in "
			    "segment %u (want YYYYMMDDTHHMMSSffffffZ, a real "
			    "UTC date and time)",
			    d.depth + 1));
		}
		if (llmcost__ls_uuid36(g + 22, 36, id) != 0) {
			return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
			    "invalid 'dotted_order': segment %u does not end "
			    "in a UUID",
			    d.depth + 1));
		}
		if (d.depth == 0) {
			memcpy(d.first_id, id, 16);
			d.first_us = us;
		} else {
			if (us < d.last_us) {
				return (llmcost_ls_fail(err, 400,
				    LLMCOST_EPROTO,
				    "invalid 'dotted_order': timestamp "
				    "ordering violation (segment %u starts "
				    "before its parent)",
				    d.depth + 1));
			}
			memcpy(d.parent_id, prev_id, 16);
		}
		memcpy(d.last_id, id, 16);
		memcpy(prev_id, id, 16);
		d.last_us = us;
		d.depth++;
		pos += LLMCOST_LS_SEGMENT_LEN;
		if (pos == len) {
			break;
		}
		if (s[pos] != '.' || pos + 1 == len) {
			return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
			    "invalid 'dotted_order': segment %u is not "
			    "followed by '.' and another segment",
			    d.depth));
		}
		pos++;
	}
	*out = d;
	return (0);
}

void
llmcost_ls_dotted_segment(int64_t start_us, const uint8_t id[16],
    char out[LLMCOST_LS_SEGMENT_LEN + 1])
{
	char t[LLMCOST_LS_TIME_STR_LEN];
	char u[LLMCOST__UUID_STR_LEN];

	// "2026-11-26T11:55:52.336001" -> "20261126T115552336001Z"
	llmcost_ls_time_format(start_us, 0, t);
	llmcost__uuid_str(id, u);
	snprintf(out, LLMCOST_LS_SEGMENT_LEN + 1,
	    "%.4s%.2s%.2sT%.2s%.2s%.2s%.6sZ%s", t, t + 5, t + 8, t + 11,
	    t + 14, t + 17, t + 20, u);
}
