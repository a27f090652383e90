// DESIGN: nng's rep0 protocol with contexts (nng "raw" is not needed): a
// fixed number of contexts each loop receive -> handle -> send.  Decoding
// and validation run in the aio callback; a well-formed batch becomes a
// writer job and its context waits, unanswered, until the writer commits,
// so the client's ACK always means "durable".  Malformed messages are
// answered with a REJECTED ack carrying the decoder's reason, counted, and
// logged at most once a second; the context goes straight back to
// receiving, so garbage never stops the daemon.  The request message
// stays alive while its batch is in the writer: decoded strings point
// into it.  Every batch allocates a few hundred KiB (the message, the
// decoder's working memory, the decoded arrays) and frees it once
// acknowledged; with glibc's default thresholds those blocks are mapped
// and unmapped, or the heap trimmed, on every batch, and each page is
// faulted in again (a sixth of the daemon's CPU in a profile), so ingest
// keeps freed memory for reuse up to the bound of what the contexts can
// hold at once (malloc_keep).
//
// The stop: every nng_ctx_send and nng_ctx_recv is started only while
// the ingest is open, and counted while it is being started (the count,
// not a lock held across the call, so that nng may call back on the same
// thread).  ingest_close marks it closing and waits for that count to
// drop to zero, so from then on no operation is being started and none
// will be: an answer made later (a batch that arrived after writer_stop
// and is answered "retry") is freed here instead of sent, and its client
// resends.  Only then is the socket
// closed.  Without that gate an answer could be started while nng tears
// the socket down, on a context or pipe aio that nng has already stopped:
// nng then neither sends it, nor frees it, nor calls back, and the
// message leaks.  For the same reason the request message is taken off
// the aio when it arrives, and ingest_free frees whatever message an
// aio still holds once it is stopped: an operation that never started
// leaves its message with the caller.
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>

#include "alerts.h"
#include "ingest.h"
#include "llmcost_common.h"
#include "log.h"
#include "parked.h"
#include "probe.h"

// How long the watchdog waits for a STATS answer from its own listener.
#define PROBE_TIMEOUT_MS 2000
// How long after replacing a wedged listener the connections nng left
// parked on it are closed (parked.c).
#define PARKED_GRACE_MS 3000

enum { CTX_RECV, CTX_SEND, CTX_WRITE };

typedef struct ingest_ctx {
	ingest *in;
	nng_ctx ctx;
	nng_aio *aio;
	int state;
	nng_msg *req;
	llmcost_proto_msg decoded;
	writer_job job;
	querier_job qjob;
} ingest_ctx;

struct ingest {
	nng_socket sock;
	nng_listener listener;
	char url[LLMCOST__URL_MAX];
	// The listener's "other" + "canceled" errors when it last answered a
	// probe (or 0 for a new listener): more errors since mean a probe.
	uint64_t errors_ok;
	parked *parked;
	writer *w;
	querier *qr;
	metrics *m;
	int nctx;
	ingest_ctx *ctxs;
	// Guards closing and starting: how many nng operations are being
	// started on contexts right now.  done is signalled when starting
	// drops to zero while closing.
	pthread_mutex_t mtx;
	pthread_cond_t done;
	int closing;
	int starting;
	_Atomic uint64_t last_reject_log; // seconds
	alerts *_Atomic alerts;           // BUDGET_STATE's source; NULL: none
};

static int
msg_write(void *arg, const char *buf, size_t len)
{
	return (nng_msg_append((nng_msg *) arg, buf, len) == 0 ? 0 : -1);
}

// Returns 0 if an nng operation may be started (then call gate_leave
// once it is), or -1 once the ingest is closing.
static int
gate_enter(ingest *in)
{
	int rv = 0;

	pthread_mutex_lock(&in->mtx);
	if (in->closing) {
		rv = -1;
	} else {
		in->starting++;
	}
	pthread_mutex_unlock(&in->mtx);
	return (rv);
}

static void
gate_leave(ingest *in)
{
	pthread_mutex_lock(&in->mtx);
	if (--in->starting == 0 && in->closing) {
		pthread_cond_broadcast(&in->done);
	}
	pthread_mutex_unlock(&in->mtx);
}

static void
start_recv(ingest_ctx *c)
{
	c->state = CTX_RECV;
	if (gate_enter(c->in) == 0) {
		nng_ctx_recv(c->ctx, c->aio);
		gate_leave(c->in);
	}
}

