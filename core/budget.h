// Budgets: a limit in USD over a window, on a set of dimension filters,
// with soft thresholds, an optional hard guard and webhooks.  The file
// format is docs/budgets.md; this module parses it (every error names
// the file, the line and the field), does the window math (calendar
// days, ISO weeks and months in an IANA time zone, or rolling hours and
// days) and evaluates a budget's spend through the query engine.
//
// Money is integer pico-USD throughout (a limit is exact; spend is a
// 128-bit sum).  Times are Unix seconds.
//
// Ownership: a budget_set owns its budgets, their zones and strings;
// free it with budget_set_free.
// Threading: a loaded set is immutable and may be read by any number of
// threads; budget_eval may run on any thread with its own read
// transaction.
#ifndef LLMCOST_CORE_BUDGET_H
#define LLMCOST_CORE_BUDGET_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "tz.h"

// Caps (a file over any of them is refused, with the line).
#define BUDGET_MAX            256u // budgets in a file
#define BUDGET_NAME_MAX       64u  // bytes in a name
#define BUDGET_MAX_MATCH      8u   // filters per budget
#define BUDGET_KEY_MAX        64u  // bytes in a dimension or metadata key
#define BUDGET_VALUE_MAX      256u // bytes in a filter value
#define BUDGET_MAX_THRESHOLDS 8u   // thresholds per budget
#define BUDGET_MAX_HOOKS      4u   // webhooks per budget
#define BUDGET_URL_MAX        512u // bytes in a webhook URL
#define BUDGET_FILE_MAX       (1u << 20) // bytes in a budgets file
#define BUDGET_LINE_MAX       1024u      // bytes in a line
// The largest limit: $9,000,000 (int64 pico-USD holds about $9.2 M).
#define BUDGET_LIMIT_MAX_PUSD INT64_C(9000000000000000000)

// The budgets file's name in the data directory, its default place.
#define BUDGET_FILE_NAME "budgets.conf"

typedef enum budget_window_kind {
	BUDGET_DAY,     // calendar day in the budget's zone
	BUDGET_WEEK,    // ISO week (Monday 00:00) in the budget's zone
	BUDGET_MONTH,   // calendar month in the budget's zone
	BUDGET_ROLLING, // the last rolling_s seconds
} budget_window_kind;

// What a filter compares.  META is any metadata key ("user_tier");
// FEATURE and ENV are metadata too, and are also roll-up dimensions.
typedef enum budget_dim {
	BUDGET_DIM_FEATURE,
	BUDGET_DIM_ENV,
	BUDGET_DIM_MODEL,
	BUDGET_DIM_PROVIDER,
	BUDGET_DIM_META,
} budget_dim;

typedef struct budget_match {
	budget_dim dim;
	char key[BUDGET_KEY_MAX + 1]; // "feature", "model", "user_tier", ...
	char value[BUDGET_VALUE_MAX + 1];
} budget_match;

typedef enum budget_hook_format {
	BUDGET_HOOK_SLACK, // {"text": "..."}: Slack incoming webhooks
	BUDGET_HOOK_JSON,  // a generic JSON object (docs/budgets.md)
} budget_hook_format;

typedef struct budget_hook {
	budget_hook_format format;
	char url[BUDGET_URL_MAX + 1];
} budget_hook;

typedef struct budget {
	char name[BUDGET_NAME_MAX + 1];
	unsigned line;      // where its section starts in the file
	int64_t limit_pusd; // > 0
	budget_window_kind window;
	int64_t rolling_s; // BUDGET_ROLLING: the window's length
	tz *zone;          // calendar windows' zone ("UTC" by default)
	budget_match match[BUDGET_MAX_MATCH];
	unsigned n_match; // 0: the whole account
	// Percent of the limit, ascending, each 1..1000 (default 50, 80,
	// 100).
	uint16_t thresholds[BUDGET_MAX_THRESHOLDS];
	unsigned n_thresholds;
	int hard; // the shim refuses matching calls once exhausted
	budget_hook hooks[BUDGET_MAX_HOOKS];
	unsigned n_hooks;
} budget;

typedef struct budget_set {
	budget *b;
	size_t n;
} budget_set;

// Parses the budgets in text[len]; fname names the file in errors.
// Returns 0 and *out; LLMCOST_ECONFIG with err holding
// "FILE:LINE: field: what is wrong" (the first error); LLMCOST_ENOMEM.
int budget_parse(const char *text, size_t len, const char *fname,
    budget_set **out, char *err, size_t errsz);
// Reads and parses path.  Returns as budget_parse, and LLMCOST_ENOTFOUND
// (no such file: err says so) or LLMCOST_ETOOBIG (over BUDGET_FILE_MAX).
int budget_load(const char *path, budget_set **out, char *err, size_t errsz);
void budget_set_free(budget_set *s);
// The budgets file's default path: $LLMCOSTD_BUDGETS_FILE (as llmcostd
// reads it), else
// DIR/budgets.conf next to the store in data directory dir.  Returns 0
// or LLMCOST_ETOOBIG.
int budget_default_path(const char *dir, char *out, size_t outsz);

// The window of b that contains now: [*from, *to).  For a rolling
// window, the rolling_s seconds up to and including the second now:
// [now + 1 - rolling_s, now + 1).
void budget_window(const budget *b, int64_t now, int64_t *from, int64_t *to);
// An identity for the window containing now, for "once per window":
// the start of the calendar window, or for a rolling window the start
// of the rolling_s-long period of the epoch that contains now (so a
// rolling budget alerts at most once per threshold per window length).
int64_t budget_window_id(const budget *b, int64_t now);

// Whether a call with these attributes matches every filter of b.
// meta_fn looks up a metadata key (returns NULL when absent).
typedef const char *(*budget_meta_fn)(void *arg, const char *key);
int budget_matches(const budget *b, const char *provider, const char *model,
    budget_meta_fn meta, void *arg);

// Where a budget stands.
typedef enum budget_state {
	BUDGET_OK,        // below every threshold
	BUDGET_WARN,      // at or over a threshold below 100 %
	BUDGET_EXHAUSTED, // at or over 100 % of the limit
} budget_state;

typedef struct budget_status {
	int64_t from, to; // the window evaluated
	store_i128 spend; // pico-USD in the window
	uint64_t calls;   // calls in the window that matched
	uint32_t pct_bp;  // spend / limit in basis points (capped)
	int crossed;      // index of the highest threshold reached; -1
	budget_state state;
} budget_status;

// Fills st's percentage, crossed threshold and state from its spend.
void budget_classify(const budget *b, budget_status *st);
// "ok", "warn", "exhausted".
const char *budget_state_name(budget_state s);

// Spend of b's matching calls that started in [from, to) (Unix
// seconds), read through t.  Returns 0 or an LLMCOST_E* code.
int budget_spend(store_rtxn *t, const budget *b, int64_t from, int64_t to,
    store_i128 *spend, uint64_t *calls);
// Evaluates b at now: its window, spend and state.
int budget_eval(
    store_rtxn *t, const budget *b, int64_t now, budget_status *out);

// Parses an amount of USD ("2", "2.50", "$0.000001") into pico-USD:
// at most 12 decimals, at most BUDGET_LIMIT_MAX_PUSD.  Returns 0 or
// LLMCOST_EINVAL.
int budget_parse_usd(const char *s, int64_t *pusd);

#endif // LLMCOST_CORE_BUDGET_H
