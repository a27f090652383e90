// DESIGN: the collector exporter: delivers batches to llmcostd over an
// nng req0 socket, one batch in flight at a time, on its own thread
// (exporter.h).  A batch is encoded once, with the client id, a new
// sequence number and the cumulative drop count, and kept until the
// collector acknowledges it, which the collector does only after its
// LMDB transaction has committed.  A lost reply, a dead collector or a
// "retry" answer makes the exporter send the same message (same client id
// and sequence) again after ack_timeout_ms or a backoff.  Duplicates are
// harmless: the collector keys calls by run id.  A refused batch is
// malformed and never resent.
//
// Living with nng 1.5 (docs/design.md has the whole story):
// - Recovery is certain: after REPLACE_AFTER acknowledgement timeouts in
//   a row the whole req0 socket is replaced, not only its dialer, so no
//   wedged dialer, pipe or socket (nng issue 1518) can stop delivery for
//   good.
// - Nothing waits on nng_close: a socket is closed on a short-lived
//   thread, waited for at most CLOSE_WAIT_MS, and past that abandoned on
//   purpose (nng issues 1543 / 1813: nng_close can hang forever).  The
//   closing thread owns everything it touches (the socket id and its own
//   small record), so nothing it uses is freed under it; an abandoned
//   socket is logged and counted
//   (llmcost_stats.sockets_abandoned).  Sends and receives run on one
//   nng_aio that stop cancels, so the exporter's thread never waits on a
//   socket that is being closed.
// - Counters tell the truth: every resend is ours.  With a resend time,
//   nng's req0 sends a request again by itself, unseen, when the
//   connection it went out on closes (and on its timer); with
//   NNG_OPT_REQ_RESENDTIME infinite it does neither and fails the
//   receive with NNG_ECONNRESET instead, and the exporter resends and
//   counts it.  So batches_resent is exactly the number of batch
//   messages that went out again.
// - An unreachable collector is said once, early (the first failed send
//   or acknowledgement timeout), then at most every UNREACHABLE_LOG_MS.
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "backoff.h"
#include "llmcost_proto.h"
#include "llmcost_proto_nng.h"
#include "shim.h"

// Resend waits: 50 ms doubling to 2 s, no jitter (one collector per host,
// and ack_timeout_ms already spaces resends after a silent collector).
#define BACKOFF_BASE_MS 50
#define BACKOFF_MAX_MS  2000
// A send waits this long for a connection before it is retried.
#define SEND_TIMEOUT_MS 1000
// Acknowledgement timeouts in a row before the socket is replaced.
#define REPLACE_AFTER 2
// How long a socket's nng_close may take before it is abandoned.
#define CLOSE_WAIT_MS LLMCOST__CLOSE_WAIT_MS
// The "cannot reach the collector" warning: at most this often.
#define UNREACHABLE_LOG_MS 60000

_Atomic uint64_t llmcost__sockets_abandoned;

typedef struct collector {
	// Guards sock and closed against stop (another thread), and
	// makes "check closed, then start an operation" one step, so that
	// stop's cancel never misses an operation.
	pthread_mutex_t mtx;
	nng_socket sock;
	int closed;
	nng_aio *aio; // every send and receive; stop cancels it
	// The exporter's thread only:
	uint64_t seq;     // the last batch's sequence
	int unreachable;  // a failure since the last success
	uint64_t said_ns; // when unreachability was last logged
	int no_budgets;   // the collector refused BUDGET_REQ: not asked again
} collector;

typedef enum {
	REPLY_OTHER = 0, // not the answer to this batch: keep waiting
	REPLY_SETTLED,   // stored or refused: *out filled
	REPLY_RETRY,     // the collector asked to resend later
} reply_kind;

// ---- closing without waiting on nng ----

typedef struct closer {
	nng_socket sock;
	pthread_mutex_t mtx;
	pthread_cond_t cv;
	int done;      // nng_close returned
	int abandoned; // the waiter gave up: the thread frees this
} closer;

static void
closer_free(closer *cl)
{
	pthread_cond_destroy(&cl->cv);
	pthread_mutex_destroy(&cl->mtx);
	free(cl);
}

