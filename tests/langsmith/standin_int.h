// Internals of the LangSmith stand-in shared by its files: the run store,
// the string table, the price map, the filter language and the read API.
// Everything here is called with the stand-in's lock held unless stated.
#ifndef LLMCOST_STANDIN_INT_H
#define LLMCOST_STANDIN_INT_H

#include <pthread.h>
#include <regex.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "llmcost_langsmith.h"
#include "standin.h"

// ---- Interned strings (names, metadata, tags, models): id 0 = none ----

typedef struct strtab {
	char **strs; // strs[id], id >= 1
	uint32_t n;  // ids in use + 1
	uint32_t cap;
	uint32_t *slots; // open addressing: id, 0 = empty
	uint32_t nslots; // power of two
} strtab;

uint32_t strtab_intern(strtab *t, const char *s, size_t len); // 0: ENOMEM
const char *strtab_str(const strtab *t, uint32_t id);         // NULL for 0
void strtab_free(strtab *t);

// A metadata value that is not a JSON string is kept as its JSON text,
// with this bit set on its id.
#define META_JSON 0x80000000u

// ---- Stored runs ----

typedef struct st_detail {
	uint32_t key; // interned
	int64_t n;    // tokens, or pico-USD in cost details
} st_detail;

typedef struct st_run {
	uint8_t id[16];
	uint8_t trace_id[16];
	uint8_t parent_id[16];
	unsigned has;  // LLMCOST_LS_H_* of the run as merged so far
	int posted;    // a create was accepted
	int patched;   // an update was accepted
	int finalized; // end_time known: cost computed (or not) for good
	uint32_t session;
	uint8_t run_type;
	int64_t start_us;
	int64_t end_us;
	int64_t visible_us; // wall clock from which queries see it
	uint32_t name;
	uint32_t status;
	uint32_t provider;
	uint32_t model;
	char *dotted;
	char *error;
	uint32_t *tags;
	uint32_t n_tags;
	uint32_t *meta; // n_meta pairs: key, value (| META_JSON)
	uint32_t n_meta;
	// Usage as LangSmith read it (outputs first, then extra.metadata).
	int usage_src;
	unsigned cost_has; // LLMCOST_LS_U_*_COST: client-supplied costs
	int64_t cl_in;
	int64_t cl_out;
	int64_t cl_tot;
	int64_t in_tok;
	int64_t out_tok;
	int64_t tot_tok;
	st_detail *details; // n_in_d input details, then n_out_d output
	uint32_t n_in_d;
	uint32_t n_out_d;
	// Cost, computed once when the run is finalized.
	int priced; // 0 none, 1 price map, 2 client-supplied
	int64_t prompt_cost;
	int64_t completion_cost;
	int64_t total_cost;
	st_detail *cost_details; // n_in_cd, then n_out_cd
	uint32_t n_in_cd;
	uint32_t n_out_cd;
	int32_t price; // index in the price map in force then, or -1
	uint8_t price_id[16];
	json_t *payload;       // the merged run, unless payloads are dropped
	json_t *pending_patch; // an update that came before its create
} st_run;

typedef struct st_session {
	uint8_t id[16];
	char *name;
	int64_t created_us;
} st_session;

// ---- The price map ----

typedef struct price_detail {
	char key[LLMCOST_LS_DETAIL_KEY_MAX];
	int64_t ppt; // pico-USD per token
} price_detail;

typedef struct price_entry {
	char *name;
	char *pattern;
	regex_t re;
	char *provider; // NULL: any
	int64_t start_us;
	int64_t in_ppt;
	int64_t out_ppt;
	price_detail in_d[LLMCOST_LS_DETAILS_MAX];
	price_detail out_d[LLMCOST_LS_DETAILS_MAX];
	uint32_t n_in_d;
	uint32_t n_out_d;
	uint8_t id[16];
} price_entry;

typedef struct price_map {
	price_entry *e;
	size_t n;
} price_map;