// Sends reply (owned from here on) and then receives the next request.
static void
send_reply(ingest_ctx *c, nng_msg *reply)
{
	ingest *in = c->in;

	if (reply == NULL) {
		// Out of memory: no answer; the client will resend.
		start_recv(c);
		return;
	}
	if (gate_enter(in) != 0) {
		// Not sent: nothing unanswered was acknowledged, and its
		// client resends it.
		c->state = CTX_RECV;
		nng_msg_free(reply);
		return;
	}
	c->state = CTX_SEND;
	nng_aio_set_msg(c->aio, reply);
	nng_ctx_send(c->ctx, c->aio);
	gate_leave(in);
}

static nng_msg *
make_ack(const uint8_t client_id[16], uint64_t seq, uint32_t status,
    const store_batch_result *res, const char *reason)
{
	llmcost_proto_ack a;
	llmcost_proto_enc enc;
	nng_msg *m;

	memset(&a, 0, sizeof(a));
	if (client_id != NULL) {
		memcpy(a.client_id, client_id, 16);
	}
	a.seq = seq;
	a.status = status;
	if (res != NULL) {
		a.stored = res->stored;
		a.duplicates = res->duplicates;
	}
	a.reason.ptr = reason;
	a.reason.len = (uint32_t) strlen(reason);
	// Every ACK says that this collector reads TBATCH, so that a shim
	// sends it only on a connection that answered so.
	a.features = LLMCOST_PROTO_FEAT_TBATCH;
	if (nng_msg_alloc(&m, 0) != 0) {
		return (NULL);
	}
	llmcost_proto_enc_init(&enc, msg_write, m, 0);
	if (llmcost_proto_enc_ack(&enc, &a) != 0) {
		nng_msg_free(m);
		return (NULL);
	}
	return (m);
}

static nng_msg *
make_stats(metrics *mt)
{
	static const char *names[] = {
#define NAME(name, help) #name,
		METRICS_MAP(NAME)
#undef NAME
	};
	_Static_assert(
	    sizeof(names) / sizeof(names[0]) <= LLMCOST_PROTO_MAX_STATS,
	    "every counter fits one STATS reply");
	_Static_assert(sizeof(names) / sizeof(names[0]) * sizeof(uint64_t)
	        == sizeof(metrics),
	    "metrics is an array of counters in table order");
	const _Atomic uint64_t *vals = (const _Atomic uint64_t *) mt;
	llmcost_proto_stats s;
	llmcost_proto_enc enc;
	nng_msg *m;

	memset(&s, 0, sizeof(s));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		s.names[i].ptr = names[i];
		s.names[i].len = (uint32_t) strlen(names[i]);
		s.values[i] = atomic_load(&vals[i]);
		s.n++;
	}
	if (nng_msg_alloc(&m, 0) != 0) {
		return (NULL);
	}
	llmcost_proto_enc_init(&enc, msg_write, m, 0);
	if (llmcost_proto_enc_stats(&enc, &s) != 0) {
		nng_msg_free(m);
		return (NULL);
	}
	return (m);
}

// The current BUDGET_STATE (alerts.c builds it after each evaluation);
// with no alerts yet, an empty state of generation 0.
static nng_msg *
make_budget_state(ingest *in)
{
	static const unsigned char empty[] = { 0x94, 0x01, 0x08, 0x00, 0x90 };
	unsigned char buf[64 * 1024];
	alerts *a = atomic_load(&in->alerts);
	size_t n = a != NULL ? alerts_guard_state(a, buf, sizeof(buf)) : 0;
	nng_msg *m;

	if (n == 0) {
		memcpy(buf, empty, sizeof(empty));
		n = sizeof(empty);
	}
	if (nng_msg_alloc(&m, 0) != 0 || nng_msg_append(m, buf, n) != 0) {
		return (NULL);
	}
	return (m);
}

void
ingest_set_alerts(ingest *in, alerts *a)
{
	atomic_store(&in->alerts, a);
}

