// DESIGN: budgets are evaluated off the ingest path.  The writer only
// raises a flag after each commit (alerts_committed: a mutex and a
// signal per transaction, not per call); the evaluation thread wakes on
// it, but runs at most once per --budget-interval-ms, so a burst of
// commits costs one evaluation, and the query work (a read transaction
// of data.mdb, which never blocks the writer) stays off the writer's
// thread.  It also runs once a minute without commits, so that a hard
// budget's exhaustion ends when its window does.  A crossing found by
// an evaluation is recorded in the outbox (outbox.c: once per budget,
// threshold and window, whatever the number of evaluations or
// restarts), and only then handed to the delivery thread, which posts
// it to each webhook with jittered exponential backoff and writes back
// each webhook's outcome.  A stop lets the post in progress finish
// (until the cut-off alerts_stop sets, stop_ms later) and records its
// outcome, but starts no new post: a 2xx is never lost to the stop, and
// only a post cut off at stop_ms, or by the daemon's stop bound, is
// posted again after a restart.  When one evaluation finds several new
// thresholds of a budget crossed at once (a burst, or a restart), only
// the highest is posted; the lower ones are recorded as skipped, so a
// reader gets one message, not three.  Webhook URLs appear in logs
// only redacted (webhook_redact).
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerts.h"
#include "budget.h"
#include "llmcost_proto.h"
#include "log.h"
#include "outbox.h"
#include "report.h"
#include "webhook.h"

// Retries of one alert at most; waits double from retry_ms up to this.
#define MAX_ATTEMPTS  12u
#define MAX_RETRY_MS  (5u * 60u * 1000u)
#define IDLE_EVAL_MS  60000 // an evaluation at least this often
#define PRUNE_AFTER_S (40 * 86400)
#define GUARD_MSG_MAX (64u * 1024u)

struct alerts {
	store *s;
	metrics *m;
	alerts_cfg cfg;
	char dir[LLMCOST__PATH_MAX];
	char file[LLMCOST__PATH_MAX];
	outbox *ob;
	budget_set *set; // the evaluation thread's
	pthread_t eval_thr, send_thr;
	int eval_started, send_started;
	pthread_mutex_t mtx;
	pthread_cond_t eval_cv, send_cv;
	int dirty, reload, send_kick;
	_Atomic int stopping;
	_Atomic int posting;       // the delivery thread is in a post
	_Atomic uint64_t abort_at; // a post's cut-off (mono ns), set at stop
	uint64_t rng;
	// The published BUDGET_STATE message, under mtx.
	unsigned char guard[GUARD_MSG_MAX];
	size_t guard_len;
	uint64_t guard_gen;
};

static void
cond_init_mono(pthread_cond_t *cv)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(cv, &ca);
	pthread_condattr_destroy(&ca);
}