static void *
closer_main(void *arg)
{
	closer *cl = arg;
	(void) nng_close(cl->sock);
	pthread_mutex_lock(&cl->mtx);
	cl->done = 1;
	int abandoned = cl->abandoned;
	pthread_cond_signal(&cl->cv);
	pthread_mutex_unlock(&cl->mtx);
	if (abandoned) {
		closer_free(cl);
	}
	return (NULL);
}

// Closes s on a thread of its own and waits at most CLOSE_WAIT_MS.  Past
// that, the socket and its closing thread are left to nng, logged and
// counted.  Never blocks longer than CLOSE_WAIT_MS (plus a thread start).
static void
close_bounded(llmcost_client *c, nng_socket s)
{
	closer *cl = calloc(1, sizeof(*cl));
	pthread_t t;

	if (cl == NULL || pthread_mutex_init(&cl->mtx, NULL) != 0) {
		free(cl);
		llmcost__log(c, LLMCOST_LOG_WARNING,
		    "no memory to close a collector socket; abandoned");
		atomic_fetch_add(&llmcost__sockets_abandoned, 1);
		return;
	}
	if (llmcost__cond_init(&cl->cv) != 0) {
		pthread_mutex_destroy(&cl->mtx);
		free(cl);
		llmcost__log(c, LLMCOST_LOG_WARNING,
		    "cannot wait for a collector socket to close; abandoned");
		atomic_fetch_add(&llmcost__sockets_abandoned, 1);
		return;
	}
	cl->sock = s;
	if (pthread_create(&t, NULL, closer_main, cl) != 0) {
		closer_free(cl);
		llmcost__log(c, LLMCOST_LOG_WARNING,
		    "no thread to close a collector socket; abandoned");
		atomic_fetch_add(&llmcost__sockets_abandoned, 1);
		return;
	}
	struct timespec dl = llmcost__deadline_ms(CLOSE_WAIT_MS);
	pthread_mutex_lock(&cl->mtx);
	while (!cl->done) {
		if (pthread_cond_timedwait(&cl->cv, &cl->mtx, &dl) != 0) {
			break;
		}
	}
	int done = cl->done;
	if (!done) {
		cl->abandoned = 1; // from here on the thread owns cl
	}
	pthread_mutex_unlock(&cl->mtx);
	if (done) {
		pthread_join(t, NULL);
		closer_free(cl);
		return;
	}
	pthread_detach(t);
	atomic_fetch_add(&llmcost__sockets_abandoned, 1);
	llmcost__log(c, LLMCOST_LOG_WARNING,
	    "closing a collector socket took over %d ms (nng 1.5 close "
	    "hang); it is abandoned, with its memory and one thread",
	    CLOSE_WAIT_MS);
}

// ---- the socket ----

static int
set_ms(llmcost_client *c, nng_socket s, const char *opt, int32_t ms)
{
	int rv = nng_socket_set_ms(s, opt, ms);
	if (rv != 0) {
		llmcost__log(c, LLMCOST_LOG_ERR, "setting %s: %s", opt,
		    nng_strerror(rv));
	}
	return (rv);
}