static void
reject(ingest_ctx *c, int rv, const char *reason)
{
	ingest *in = c->in;
	METRICS_INC(in->m, msgs_rejected, 1);
	if (rv == LLMCOST_ETOOBIG) {
		METRICS_INC(in->m, rejected_too_big, 1);
	} else {
		METRICS_INC(in->m, rejected_malformed, 1);
	}
	uint64_t now = (uint64_t) time(NULL);
	uint64_t last = atomic_load(&in->last_reject_log);
	if (now != last
	    && atomic_compare_exchange_strong(
	        &in->last_reject_log, &last, now)) {
		log_msg(LLMCOST_LOG_WARNING,
		    "rejected a message (%llu so far): %s",
		    (unsigned long long) atomic_load(&in->m->msgs_rejected),
		    reason);
	}
	send_reply(c, make_ack(NULL, 0, LLMCOST_ACK_REJECTED, NULL, reason));
}

static void
batch_done(writer_job *job, uint32_t status, const store_batch_result *res,
    const char *reason)
{
	ingest_ctx *c = job->arg;
	const llmcost_proto_batch *b = &c->decoded.u.batch;
	nng_msg *reply = make_ack(b->client_id, b->seq, status, res, reason);

	llmcost_proto_msg_free(&c->decoded);
	nng_msg_free(c->req);
	c->req = NULL;
	send_reply(c, reply);
}

static void
query_done(querier_job *job, nng_msg *reply)
{
	ingest_ctx *c = job->arg;

	llmcost_proto_msg_free(&c->decoded);
	nng_msg_free(c->req);
	c->req = NULL;
	send_reply(c, reply);
}

static void
handle_request(ingest_ctx *c)
{
	ingest *in = c->in;
	char reason[LLMCOST_PROTO_MAX_REASON];
	nng_msg *req = c->req;
	int rv;

	METRICS_INC(in->m, msgs_received, 1);
	rv = llmcost_proto_decode(nng_msg_body(req), nng_msg_len(req),
	    &c->decoded, reason, sizeof(reason));
	if (rv != 0) {
		nng_msg_free(req);
		c->req = NULL;
		reject(c, rv, reason);
		return;
	}
	switch (c->decoded.type) {
	case LLMCOST_MSG_BATCH:
	case LLMCOST_MSG_TBATCH: // decoded into the same batch
		METRICS_INC(in->m, batches_received, 1);
		c->state = CTX_WRITE;
		c->job.batch = &c->decoded.u.batch;
		c->job.done = batch_done;
		c->job.arg = c;
		if (writer_submit(in->w, &c->job) != 0) {
			batch_done(&c->job, LLMCOST_ACK_RETRY, NULL,
			    "collector shutting down");
		}
		return;
	case LLMCOST_MSG_QUERY:
		// Answered on the query thread; the request stays alive
		// until then (the query's strings point into it).
		c->state = CTX_WRITE;
		c->qjob.query = &c->decoded.u.query;
		c->qjob.done = query_done;
		c->qjob.arg = c;
		rv = in->qr != NULL ? querier_submit(in->qr, &c->qjob)
		                    : LLMCOST_ECLOSED;
		if (rv == LLMCOST_EFULL) {
			METRICS_INC(in->m, queries_busy, 1);
			query_done(&c->qjob,
			    querier_reply_error(LLMCOST_EFULL,
			        "the collector is busy with other queries: "
			        "ask again in a moment"));
		} else if (rv != 0) {
			query_done(&c->qjob,
			    querier_reply_error(LLMCOST_ECLOSED,
			        "the collector is shutting down"));
		}
		return;
	case LLMCOST_MSG_STATS_REQ:
		METRICS_INC(in->m, stats_requests, 1);
		llmcost_proto_msg_free(&c->decoded);
		nng_msg_free(req);
		c->req = NULL;
		send_reply(c, make_stats(in->m));
		return;
	case LLMCOST_MSG_BUDGET_REQ:
		METRICS_INC(in->m, budget_requests, 1);
		llmcost_proto_msg_free(&c->decoded);
		nng_msg_free(req);
		c->req = NULL;
		send_reply(c, make_budget_state(in));
		return;
	default:
		snprintf(reason, sizeof(reason),
		    "message type %u is not accepted by the collector",
		    c->decoded.type);
		llmcost_proto_msg_free(&c->decoded);
		nng_msg_free(req);
		c->req = NULL;
		reject(c, LLMCOST_EPROTO, reason);
		return;
	}
}