static uint64_t
next_rand(alerts *a)
{
	// splitmix64: jitter only.
	uint64_t z = (a->rng += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return (z ^ (z >> 31));
}

// The wait before attempt `attempts` + 1: retry_ms doubled per attempt
// made, capped, drawn from [w/2, w] ("equal jitter"), so daemons that
// failed together do not retry together.
static uint64_t
retry_wait_ms(alerts *a, uint32_t attempts)
{
	uint64_t w = a->cfg.retry_ms;
	for (uint32_t i = 1; i < attempts && w < MAX_RETRY_MS; i++) {
		w *= 2;
	}
	if (w > MAX_RETRY_MS) {
		w = MAX_RETRY_MS;
	}
	return (w - (w / 2 > 0 ? next_rand(a) % (w / 2 + 1) : 0));
}

static int
load_budgets(alerts *a, budget_set **out, char *err, size_t errsz)
{
	int rv = budget_load(a->file, out, err, errsz);
	if (rv == LLMCOST_ENOTFOUND) {
		budget_set *empty = calloc(1, sizeof(*empty));
		if (empty == NULL) {
			return (LLMCOST_ENOMEM);
		}
		*out = empty;
		return (0);
	}
	return (rv);
}

// Builds the BUDGET_STATE message of the exhausted hard budgets.
static void
publish_guard(alerts *a, const budget *const *ex, size_t n)
{
	static llmcost_proto_guard gs[LLMCOST_PROTO_MAX_GUARDS]; // eval thread
	llmcost_proto_budget_state bs;
	llmcost_proto_buf buf = { NULL, 0, 0, GUARD_MSG_MAX };
	llmcost_proto_enc enc;

	memset(&bs, 0, sizeof(bs));
	bs.guards = gs;
	for (size_t i = 0; i < n && bs.n < LLMCOST_PROTO_MAX_GUARDS; i++) {
		llmcost_proto_guard *g = &gs[bs.n++];
		const budget *b = ex[i];
		for (unsigned j = 0; j < b->n_match; j++) {
			const budget_match *m = &b->match[j];
			g->conds[j].dim = m->dim == BUDGET_DIM_PROVIDER
			    ? LLMCOST_GUARD_PROVIDER
			    : m->dim == BUDGET_DIM_MODEL ? LLMCOST_GUARD_MODEL
			                                 : LLMCOST_GUARD_META;
			// Provider and model conditions carry no key.
			int meta = g->conds[j].dim == LLMCOST_GUARD_META;
			g->conds[j].key.ptr = meta ? m->key : NULL;
			g->conds[j].key.len
			    = meta ? (uint32_t) strlen(m->key) : 0;
			g->conds[j].val.ptr = m->value;
			g->conds[j].val.len = (uint32_t) strlen(m->value);
		}
		g->n_conds = b->n_match;
	}
	pthread_mutex_lock(&a->mtx);
	bs.generation = ++a->guard_gen;
	llmcost_proto_enc_init(&enc, llmcost_proto_buf_write, &buf, 0);
	int rv = llmcost_proto_enc_budget_state(&enc, &bs);
	if (rv == 0 && buf.len <= sizeof(a->guard)) {
		memcpy(a->guard, buf.data, buf.len);
		a->guard_len = buf.len;
	}
	pthread_mutex_unlock(&a->mtx);
	if (rv != 0) {
		METRICS_INC(a->m, budget_errors, 1);
		log_msg(LLMCOST_LOG_ERR,
		    "the hard budgets' state cannot be encoded (%s): the "
		    "shims keep the previous one",
		    llmcost_strerror(rv));
	}
	llmcost_proto_buf_free(&buf);
}

size_t
alerts_guard_state(alerts *a, void *buf, size_t bufsz)
{
	size_t n = 0;
	pthread_mutex_lock(&a->mtx);
	if (a->guard_len <= bufsz) {
		memcpy(buf, a->guard, a->guard_len);
		n = a->guard_len;
	}
	pthread_mutex_unlock(&a->mtx);
	return (n);
}

static void
fill_rec(outbox_rec *r, const budget *b, const budget_status *st, unsigned ti,
    int64_t now)
{
	memset(r, 0, sizeof(*r));
	r->version = 1;
	r->threshold = b->thresholds[ti];
	r->hard = (uint8_t) b->hard;
	r->kind = (uint8_t) b->window;
	r->pct_bp = st->pct_bp;
	r->window_from = st->from;
	r->window_to = st->to;
	r->window_id = budget_window_id(b, now);
	r->crossed_at = now;
	r->next_ns = (int64_t) llmcost__now_ns();
	r->limit_pusd = b->limit_pusd;
	r->spend_lo = (uint64_t) st->spend;
	r->spend_hi = (uint64_t) ((unsigned __int128) st->spend >> 64);
	memcpy(r->name, b->name, sizeof(r->name));
	snprintf(r->zone, sizeof(r->zone), "%s", tz_name(b->zone));
	r->n_hooks = (uint8_t) b->n_hooks;
	for (unsigned h = 0; h < b->n_hooks; h++) {
		r->hooks[h].format = (uint8_t) b->hooks[h].format;
		memcpy(
		    r->hooks[h].url, b->hooks[h].url, sizeof(r->hooks[h].url));
	}
}

static void
evaluate(alerts *a, int *errlogged)
{
	budget_set *set = a->set;
	store_rtxn *t;
	outbox_rec recs[BUDGET_MAX_THRESHOLDS];
	int isnew[BUDGET_MAX_THRESHOLDS];
	const budget **ex = NULL;
	size_t nex = 0;
	int64_t now = (int64_t) (llmcost__now_ns() / 1000000000u);
	int kick = 0;

	if (set->n > 0 && (ex = calloc(set->n, sizeof(*ex))) == NULL) {
		METRICS_INC(a->m, budget_errors, 1);
		return;
	}
	if (store_read_begin(a->s, &t) != 0) {
		METRICS_INC(a->m, budget_errors, 1);
		free(ex);
		return;
	}
	for (size_t i = 0; i < set->n; i++) {
		const budget *b = &set->b[i];
		budget_status st;
		int rv = budget_eval(t, b, now, &st);
		if (rv != 0) {
			METRICS_INC(a->m, budget_errors, 1);
			if (!errlogged[i]) {
				log_msg(LLMCOST_LOG_WARNING,
				    "budget [%s]: cannot evaluate: %s",
				    b->name, llmcost_strerror(rv));
				errlogged[i] = 1;
			}
			continue;
		}
		if (b->hard && st.state == BUDGET_EXHAUSTED) {
			ex[nex++] = b;
		}
		if (st.crossed < 0) {
			continue;
		}
		unsigned n = (unsigned) st.crossed + 1;
		for (unsigned k = 0; k < n; k++) {
			fill_rec(&recs[k], b, &st, k, now);
			recs[k].state = OUTBOX_SKIPPED;
		}
		// The highest crossed threshold is the one to post, if it
		// is new; lower ones new in the same round are skipped.
		recs[n - 1].state
		    = b->n_hooks > 0 ? OUTBOX_PENDING : OUTBOX_SKIPPED;
		if (outbox_record(a->ob, recs, n, isnew) != 0) {
			METRICS_INC(a->m, budget_errors, 1);
			continue;
		}
		for (unsigned k = 0; k < n; k++) {
			if (!isnew[k]) {
				continue;
			}
			METRICS_INC(a->m, alerts_crossed, 1);
			char spend[64], limit[64];
			report_fmt_usd(st.spend, 6, spend, sizeof(spend));
			report_fmt_usd(b->limit_pusd, 6, limit, sizeof(limit));
			if (recs[k].state == OUTBOX_DROPPED) {
				METRICS_INC(a->m, alerts_dropped, 1);
				log_msg(LLMCOST_LOG_ERR,
				    "budget [%s] crossed %u%% ($%s of $%s) "
				    "but "
				    "the alert outbox holds %u pending alerts "
				    "already: this one is not sent",
				    b->name, recs[k].threshold, spend, limit,
				    OUTBOX_MAX_PENDING);
			} else if (recs[k].state == OUTBOX_PENDING) {
				kick = 1;
				log_msg(LLMCOST_LOG_NOTICE,
				    "budget [%s] crossed %u%%: $%s of $%s "
				    "(%u.%02u%%); alerting %u webhook%s",
				    b->name, recs[k].threshold, spend, limit,
				    st.pct_bp / 100, st.pct_bp % 100,
				    b->n_hooks, b->n_hooks == 1 ? "" : "s");
			} else if (k == n - 1) {
				log_msg(LLMCOST_LOG_NOTICE,
				    "budget [%s] crossed %u%%: $%s of $%s "
				    "(no webhook)",
				    b->name, recs[k].threshold, spend, limit);
			}
		}
	}
	store_read_end(t);
	publish_guard(a, ex, nex);
	free(ex);
	// Counted once done: a reader that sees the count sees the
	// evaluation's crossings recorded and its guard state published.
	METRICS_INC(a->m, budget_evaluations, 1);
	if (kick) {
		pthread_mutex_lock(&a->mtx);
		a->send_kick = 1;
		pthread_cond_signal(&a->send_cv);
		pthread_mutex_unlock(&a->mtx);
	}
}

static void *
eval_main(void *arg)
{
	alerts *a = arg;
	int *errlogged = calloc(BUDGET_MAX, sizeof(int));
	uint64_t last = 0;

	pthread_setname_np(pthread_self(), "llmcostd-budget");
	pthread_mutex_lock(&a->mtx);
	while (!a->stopping) {
		uint64_t now = llmcost__mono_ns();
		uint64_t next_ok = last + a->cfg.interval_ms * 1000000u;
		if ((a->dirty || a->reload) && (last == 0 || now >= next_ok)) {
			int reload = a->reload;
			a->dirty = 0;
			a->reload = 0;
			pthread_mutex_unlock(&a->mtx);
			if (reload) {
				budget_set *ns;
				char err[768];
				int rv
				    = load_budgets(a, &ns, err, sizeof(err));
				if (rv == 0) {
					budget_set_free(a->set);
					a->set = ns;
					if (errlogged != NULL) {
						memset(errlogged, 0,
						    BUDGET_MAX * sizeof(int));
					}
					log_msg(LLMCOST_LOG_NOTICE,
					    "budgets reloaded: %zu from %s",
					    ns->n, a->file);
				} else {
					log_msg(LLMCOST_LOG_ERR,
					    "budgets not reloaded, the %zu in "
					    "force stay: %s",
					    a->set->n, err);
				}
			}
			if (errlogged != NULL) {
				evaluate(a, errlogged);
			}
			last = llmcost__mono_ns();
			pthread_mutex_lock(&a->mtx);
			continue;
		}
		uint64_t wait_ms = a->dirty || a->reload
		    ? (next_ok - now) / 1000000u + 1
		    : (uint64_t) IDLE_EVAL_MS;
		struct timespec dl = llmcost__deadline_ms((int32_t) wait_ms);
		if (pthread_cond_timedwait(&a->eval_cv, &a->mtx, &dl) != 0
		    && !a->dirty) {
			a->dirty = 1; // the idle evaluation
		}
	}
	pthread_mutex_unlock(&a->mtx);
	free(errlogged);
	return (NULL);
}

// Posts r to its webhooks not yet answered, writing back each outcome.
static void
deliver(alerts *a, webhook_client *wc, outbox_rec *r)
{
	char body[2048], id[160], red[BUDGET_URL_MAX + 8], why[128];
	webhook_alert wa;
	int retry = 0, stopped = 0;
	static const char *const kinds[]
	    = { "day", "week", "month", "rolling" };

	wa.budget = r->name;
	wa.zone = r->zone;
	wa.kind = kinds[r->kind < 4 ? r->kind : 3];
	wa.window_from = r->window_from;
	wa.window_to = r->window_to;
	wa.window_id = r->window_id;
	wa.crossed_at = r->crossed_at;
	wa.threshold = r->threshold;
	wa.pct_bp = r->pct_bp;
	wa.spend_pusd = (store_i128) (((unsigned __int128) r->spend_hi << 64)
	    | r->spend_lo);
	wa.limit_pusd = r->limit_pusd;
	wa.hard = r->hard;
	webhook_alert_id(&wa, id, sizeof(id));
	r->attempts++;
	for (unsigned h = 0; h < r->n_hooks && h < BUDGET_MAX_HOOKS; h++) {
		unsigned bit = 1u << h;
		if ((r->hook_done | r->hook_refused) & bit) {
			continue;
		}
		if (a->stopping) {
			// No new post once stopping; the rest stays pending.
			stopped = 1;
			break;
		}
		int status;
		webhook_redact(r->hooks[h].url, red, sizeof(red));
		if (webhook_payload(&wa,
		        (budget_hook_format) r->hooks[h].format, body,
		        sizeof(body))
		    < 0) {
			r->hook_refused |= (uint8_t) bit;
			continue;
		}
		a->posting = 1;
		webhook_result res = webhook_post(
		    wc, r->hooks[h].url, id, body, &status, why, sizeof(why));
		a->posting = 0;
		if (res == WEBHOOK_DELIVERED) {
			r->hook_done |= (uint8_t) bit;
			METRICS_INC(a->m, alerts_delivered, 1);
			log_msg(LLMCOST_LOG_INFO, "alert %s delivered to %s",
			    id, red);
		} else if (res == WEBHOOK_REFUSED) {
			r->hook_refused |= (uint8_t) bit;
			METRICS_INC(a->m, alerts_failed, 1);
			log_msg(LLMCOST_LOG_ERR,
			    "alert %s refused by %s (%s): not retried; check "
			    "the webhook in the budgets file",
			    id, red, why);
		} else if (a->stopping) {
			// Failed, or cut off, during the stop: still pending,
			// and not counted as an attempt.
			stopped = 1;
			log_msg(LLMCOST_LOG_WARNING,
			    "alert %s to %s not confirmed before the stop "
			    "(%s): posted again after the restart",
			    id, red, why);
		} else {
			retry = 1;
			log_msg(LLMCOST_LOG_WARNING,
			    "alert %s to %s failed (%s), attempt %u of %u", id,
			    red, why, r->attempts, MAX_ATTEMPTS);
		}
		// Each outcome is written at once: a restart posts only to
		// webhooks that have not answered.
		if (outbox_update(a->ob, r) != 0) {
			METRICS_INC(a->m, budget_errors, 1);
		}
		if (stopped) {
			break;
		}
	}
	if (stopped) {
		// The round is not counted; the alert stays pending.
		r->attempts--;
	} else if (retry && r->attempts < MAX_ATTEMPTS) {
		METRICS_INC(a->m, alerts_retried, 1);
		r->next_ns = (int64_t) (llmcost__now_ns()
		    + retry_wait_ms(a, r->attempts) * 1000000u);
	} else if (retry) {
		for (unsigned h = 0; h < r->n_hooks; h++) {
			if (!(r->hook_done & (1u << h))) {
				r->hook_refused |= (uint8_t) (1u << h);
				METRICS_INC(a->m, alerts_failed, 1);
			}
		}
		log_msg(LLMCOST_LOG_ERR,
		    "alert %s: giving up after %u attempts", id, r->attempts);
		r->state = OUTBOX_FAILED;
	} else {
		r->state = r->hook_refused ? OUTBOX_FAILED : OUTBOX_DONE;
	}
	if (outbox_update(a->ob, r) != 0) {
		METRICS_INC(a->m, budget_errors, 1);
	}
}

static void *
send_main(void *arg)
{
	alerts *a = arg;
	webhook_client *wc = NULL;
	outbox_rec r;

	pthread_setname_np(pthread_self(), "llmcostd-hooks");
	if (webhook_client_new(&wc, (uint32_t) a->cfg.timeout_ms, &a->abort_at)
	    != 0) {
		log_msg(LLMCOST_LOG_ERR, "alerts: cannot start libcurl");
		return (NULL);
	}
	(void) outbox_prune(a->ob,
	    (int64_t) (llmcost__now_ns() / 1000000000u) - PRUNE_AFTER_S);
	for (;;) {
		int32_t wait_ms = IDLE_EVAL_MS;
		uint64_t counts[6];
		int rv = outbox_next(a->ob, &r);
		if (a->stopping) {
			break;
		}
		if (outbox_counts(a->ob, counts) == 0) {
			atomic_store_explicit(&a->m->alerts_pending,
			    counts[OUTBOX_PENDING], memory_order_relaxed);
		}
		METRICS_INC(a->m, alert_scans, 1);
		if (rv == 0) {
			int64_t now = (int64_t) llmcost__now_ns();
			if (r.next_ns <= now) {
				deliver(a, wc, &r);
				continue;
			}
			int64_t d = (r.next_ns - now) / 1000000 + 1;
			wait_ms
			    = d < IDLE_EVAL_MS ? (int32_t) d : IDLE_EVAL_MS;
		}
		pthread_mutex_lock(&a->mtx);
		struct timespec dl = llmcost__deadline_ms(wait_ms);
		while (!a->stopping && !a->send_kick
		    && pthread_cond_timedwait(&a->send_cv, &a->mtx, &dl)
		        == 0) { }
		a->send_kick = 0;
		pthread_mutex_unlock(&a->mtx);
	}
	webhook_client_free(wc);
	return (NULL);
}

int
alerts_start(alerts **ap, store *s, metrics *m, const alerts_cfg *cfg,
    char *err, size_t errsz)
{
	alerts *a = calloc(1, sizeof(*a));
	int rv;

	if (a == NULL) {
		snprintf(err, errsz, "out of memory");
		return (LLMCOST_ENOMEM);
	}
	a->s = s;
	a->m = m;
	a->cfg = *cfg;
	snprintf(a->dir, sizeof(a->dir), "%s", cfg->data_dir);
	snprintf(a->file, sizeof(a->file), "%s", cfg->budgets_file);
	a->cfg.data_dir = a->dir;
	a->cfg.budgets_file = a->file;
	a->rng = llmcost__now_ns() ^ (uint64_t) (uintptr_t) a;
	if ((rv = load_budgets(a, &a->set, err, errsz)) != 0) {
		free(a);
		return (rv);
	}
	if ((rv = outbox_open(&a->ob, a->dir, err, errsz)) != 0) {
		budget_set_free(a->set);
		free(a);
		return (rv);
	}
	pthread_mutex_init(&a->mtx, NULL);
	cond_init_mono(&a->eval_cv);
	cond_init_mono(&a->send_cv);
	publish_guard(a, NULL, 0);
	// The first evaluation runs at once: crossings committed before a
	// crash or a restart are found without waiting for new calls.
	a->dirty = 1;
	if (pthread_create(&a->eval_thr, NULL, eval_main, a) != 0) {
		snprintf(err, errsz, "cannot start the budget thread");
		alerts_free(a);
		return (LLMCOST_ESYSTEM);
	}
	a->eval_started = 1;
	if (pthread_create(&a->send_thr, NULL, send_main, a) != 0) {
		snprintf(err, errsz, "cannot start the webhook thread");
		alerts_free(a);
		return (LLMCOST_ESYSTEM);
	}
	a->send_started = 1;
	log_msg(LLMCOST_LOG_INFO, "budgets: %zu from %s", a->set->n, a->file);
	*ap = a;
	return (0);
}

void
alerts_committed(alerts *a)
{
	if (a == NULL) {
		return;
	}
	pthread_mutex_lock(&a->mtx);
	if (!a->dirty) {
		a->dirty = 1;
		pthread_cond_signal(&a->eval_cv);
	}
	pthread_mutex_unlock(&a->mtx);
}

void
alerts_reload(alerts *a)
{
	if (a == NULL) {
		return;
	}
	pthread_mutex_lock(&a->mtx);
	a->reload = 1;
	pthread_cond_signal(&a->eval_cv);
	pthread_mutex_unlock(&a->mtx);
}

void
alerts_stop(alerts *a)
{
	if (a == NULL) {
		return;
	}
	// The cut-off is set before the stop is seen: a post in progress
	// is given stop_ms to finish and have its outcome recorded.
	uint64_t cut = a->cfg.stop_ms > 0 ? a->cfg.stop_ms : 1;
	a->abort_at = llmcost__mono_ns() + cut * 1000000u;
	pthread_mutex_lock(&a->mtx);
	a->stopping = 1;
	if (a->posting) {
		METRICS_INC(a->m, alerts_stop_waits, 1);
		log_msg(LLMCOST_LOG_NOTICE,
		    "stopping: waiting for the alert post in progress "
		    "(at most %llu ms)",
		    (unsigned long long) cut);
	}
	pthread_cond_broadcast(&a->eval_cv);
	pthread_cond_broadcast(&a->send_cv);
	pthread_mutex_unlock(&a->mtx);
	if (a->eval_started) {
		pthread_join(a->eval_thr, NULL);
		a->eval_started = 0;
	}
	if (a->send_started) {
		pthread_join(a->send_thr, NULL);
		a->send_started = 0;
	}
	outbox_close(a->ob);
	a->ob = NULL;
}

void
alerts_free(alerts *a)
{
	if (a == NULL) {
		return;
	}
	alerts_stop(a);
	budget_set_free(a->set);
	pthread_cond_destroy(&a->eval_cv);
	pthread_cond_destroy(&a->send_cv);
	pthread_mutex_destroy(&a->mtx);
	free(a);
}