// Opens, configures and dials (in the background) a new socket.  Returns
// 0 with *sp, LLMCOST_ECONFIG when nng refuses the URL, or
// LLMCOST_ENOMEM / LLMCOST_ESYSTEM (logged).  On error nothing is left.
static int
sock_open(llmcost_client *c, nng_socket *sp)
{
	nng_socket s;
	int rv;

	if ((rv = nng_req0_open(&s)) != 0) {
		llmcost__log(
		    c, LLMCOST_LOG_ERR, "nng_req0_open: %s", nng_strerror(rv));
		return (LLMCOST_ESYSTEM);
	}
	// Every resend is ours (same batch, same sequence): nng never
	// resends, neither on its timer nor when a connection closes.  Each operation has its own timeout (the aio's);
	// the socket's are set too, as a backstop.
	if (set_ms(c, s, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE) != 0
	    || set_ms(c, s, NNG_OPT_RECVTIMEO, c->cfg.ack_timeout_ms) != 0
	    || set_ms(c, s, NNG_OPT_SENDTIMEO, SEND_TIMEOUT_MS) != 0
	    || set_ms(c, s, NNG_OPT_RECONNMINT, 20) != 0
	    || set_ms(c, s, NNG_OPT_RECONNMAXT, 1000) != 0) {
		// Never dialed: no pipe, so this close cannot hang.
		nng_close(s);
		return (LLMCOST_ESYSTEM);
	}
	if ((rv = nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, 64 * 1024)) != 0) {
		llmcost__log(c, LLMCOST_LOG_ERR, "setting %s: %s",
		    NNG_OPT_RECVMAXSZ, nng_strerror(rv));
		nng_close(s);
		return (LLMCOST_ESYSTEM);
	}
	if ((rv = nng_dial(s, c->cfg.url, NULL, NNG_FLAG_NONBLOCK)) != 0) {
		llmcost__log(c, LLMCOST_LOG_ERR,
		    "cannot use collector URL %s: %s", c->cfg.url,
		    nng_strerror(rv));
		nng_close(s);
		return (LLMCOST_ECONFIG);
	}
	*sp = s;
	return (0);
}

static int
collector_start(llmcost__exporter *ex)
{
	llmcost_client *c = ex->client;
	collector *co;
	int rv;

	if (c->cfg.url[0] == '\0') {
		llmcost__log(c, LLMCOST_LOG_ERR,
		    "no collector URL: set LLMCOST_COLLECTOR_URL or HOME");
		return (LLMCOST_ECONFIG);
	}
	if ((co = calloc(1, sizeof(*co))) == NULL) {
		return (LLMCOST_ENOMEM);
	}
	if (pthread_mutex_init(&co->mtx, NULL) != 0) {
		free(co);
		return (LLMCOST_ESYSTEM);
	}
	if ((rv = nng_aio_alloc(&co->aio, NULL, NULL)) != 0) {
		llmcost__log(
		    c, LLMCOST_LOG_ERR, "nng_aio_alloc: %s", nng_strerror(rv));
		pthread_mutex_destroy(&co->mtx);
		free(co);
		return (LLMCOST_ENOMEM);
	}
	if ((rv = sock_open(c, &co->sock)) != 0) {
		nng_aio_free(co->aio);
		pthread_mutex_destroy(&co->mtx);
		free(co);
		return (rv);
	}
	ex->priv = co;
	ex->idle_ms = c->cfg.budget_poll_ms;
	return (0);
}

// Replaces the socket with a new one (nng 1.5 wedges, see the top).
// Exporter thread.
static void
replace_socket(llmcost__exporter *ex)
{
	llmcost_client *c = ex->client;
	collector *co = ex->priv;
	nng_socket s, old;

	if (sock_open(c, &s) != 0) {
		return; // logged; the old socket stays, and we try again
	}
	pthread_mutex_lock(&co->mtx);
	if (co->closed) {
		pthread_mutex_unlock(&co->mtx);
		close_bounded(c, s);
		return;
	}
	old = co->sock;
	co->sock = s;
	pthread_mutex_unlock(&co->mtx);
	llmcost__log(c, LLMCOST_LOG_INFO,
	    "no answer from the collector at %s; new connection", c->cfg.url);
	close_bounded(c, old);
}

// Runs one send (*msgp given, consumed on success) or receive (*msgp
// returned) on the current socket within timeout_ms.  Returns 0, an nng
// error, or NNG_ECLOSED once the exporter is stopping.  Exporter thread.
static int
sock_op(llmcost__exporter *ex, int send, nng_msg **msgp, int32_t timeout_ms)
{
	collector *co = ex->priv;
	int rv;

	pthread_mutex_lock(&co->mtx);
	if (co->closed || llmcost__exporter_stopping(ex)) {
		pthread_mutex_unlock(&co->mtx);
		return (NNG_ECLOSED);
	}
	nng_aio_set_timeout(co->aio, timeout_ms);
	if (send) {
		nng_aio_set_msg(co->aio, *msgp);
		nng_send_aio(co->sock, co->aio);
	} else {
		nng_recv_aio(co->sock, co->aio);
	}
	pthread_mutex_unlock(&co->mtx);
	nng_aio_wait(co->aio);
	rv = nng_aio_result(co->aio);
	if (send) {
		if (rv == 0) {
			*msgp = NULL;
		}
	} else if (rv == 0) {
		*msgp = nng_aio_get_msg(co->aio);
	}
	if (rv == NNG_ECANCELED && llmcost__exporter_stopping(ex)) {
		rv = NNG_ECLOSED;
	}
	return (rv);
}