static void
ctx_cb(void *arg)
{
	ingest_ctx *c = arg;
	int rv = nng_aio_result(c->aio);

	switch (c->state) {
	case CTX_RECV:
		if (rv != 0) {
			if (rv != NNG_ECLOSED && rv != NNG_ECANCELED) {
				start_recv(c);
			}
			return;
		}
		c->req = nng_aio_get_msg(c->aio);
		nng_aio_set_msg(c->aio, NULL);
		handle_request(c);
		return;
	case CTX_SEND:
		if (rv != 0) {
			nng_msg_free(nng_aio_get_msg(c->aio));
			nng_aio_set_msg(c->aio, NULL);
			if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) {
				return;
			}
		}
		start_recv(c);
		return;
	default:
		return;
	}
}

// An IPC socket is 0600: only llmcostd's user may connect.  llmcostd's
// umask (077) already creates it 0700; this also covers a listener that
// is started again.
static void
socket_private(const char *url)
{
	if (strncmp(url, "ipc://", 6) == 0 && chmod(url + 6, 0600) != 0) {
		log_msg(LLMCOST_LOG_WARNING, "cannot chmod 600 %s: %s",
		    url + 6, strerror(errno));
	}
}

// Lets glibc keep freed batch memory instead of returning it at once:
// blocks up to the largest message are served from the heap, and the
// heap is trimmed only above what nctx contexts may hold together.
static void
malloc_keep(int nctx)
{
#ifdef __GLIBC__
	size_t hold = (size_t) nctx * 2 * LLMCOST_PROTO_MAX_MSG;
	(void) mallopt(M_MMAP_THRESHOLD, (int) (2 * LLMCOST_PROTO_MAX_MSG));
	(void) mallopt(
	    M_TRIM_THRESHOLD, (int) (hold < (1u << 30) ? hold : (1u << 30)));
#else
	(void) nctx;
#endif
}

int
ingest_start(ingest **ip, const char *url, int nctx, writer *w, querier *qr,
    metrics *m, char *err, size_t errsz)
{
	ingest *in;
	int rv;

	if (strlen(url) >= sizeof(in->url)) {
		snprintf(err, errsz, "listen URL longer than %zu bytes",
		    sizeof(in->url) - 1);
		return (LLMCOST_ECONFIG);
	}
	malloc_keep(nctx);
	if ((in = calloc(1, sizeof(*in))) == NULL
	    || (in->ctxs = calloc((size_t) nctx, sizeof(*in->ctxs))) == NULL) {
		free(in);
		snprintf(err, errsz, "out of memory");
		return (LLMCOST_ENOMEM);
	}
	in->w = w;
	in->qr = qr;
	in->m = m;
	in->nctx = nctx;
	pthread_mutex_init(&in->mtx, NULL);
	pthread_cond_init(&in->done, NULL);
	if (parked_alloc(&in->parked, url) != 0) {
		pthread_cond_destroy(&in->done);
		pthread_mutex_destroy(&in->mtx);
		free(in->ctxs);
		free(in);
		snprintf(err, errsz, "out of memory");
		return (LLMCOST_ENOMEM);
	}
	if ((rv = nng_rep0_open(&in->sock)) != 0) {
		snprintf(err, errsz, "nng_rep0_open: %s", nng_strerror(rv));
		parked_free(in->parked);
		pthread_cond_destroy(&in->done);
		pthread_mutex_destroy(&in->mtx);
		free(in->ctxs);
		free(in);
		return (LLMCOST_ESYSTEM);
	}
	// Let slightly oversized messages through so the decoder can count
	// and answer them; beyond this nng drops the connection.
	nng_socket_set_size(
	    in->sock, NNG_OPT_RECVMAXSZ, LLMCOST_PROTO_MAX_MSG + 65536);
	for (int i = 0; i < nctx; i++) {
		ingest_ctx *c = &in->ctxs[i];
		c->in = in;
		if ((rv = nng_aio_alloc(&c->aio, ctx_cb, c)) != 0
		    || (rv = nng_ctx_open(&c->ctx, in->sock)) != 0) {
			snprintf(
			    err, errsz, "nng context: %s", nng_strerror(rv));
			ingest_close(in);
			ingest_free(in);
			return (LLMCOST_ESYSTEM);
		}
	}
	snprintf(in->url, sizeof(in->url), "%s", url);
	if ((rv = nng_listen(in->sock, url, &in->listener, 0)) != 0) {
		snprintf(err, errsz, "cannot listen on %s: %s", url,
		    nng_strerror(rv));
		ingest_close(in);
		ingest_free(in);
		return (
		    rv == NNG_EADDRINUSE ? LLMCOST_ECONFIG : LLMCOST_ESYSTEM);
	}
	socket_private(in->url);
	for (int i = 0; i < nctx; i++) {
		start_recv(&in->ctxs[i]);
	}
	*ip = in;
	return (0);
}

