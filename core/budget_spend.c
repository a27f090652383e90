// DESIGN: the one place where a budget becomes a query.  A budget's
// filters are query filters (key = value, every one must hold), its
// window the query's [from, to), and the query engine (query.h) answers
// with the exact 128-bit sum, from rollups for the whole hours and from
// the runs at the edges and for metadata keys.  There is no second
// aggregation here: the CLI's `budget check`, llmcostd's live alerts and
// `llmcost report` all sum through query_run_txn.
#include <stdio.h>
#include <string.h>

#include "budget.h"
#include "query.h"

// The budget's filters as a query spec.  Returns 0 or LLMCOST_EINVAL
// (a filter the engine cannot express).
static int
spec_of(const budget *b, int64_t from, int64_t to, query_spec *q)
{
	query_spec_init(q);
	q->n_by = 0;
	q->from_ns = (uint64_t) from * 1000000000u;
	q->to_ns = (uint64_t) to * 1000000000u;
	if (b->n_match > QUERY_MAX_FILTERS) {
		return (LLMCOST_EINVAL);
	}
	for (unsigned i = 0; i < b->n_match; i++) {
		const budget_match *m = &b->match[i];
		query_filter *f = &q->where[q->n_where++];
		memset(f, 0, sizeof(*f));
		if (m->dim == BUDGET_DIM_META) {
			f->key.kind = QUERY_KEY_META;
			snprintf(
			    f->key.meta, sizeof(f->key.meta), "%s", m->key);
		} else if (query_key_parse(m->key, &f->key) != 0) {
			return (LLMCOST_EINVAL);
		}
		if (strlen(m->value) >= sizeof(f->value)) {
			return (LLMCOST_EINVAL);
		}
		memcpy(f->value, m->value, strlen(m->value) + 1);
	}
	return (0);
}

int
budget_spend(store_rtxn *t, const budget *b, int64_t from, int64_t to,
    store_i128 *spend, uint64_t *calls)
{
	query_spec q;
	query_result *r;
	int rv;

	if (from < 0) {
		from = 0;
	}
	if (to <= from) {
		*spend = 0;
		*calls = 0;
		return (0);
	}
	if ((rv = spec_of(b, from, to, &q)) != 0
	    || (rv = query_run_txn(t, &q, &r, NULL, 0)) != 0) {
		return (rv);
	}
	*spend = r->total.cost_pusd;
	*calls = r->total.calls;
	query_result_free(r);
	return (0);
}