// Says once, early, that the collector cannot be reached, then at most
// every UNREACHABLE_LOG_MS while it stays so.
static void
unreachable(llmcost__exporter *ex, const char *what)
{
	llmcost_client *c = ex->client;
	collector *co = ex->priv;
	uint64_t now = llmcost__mono_ns();

	if (co->said_ns == 0
	    || now - co->said_ns >= (uint64_t) UNREACHABLE_LOG_MS * 1000000u) {
		llmcost__log(c, LLMCOST_LOG_WARNING,
		    "cannot reach the collector at %s (%s); calls are kept "
		    "and sent when it answers (is llmcostd running?)",
		    c->cfg.url, what);
		co->said_ns = now;
	}
	co->unreachable = 1;
}

static void
reachable(llmcost__exporter *ex)
{
	collector *co = ex->priv;
	if (co->unreachable) {
		co->unreachable = 0;
		if (co->said_ns != 0) {
			llmcost__log(ex->client, LLMCOST_LOG_NOTICE,
			    "the collector at %s answers again",
			    ex->client->cfg.url);
			co->said_ns = 0;
		}
	}
}

// Encodes b into a new message under a new sequence number.  Returns 0
// and *msgp, or an error (logged).
static int
encode(llmcost__exporter *ex, const llmcost__batch *b, nng_msg **msgp)
{
	llmcost_client *c = ex->client;
	collector *co = ex->priv;
	nng_msg *msg = NULL;
	llmcost_proto_enc enc;

	// Reserve the whole message: nng grows a message to the exact size on
	// each append, which would make encoding quadratic.  256 bytes covers
	// the framing and numbers of a typical record; past it, appends still
	// work, only slower.
	size_t need = 64 + b->str_bytes + 256u * (size_t) b->n;
	if (nng_msg_alloc(&msg, 0) != 0 || nng_msg_reserve(msg, need) != 0) {
		if (msg != NULL) {
			nng_msg_free(msg);
		}
		llmcost__log(c, LLMCOST_LOG_ERR,
		    "no memory for a batch of %u calls; dropped", b->n);
		return (LLMCOST_ENOMEM);
	}
	// The drop count: the client's, plus the calls this exporter never
	// delivered (missed or given up), which the collector is missing too.
	uint64_t dropped = b->dropped + atomic_load(&ex->lost);
	llmcost_proto_enc_init(&enc, llmcost_proto_nng_write, msg, 0);
	co->seq++;
	// The chain runs of request scopes are LangSmith's only: the
	// collector keeps calls (their trace and parent travel with them).
	uint32_t calls = 0;
	for (uint32_t i = 0; i < b->n; i++) {
		calls += b->kinds[i] == LLMCOST__KIND_CALL;
	}
	// And what LangSmith's exporter lost, for reconciliation (proto
	// batch element 6).
	llmcost_proto_enc_batch_header_lost(
	    &enc, c->client_id, co->seq, dropped, calls);
	for (uint32_t i = 0; i < b->n; i++) {
		if (b->kinds[i] == LLMCOST__KIND_CALL) {
			llmcost_proto_enc_record(&enc, &b->records[i]);
		}
	}
	llmcost_proto_enc_batch_lost(&enc, llmcost__exporters_lossy_lost(c));
	if (enc.err != 0) {
		llmcost__log(c, LLMCOST_LOG_ERR,
		    "encoding a batch of %u calls failed: %s; dropped", b->n,
		    llmcost_strerror(enc.err));
		nng_msg_free(msg);
		return (enc.err);
	}
	*msgp = msg;
	return (0);
}