// ---- the listener watchdog ----
//
// nng 1.5 (the version in Debian 12) stops accepting on a listener for
// good when a peer disconnects during the SP handshake (nng issue #1518,
// fixed in 1.6): one health check that connects and hangs up would cut
// the collector off from every new client.  The failure shows in the
// listener's "other"/"canceled" error counters, which also count harmless
// errors; so when they have moved since the listener last answered, the
// watchdog connects to its own listener and asks for STATS (probe.c).
// No answer within two seconds: the listener is replaced, and what nng
// leaves parked on the old one is closed a little later (parked.c).
// The counts compared are the ones read before the probe, and a new
// listener starts from zero, so an error that lands during a probe or a
// restart is looked at on the next check rather than forgotten (a storm
// of hang-ups could otherwise leave the new listener wedged for good).
// Clients reconnect and resend whatever was unacknowledged.

static uint64_t
listener_errors(nng_listener l)
{
	nng_stat *all, *ls;
	uint64_t n = 0;

	if (nng_stats_get(&all) != 0) {
		return (0);
	}
	if ((ls = nng_stat_find_listener(all, l)) != NULL) {
		for (nng_stat *c = nng_stat_child(ls); c != NULL;
		     c = nng_stat_next(c)) {
			if (strcmp(nng_stat_name(c), "other") == 0
			    || strcmp(nng_stat_name(c), "canceled") == 0) {
				n += nng_stat_value(c);
			}
		}
	}
	nng_stats_free(all);
	return (n);
}

void
ingest_watch(ingest *in)
{
	size_t closed = parked_reclaim(in->parked, PARKED_GRACE_MS);
	if (closed > 0) {
		METRICS_INC(in->m, parked_fds_closed, closed);
		log_msg(LLMCOST_LOG_NOTICE,
		    "closed %zu connections that nng 1.5 left parked on the "
		    "replaced listener (nng issue 1518)",
		    closed);
	}
	uint64_t errs = listener_errors(in->listener);
	if (errs == in->errors_ok) {
		return;
	}
	if (probe_listener(in->url, PROBE_TIMEOUT_MS) != 0) {
		// Answered (or cannot be asked): these errors were harmless.
		in->errors_ok = errs;
		return;
	}
	log_msg(LLMCOST_LOG_WARNING,
	    "the ingest listener stopped accepting connections (nng 1.5 "
	    "issue 1518); restarting it");
	nng_listener_close(in->listener);
	(void) parked_collect(in->parked);
	int rv = nng_listen(in->sock, in->url, &in->listener, 0);
	if (rv != 0) {
		log_msg(LLMCOST_LOG_ERR,
		    "cannot listen again on %s: %s; will retry", in->url,
		    nng_strerror(rv));
		in->errors_ok = UINT64_MAX; // the next check retries
		return;
	}
	socket_private(in->url);
	METRICS_INC(in->m, listener_restarts, 1);
	in->errors_ok = 0;
}

void
ingest_close(ingest *in)
{
	if (in == NULL) {
		return;
	}
	// Once this returns, no send or receive is being started, and none
	// will be: nng_close never races with one.
	pthread_mutex_lock(&in->mtx);
	in->closing = 1;
	while (in->starting > 0) {
		pthread_cond_wait(&in->done, &in->mtx);
	}
	pthread_mutex_unlock(&in->mtx);
	nng_close(in->sock);
}

void
ingest_free(ingest *in)
{
	if (in == NULL) {
		return;
	}
	for (int i = 0; i < in->nctx; i++) {
		ingest_ctx *c = &in->ctxs[i];
		if (c->aio != NULL) {
			nng_aio_stop(c->aio);
			// A message the aio still holds belongs to an
			// operation that never started: it is ours.
			nng_msg *left = nng_aio_get_msg(c->aio);
			if (left != NULL) {
				nng_msg_free(left);
			}
			nng_aio_free(c->aio);
		}
		if (c->req != NULL) {
			llmcost_proto_msg_free(&c->decoded);
			nng_msg_free(c->req);
		}
	}
	parked_free(in->parked);
	pthread_cond_destroy(&in->done);
	pthread_mutex_destroy(&in->mtx);
	free(in->ctxs);
	free(in);
}
