// Shared by the shim's tests that run a live llmcostd: how many runs its
// store in dir holds, read as the CLI reads it (read-only, beside the
// running daemon).  Static inline, so a test that leaves it unused still
// builds.
#ifndef LLMCOST_STORED_H
#define LLMCOST_STORED_H

#include "testutil.h"

#include "store.h"

static inline uint64_t
stored_runs_in(const char *dir)
{
	store *st = NULL;
	store_rtxn *t = NULL;
	char err[256] = "";
	uint64_t n = 0;
	int rv = store_open(&st, dir, STORE_RDONLY, 0, err, sizeof(err));

	if (rv != 0) {
		fail_msg("store_open: %s: %s", llmcost_err_name(rv), err);
	}
	LLMCOST_PASS(store_read_begin(st, &t));
	LLMCOST_PASS(store_count_runs(t, &n));
	store_read_end(t);
	store_close(st);
	return (n);
}

#endif // LLMCOST_STORED_H