// Interprets a reply to the batch of n calls now in flight.
static reply_kind
handle_reply(
    llmcost__exporter *ex, nng_msg *reply, uint32_t n, llmcost__outcome *out)
{
	llmcost_client *c = ex->client;
	collector *co = ex->priv;
	llmcost_proto_msg m;
	char reason[128];
	reply_kind kind = REPLY_OTHER;

	if (llmcost_proto_decode(nng_msg_body(reply), nng_msg_len(reply), &m,
	        reason, sizeof(reason))
	    != 0) {
		llmcost__log(c, LLMCOST_LOG_WARNING,
		    "unreadable reply from collector: %s", reason);
		return (REPLY_OTHER);
	}
	if (m.type != LLMCOST_MSG_ACK || m.u.ack.seq != co->seq
	    || memcmp(m.u.ack.client_id, c->client_id, 16) != 0) {
		llmcost_proto_msg_free(&m);
		return (REPLY_OTHER);
	}
	switch (m.u.ack.status) {
	case LLMCOST_ACK_STORED:
		out->stored = n;
		kind = REPLY_SETTLED;
		break;
	case LLMCOST_ACK_REJECTED:
		llmcost__log(c, LLMCOST_LOG_ERR,
		    "collector refused batch %llu (%u calls): %.*s",
		    (unsigned long long) co->seq, n, (int) m.u.ack.reason.len,
		    m.u.ack.reason.ptr);
		out->refused = n;
		kind = REPLY_SETTLED;
		break;
	default:
		llmcost__log(c, LLMCOST_LOG_WARNING,
		    "collector asked to retry batch %llu: %.*s",
		    (unsigned long long) co->seq, (int) m.u.ack.reason.len,
		    m.u.ack.reason.ptr);
		kind = REPLY_RETRY;
		break;
	}
	llmcost_proto_msg_free(&m);
	return (kind);
}

// Sends msg until it is acknowledged or refused (0), or the exporter is
// stopping (LLMCOST_ECLOSED).
static int
send_until_settled(
    llmcost__exporter *ex, nng_msg *msg, uint32_t n, llmcost__outcome *out)
{
	llmcost_client *c = ex->client;
	collector *co = ex->priv;
	llmcost__backoff bo;
	int silent = 0; // acknowledgement timeouts in a row

	llmcost__backoff_init(&bo, BACKOFF_BASE_MS, BACKOFF_MAX_MS, 0, 0);
	for (int attempt = 0;; attempt++) {
		nng_msg *copy;
		int rv;

		if (llmcost__exporter_stopping(ex)) {
			return (LLMCOST_ECLOSED);
		}
		if (nng_msg_dup(&copy, msg) != 0) {
			if (llmcost__exporter_sleep(
			        ex, llmcost__backoff_next(&bo))) {
				return (LLMCOST_ECLOSED);
			}
			continue;
		}
		if ((rv = sock_op(ex, 1, &copy, SEND_TIMEOUT_MS)) != 0) {
			nng_msg_free(copy);
			if (rv == NNG_ECLOSED) {
				return (LLMCOST_ECLOSED);
			}
			// No connection to send on.
			unreachable(ex, nng_strerror(rv));
			if (++silent >= REPLACE_AFTER) {
				replace_socket(ex);
				silent = 0;
			}
			if (llmcost__exporter_sleep(
			        ex, llmcost__backoff_next(&bo))) {
				return (LLMCOST_ECLOSED);
			}
			continue;
		}
		atomic_fetch_add(&ex->sent, 1);
		if (attempt > 0) {
			atomic_fetch_add(&ex->resent, 1);
		}
		for (;;) {
			nng_msg *reply;
			rv = sock_op(ex, 0, &reply, c->cfg.ack_timeout_ms);
			if (rv != 0) {
				if (rv == NNG_ECLOSED) {
					return (LLMCOST_ECLOSED);
				}
				llmcost__log(c, LLMCOST_LOG_DEBUG,
				    "no ack for batch %llu within %d ms (%s); "
				    "resending",
				    (unsigned long long) co->seq,
				    c->cfg.ack_timeout_ms, nng_strerror(rv));
				unreachable(ex,
				    rv == NNG_ETIMEDOUT ? "no acknowledgement"
				                        : nng_strerror(rv));
				if (++silent >= REPLACE_AFTER) {
					replace_socket(ex);
					silent = 0;
				}
				break; // resend
			}
			reply_kind k = handle_reply(ex, reply, n, out);
			nng_msg_free(reply);
			if (k == REPLY_OTHER) {
				continue;
			}
			reachable(ex);
			silent = 0;
			if (k == REPLY_SETTLED) {
				return (0);
			}
			if (llmcost__exporter_sleep(
			        ex, llmcost__backoff_next(&bo))) {
				return (LLMCOST_ECLOSED);
			}
			break;
		}
	}
}

