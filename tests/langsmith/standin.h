// A strict LangSmith stand-in: a local HTTP server (libmicrohttpd) that
// speaks LangSmith's ingest and read API as the reference describes it and
// as the official SDKs call it, keeps the runs it accepts, prices them as
// LangSmith documents, and fails on command.  Used in-process by C tests
// (start, script faults, read what was stored, stop) and as the program
// llmcost-langsmith-standin for benchmarks and manual use.  README.md in
// this folder documents the endpoints, the choices made where LangSmith's
// behaviour is unconfirmed, and the price map format.
//
// Endpoints (v1 routes also answer under /api/v1, as on SaaS):
//   GET   /info                     server info, batch_ingest_config
//   POST  /runs/multipart           multipart ingest (chunked or not)
//   POST  /runs/batch               {"post": [...], "patch": [...]}
//   POST  /runs                     one run
//   PATCH /runs/{id}                one update
//   GET   /api/v1/sessions?name=    projects as a JSON array
//   POST  /api/v1/runs/query        v1 query, costs as decimal strings
//   POST  /api/v2/runs/query        v2 query, cursor paging, costs numbers
//   POST  /api/v1/runs/stats        totals, group_by a metadata key etc.
//
// Threading: every function may be called from any thread while the
// server runs, except standin_stop(), which must not race the others.
#ifndef LLMCOST_STANDIN_H
#define LLMCOST_STANDIN_H

#include <stddef.h>
#include <stdint.h>

#include "llmcost_langsmith.h"

typedef struct standin standin;

// The endpoints, for faults and counters.
typedef enum standin_ep {
	STANDIN_EP_INFO = 0,
	STANDIN_EP_MULTIPART,
	STANDIN_EP_BATCH,
	STANDIN_EP_RUNS,  // POST /runs
	STANDIN_EP_PATCH, // PATCH /runs/{id}
	STANDIN_EP_SESSIONS,
	STANDIN_EP_QUERY_V1,
	STANDIN_EP_QUERY_V2,
	STANDIN_EP_STATS,
	STANDIN_EP_OTHER, // unknown paths (404); a wrong method on a known
	                  // path (405) counts under that path's endpoint
	STANDIN_EP_COUNT,
	STANDIN_EP_ANY = -1, // faults: every endpoint
} standin_ep;

// Which endpoints serve costs as decimal strings rather than numbers
// (standin_set_cost_strings).  LangSmith's defaults: v1 query and sessions
// as strings, v2 query and stats as numbers.
#define STANDIN_COSTS_QUERY_V1 0x1u
#define STANDIN_COSTS_QUERY_V2 0x2u
#define STANDIN_COSTS_STATS    0x4u
#define STANDIN_COSTS_SESSIONS 0x8u
#define STANDIN_COSTS_DEFAULT  (STANDIN_COSTS_QUERY_V1 | STANDIN_COSTS_SESSIONS)

typedef struct standin_options {
	// Host to bind: NULL means 127.0.0.1.  Port 0: the kernel chooses
	// (read it back with standin_port()).
	const char *host;
	uint16_t port;
	// The API key to accept in x-api-key.  NULL: any non-empty key.
	const char *api_key;
	// The price map as JSON text (README.md); NULL: the built-in one.
	const char *prices_json;
	// Bodies above this many bytes (after gzip decoding) get 413.  0: 21
	// MiB (LangSmith's batch limit of 20 MiB plus framing).
	size_t max_body;
	// Keep inputs, outputs, extra, events and serialized of every run
	// (0) or only the fields the read API computes on (1: far less
	// memory for millions of runs).
	int drop_payloads;
	// Also refuse a run whose start_time differs from its dotted_order's
	// last timestamp (the SDKs keep them equal; LangSmith does not check).
	int strict_start;
} standin_options;

// Start a server.  Returns 0 and *sp; LLMCOST_EINVAL (a bad price map or
// option), LLMCOST_ECONNECT (cannot bind), LLMCOST_ENOMEM.
int standin_start(const standin_options *opts, standin **sp);

// Stop the server (in-flight requests are cut short, slow answers are
// woken) and free everything.  NULL is fine.
void standin_stop(standin *s);

// The bound port, and the base URL "http://127.0.0.1:<port>" (owned by s).
uint16_t standin_port(const standin *s);
const char *standin_url(const standin *s);

// ---- Faults, scripted per test ----