// Parse a price map; on failure why says what is wrong.  0 or EINVAL.
int prices_load(const char *json, price_map *out, char *why, size_t whysz);
void prices_free(price_map *m);
// The built-in map (JSON text).
extern const char standin_default_prices[];
// Price r (an llm run with usage) with m, as LangSmith does; sets
// r->priced, the costs and details.  Needs s for interning detail keys.
struct standin;
void prices_apply(struct standin *s, const price_map *m, st_run *r);

// ---- Filters ----

typedef struct filter filter;
// Parse LangSmith's filter language.  0, or EINVAL with why.
int filter_parse(const char *text, filter **out, char *why, size_t whysz);
int filter_eval(const filter *f, const struct standin *s, const st_run *r);
void filter_free(filter *f);

// ---- Faults ----

#define STANDIN_FAULTS_MAX 64

// ---- The stand-in ----

struct standin {
	struct MHD_Daemon *mhd;
	uint16_t port;
	char url[64];
	char *api_key;
	int strict_start;
	int drop_payloads;
	pthread_mutex_t lock;
	pthread_cond_t wake; // slow answers wait on it; stop broadcasts
	int stopping;

	// knobs
	size_t max_body;
	unsigned cost_strings;
	int refuse_group_by;
	int lag_ms;
	int gzip_off; // GET /info says gzip_body_enabled false
	int hold;     // run uploads wait for standin_hold(s, 0)
	standin_fault faults[STANDIN_FAULTS_MAX];
	int fault_left[STANDIN_FAULTS_MAX];      // remaining uses, -1 forever
	uint64_t fault_seen[STANDIN_FAULTS_MAX]; // requests that reached it
	size_t n_faults;

	// counters
	uint64_t counts[STANDIN_EP_COUNT][600];
	uint64_t resets[STANDIN_EP_COUNT];
	uint64_t received[STANDIN_EP_COUNT];
	uint64_t n_stored;
	uint64_t n_dups;
	uint64_t n_gzip;  // requests whose body came gzip-encoded
	char tenant[128]; // the last x-tenant-id an accepted key came with

	// store
	strtab strs;
	st_run **runs; // by arrival
	size_t n_runs;
	size_t cap_runs;
	uint32_t *index;  // id hash: run index + 1, 0 = empty
	size_t nindex;    // power of two
	uint32_t *sorted; // run indices by (start_us, id)
	size_t n_sorted;
	int sorted_dirty;
	st_session *sessions;
	size_t n_sessions;
	size_t cap_sessions;
	price_map prices;
	uint64_t rng[2];
};

// standin.c: write status and a reason into err; returns code.
int standin_fail(llmcost_ls_error *err, int status, int code, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));

// store.c
st_run *store_find(const struct standin *s, const uint8_t id[16]);
// A run's status as the read API reports it: the stored status, else
// "error" when it has an error, else "success" once ended, else
// "pending".  The string is the store's (or static).
const char *store_run_status(const struct standin *s, const st_run *r);
// Store a checked batch; whole or nothing for validation (unknown
// session_id), duplicates skipped and listed in *dups (a JSON array of
// ids, or NULL when none).  Returns 0 or an error with err.
int store_apply(struct standin *s, llmcost_ls_batch *b, json_t **dups,
    llmcost_ls_error *err);
void store_sort(struct standin *s);
void store_clear(struct standin *s);
int store_session_by_name(const struct standin *s, const char *name);
int store_session_by_id(const struct standin *s, const uint8_t id[16]);
void store_uuid4(struct standin *s, uint8_t id[16]);
int64_t store_now_us(void);

// query.c: the read API.  Each returns 0 and *out (a JSON value to send
// with status 200), or an error with err.
int query_v1(struct standin *s, const json_t *body, json_t **out,
    llmcost_ls_error *err);
int query_v2(struct standin *s, const json_t *body, json_t **out,
    llmcost_ls_error *err);
int query_stats(struct standin *s, const json_t *body, json_t **out,
    llmcost_ls_error *err);
// GET /sessions with its query arguments (NULL when absent).
int query_sessions(struct standin *s, const char *name,
    const char *name_contains, const char *limit, const char *offset,
    const char *include_stats, json_t **out, llmcost_ls_error *err);
// A run as v1 returns it, every field.
json_t *query_run_v1(struct standin *s, const st_run *r);

#endif // LLMCOST_STANDIN_INT_H