// The hard guard's poll (guard.h): asks for BUDGET_STATE and publishes
// it.  Short waits, and none while the collector is unreachable (the
// next batch finds out), so a poll never holds up a batch for long.  A
// collector that refuses the request (an older llmcostd) is not asked
// again.  Exporter thread.
#define POLL_WAIT_MS 500

static void
collector_idle(llmcost__exporter *ex)
{
	llmcost_client *c = ex->client;
	collector *co = ex->priv;
	llmcost_proto_enc enc;
	llmcost_proto_msg m;
	nng_msg *msg, *reply;
	char reason[128];

	if (co->no_budgets || co->unreachable || nng_msg_alloc(&msg, 0) != 0) {
		return;
	}
	llmcost_proto_enc_init(&enc, llmcost_proto_nng_write, msg, 0);
	if (llmcost_proto_enc_budget_req(&enc) != 0
	    || sock_op(ex, 1, &msg, POLL_WAIT_MS) != 0) {
		nng_msg_free(msg);
		return;
	}
	if (sock_op(ex, 0, &reply, POLL_WAIT_MS) != 0) {
		return;
	}
	if (llmcost_proto_decode(nng_msg_body(reply), nng_msg_len(reply), &m,
	        reason, sizeof(reason))
	    == 0) {
		if (m.type == LLMCOST_MSG_BUDGET_STATE) {
			llmcost__guard_publish(&c->guard, &m.u.budget_state);
		} else if (m.type == LLMCOST_MSG_ACK
		    && m.u.ack.status == LLMCOST_ACK_REJECTED) {
			co->no_budgets = 1;
			llmcost__log(c, LLMCOST_LOG_INFO,
			    "the collector does not serve budget state (an "
			    "older llmcostd): hard budgets are not enforced "
			    "here");
		}
		llmcost_proto_msg_free(&m);
	}
	nng_msg_free(reply);
}

static int
collector_deliver(
    llmcost__exporter *ex, const llmcost__batch *b, llmcost__outcome *out)
{
	nng_msg *msg = NULL;
	int rv;

	if (encode(ex, b, &msg) != 0) {
		out->lost = b->n;
		return (0);
	}
	rv = send_until_settled(ex, msg, b->n, out);
	nng_msg_free(msg);
	if (rv != 0) {
		out->stored = 0;
		out->refused = 0;
		out->lost = b->n;
	}
	return (rv);
}

// On the shutdown thread: no new operation starts, the one under way is
// cancelled, and the socket is closed within CLOSE_WAIT_MS (or
// abandoned).
static void
collector_stop(llmcost__exporter *ex)
{
	collector *co = ex->priv;
	nng_socket s;

	pthread_mutex_lock(&co->mtx);
	if (co->closed) {
		pthread_mutex_unlock(&co->mtx);
		return;
	}
	co->closed = 1;
	s = co->sock;
	pthread_mutex_unlock(&co->mtx);
	nng_aio_cancel(co->aio);
	close_bounded(ex->client, s);
}

static void
collector_fini(llmcost__exporter *ex)
{
	collector *co = ex->priv;
	collector_stop(ex);
	// The exporter's thread has ended: the aio is idle.
	nng_aio_free(co->aio);
	pthread_mutex_destroy(&co->mtx);
	free(co);
	ex->priv = NULL;
}

const struct llmcost__exporter_ops llmcost__exporter_collector = {
	.name = "collector",
	.lossless = 1,
	.start = collector_start,
	.deliver = collector_deliver,
	.stop = collector_stop,
	.fini = collector_fini,
	.idle = collector_idle,
};