typedef struct standin_fault {
	standin_ep ep;   // STANDIN_EP_ANY for every endpoint
	int status;      // answer this status (with an error body); 0: none
	int retry_after; // with a Retry-After header of this many seconds;
	                 // 0: no Retry-After
	int delay_ms;    // wait this long before answering
	int reset;       // cut the connection mid-request instead of
	                 // answering (after the first body bytes arrive)
	int after_store; // process the request first (store the runs), then
	                 // fail: the answer is lost but the data is kept
	int times;       // requests it applies to at most; 0: 1; -1: no limit
	int skip;        // let this many matching requests pass first
	int every;       // then apply to every Nth matching request (0, 1:
	                 // each one)
} standin_fault;

// Add a fault rule.  Rules are tried in the order added; each counts the
// requests for its endpoint that reach it (no earlier rule fired), and the
// first that fires takes the request.  Returns 0 or LLMCOST_EFULL (at
// most 64 rules).
int standin_fault_add(standin *s, const standin_fault *f);

// Remove every fault rule.
void standin_faults_clear(standin *s);

// ---- Knobs ----

// Answer 413 above this many body bytes from now on (0: the default).
void standin_set_max_body(standin *s, size_t bytes);

// Which endpoints serve costs as strings (STANDIN_COSTS_*).
void standin_set_cost_strings(standin *s, unsigned mask);

// Refuse group_by in /runs/stats with 400 (to test a client's fallback).
void standin_set_refuse_group_by(standin *s, int refuse);

// Runs become visible to queries and stats this long after they are
// accepted (LangSmith ingests asynchronously).  0: at once.
void standin_set_ingest_lag_ms(standin *s, int lag_ms);

// Replace the price map (JSON text, README.md; NULL: the built-in one).
// Runs already priced keep their cost, as LangSmith does not backfill.  Returns 0 or LLMCOST_EINVAL
// (the map is unchanged then; a reason goes to stderr).
int standin_set_prices(standin *s, const char *prices_json);

// ---- What was received ----

// Requests answered with status on ep (status 0: every answered request;
// STANDIN_RESET: connections cut by a reset fault).
#define STANDIN_RESET (-1)
uint64_t standin_count(standin *s, standin_ep ep, int status);

// Requests that arrived on ep (answered, cut, or still in progress).
uint64_t standin_received(standin *s, standin_ep ep);

// Runs stored (creates accepted, not counting duplicates), and creates and
// updates refused as duplicates.
uint64_t standin_runs(standin *s);
uint64_t standin_duplicates(standin *s);
// Requests whose body arrived gzip-encoded (and decoded), since start or
// reset.
uint64_t standin_gzipped(standin *s);
// on: run uploads (POST /runs/multipart, /runs/batch, /runs) wait,
// unanswered and before any fault, until standin_hold(s, 0) or stop: a
// LangSmith that stopped answering, released at a point the test chooses.
void standin_hold(standin *s, int on);
// The x-tenant-id header of the last request with an accepted key ("" when
// it had none), into out (sz bytes, truncated), since start or reset.
void standin_tenant(standin *s, char *out, size_t sz);
// What GET /info says in instance_flags.gzip_body_enabled (default on;
// standin_restore turns it on again).
void standin_set_gzip_flag(standin *s, int on);

// A stored run as the v1 query returns it with every field selected
// (JSON text, malloc'd: free() it).  Returns 0 or LLMCOST_ENOTFOUND.
int standin_run_json(standin *s, const char *id, char **json);

// Every stored run (those whose create arrived), in arrival order, as a
// JSON array of what standin_run_json() gives (malloc'd: free() it).
// Returns 0 or LLMCOST_ENOMEM.
int standin_runs_json(standin *s, char **json);

// The id of project name, created when its first run arrived, as a
// 36-character string into out[37].  Returns 0 or LLMCOST_ENOTFOUND.
int standin_session_id(standin *s, const char *name, char out[37]);

// Forget every run, project and counter (faults and knobs stay).
void standin_reset(standin *s);

// standin_reset(), and also remove every fault rule and put every knob
// back to its default (the built-in price map, whatever the options at
// start said): what a test fixture calls before each test.  Returns 0 or
// what standin_set_prices() returns.
int standin_restore(standin *s);

// ---- Endpoints names ----

// "multipart", "query_v2", ... (static), or "?" out of range.
const char *standin_ep_name(int ep);

#endif // LLMCOST_STANDIN_H
