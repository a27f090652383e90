// DESIGN: the collector exporter: delivers batches to llmcostd over an
// nng req0 socket, on its own thread (exporter.h), with up to
// INFLIGHT_MAX batches in flight at once.  Each batch in flight (a
// "flight") has its own req0 context and aio, so requests and replies
// pair by context and the collector, which answers each on its own rep
// context after its group commit, may acknowledge them in any order.
// With one batch in flight the link sat idle for a whole synced commit
// per batch; with several, the next batches travel and are decoded while
// one commits, and they share its commit.  A batch is encoded with the
// client id, its own sequence number and the cumulative drop count, and
// encoded again for a resend (no copy is kept).  The collector
// acknowledges only after its LMDB transaction has committed.  Batches
// settle in order, as the exporter seam requires (flush waits on the
// oldest held batch): deliver is called with the oldest, keeps the later
// ones going meanwhile, and their acknowledgements wait in their flights
// until their turn.  Batches merged: the exporter holds batches up to a
// number of bytes (shim.h, LLMCOST__COLLECTOR_HOLD), far more than its
// flights carry; the batches that gather while every flight waits go
// out, when one is free, as one message of up to batch_max calls.  So a
// collector that stalls on a synced commit is made up for with a few
// large messages (fewer sends, acknowledgements and wake-ups per call),
// and a fast one still gets each batch at once.  The batches of one
// message settle together, as its acknowledgement says (a refusal
// refuses them all).  The exporter's thread is woken only for the
// acknowledgement it waits for (the oldest flight's), a failed attempt,
// or, while a flight is free, a new batch.  A lost reply, a dead
// collector or a "retry" answer
// makes the exporter send the same batch (same client id and sequence)
// again after ack_timeout_ms or a backoff.  Duplicates are harmless: the
// collector keys calls by run id.  A refused batch is malformed and never
// resent.  A flight's aio callback runs on an nng thread: it only turns a
// finished send into the receive of its acknowledgement, or marks the
// attempt done and wakes the exporter's thread; every decision (resend,
// backoff, new socket, logging) is taken on the exporter's thread.
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
//   (llmcost_stats.sockets_abandoned).  Sends and receives run on the
//   flights' aios, which stop cancels, and no callback starts an
//   operation once the socket is closed or replaced (checked under the
//   mutex that closing takes), so nothing waits on a socket that is
//   being closed.
// - Counters tell the truth: every resend is ours.  With a resend time,
//   nng's req0 sends a request again by itself, unseen, when the
//   connection it went out on closes (and on its timer); with
//   NNG_OPT_REQ_RESENDTIME infinite it does neither and fails the
//   receive with NNG_ECONNRESET instead, and the exporter resends and
//   counts it.  So batches_resent is exactly the number of batch
//   messages that went out again.
// - Batches go as TBATCH (each distinct string once, proto/README.md)
//   only while the last ACK advertised it; the first batch on a socket,
//   and the next ones after a REJECTED TBATCH (an older collector
//   behind the same address), go as BATCH, the refused one again at
//   once under the same seq, so none is lost.
// - An unreachable collector is said once, early (the first failed send
//   or acknowledgement timeout), then at most every UNREACHABLE_LOG_MS.
// - nng cannot run in a process forked from one that had started it: its
//   threads stay behind in the parent, and nng 1.5 aborts the child at
//   its first call ("nng is not fork-reentrant safe").  So init refuses
//   a collector client in such a child (llmcost__nng_forked) before it
//   sets anything up, and llmcost_init fails there with an error instead
//   of the host process aborting.
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
// Messages in flight at once (shim.h).
#define INFLIGHT_MAX LLMCOST__INFLIGHT_MAX
// Batches one message carries at most (see "merged" at the top).
#define FLIGHT_BATCHES 64
// A send waits this long for a connection before it is retried.
#define SEND_TIMEOUT_MS 1000
// Acknowledgement timeouts in a row before the socket is replaced.
#define REPLACE_AFTER 2
// How long a socket's nng_close may take before it is abandoned.
#define CLOSE_WAIT_MS LLMCOST__CLOSE_WAIT_MS
// The "cannot reach the collector" warning: at most this often.
#define UNREACHABLE_LOG_MS 60000

_Atomic uint64_t llmcost__sockets_abandoned;

// Whether this process has started nng, and whether it was forked from
// one that had (set in the child by the fork handler, which children
// inherit with the flags).
static _Atomic int nng_started;
static _Atomic int nng_forked;
static _Atomic int nng_unwatched; // the fork handler could not be set
static pthread_once_t nng_fork_once = PTHREAD_ONCE_INIT;

static void
nng_fork_child(void)
{
	if (atomic_load(&nng_started)) {
		atomic_store(&nng_forked, 1);
	}
}

static void
nng_fork_watch(void)
{
	if (pthread_atfork(NULL, NULL, nng_fork_child) != 0) {
		atomic_store(&nng_unwatched, 1);
	}
}

int
llmcost__nng_forked(llmcost_client *c)
{
	if (!atomic_load(&nng_forked)) {
		return (0);
	}
	llmcost__log(c, LLMCOST_LOG_ERR,
	    "this process was forked from one that had started an llmcost "
	    "client (or from a descendant of one); nng, which carries calls "
	    "to llmcostd, cannot run in a forked child: create clients only "
	    "after fork(), in each child process");
	return (1);
}

typedef struct collector collector;

// One batch in flight: its own req0 context (so replies pair with
// requests by context, in any order) and its own aio, whose callback
// turns a completed send into a receive.
typedef struct flight {
	collector *co;
	nng_aio *aio;
	nng_ctx ctx;
	int ctx_ok;   // ctx is open on co->sock
	uint64_t gen; // the socket generation ctx belongs to (co->mtx)
	// The exporter's thread only, except state, rv, failed_send and reply,
	// which the callback writes while state is F_SEND or F_RECV.
	// The batches it carries, in the order they were handed over, as
	// one message: bs[done..nb) are not settled yet.  nb 0: free.
	const llmcost__batch *bs[FLIGHT_BATCHES];
	uint32_t nb;
	uint32_t done;
	uint32_t n;        // calls in bs[0..nb)
	int settled;       // S_*: how the batches left in it settle
	uint64_t seq;      // the message's sequence (same on a resend)
	uint32_t attempts; // sends of this batch started (flight_send)
	int enc_failed;    // the last encoding failed (no memory)
	int sent_t;        // the last send was a TBATCH
	_Atomic int state; // F_*
	int rv;            // F_DONE: 0 (reply set), or the nng error
	int failed_send;   // F_DONE with rv != 0: the send failed, not the ack
	nng_msg *reply;
} flight;

enum { F_IDLE = 0, F_SEND, F_RECV, F_DONE };

// A flight's batches once its message is answered for good.
enum { S_NONE = 0, S_STORED, S_REFUSED, S_LOST };

struct collector {
	llmcost__exporter *ex;
	// Guards sock, gen and closed against stop (another thread) and the
	// flights' callbacks, and makes "check closed, then start an
	// operation" one step, so that a cancel never misses an operation.
	pthread_mutex_t mtx;
	nng_socket sock;
	uint64_t gen; // bumped when the socket is replaced
	int closed;
	flight fl[INFLIGHT_MAX];
	// Guarded by the client's mtx: the flight the exporter's thread
	// waits for (wait_flight), or NULL.  A callback wakes the thread
	// for it, or for a failed attempt, and for nothing else.
	const flight *wait_for;
	// The exporter's thread only:
	uint64_t seq;     // the last sequence given to a batch
	int silent;       // failed sends and acknowledgements in a row
	int unreachable;  // a failure since the last success
	uint64_t said_ns; // when unreachability was last logged
	int no_budgets;   // the collector refused BUDGET_REQ: not asked again
	// The last ACK said that the collector reads TBATCH (a batch with a
	// string table); cleared by an ACK that does not say so, by a
	// REJECTED answer to a TBATCH, and with a new socket.
	int tbatch;
	int tab_ok; // tab is initialized (at the first TBATCH)
	llmcost_proto_strtab tab;
	// The hard guard's poll (collector_idle): a context and aio of its
	// own, opened and closed with the flights'.  Exporter thread, except
	// that stop cancels poll_aio.
	nng_aio *poll_aio;
	nng_ctx poll_ctx;
	int poll_ok; // poll_ctx is open on sock
};

typedef enum {
	REPLY_OTHER = 0, // not an answer to this batch: resend
	REPLY_SETTLED,   // stored or refused: *out filled
	REPLY_RETRY,     // the collector asked to resend later
	REPLY_DOWNGRADE, // a TBATCH was refused: resend it as a BATCH now
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

// ---- flights ----

// Wakes the exporter's thread, which waits on its cv under the client's
// mutex (wait_flight), when f's finished attempt is what it waits for,
// or failed (the thread sends it again at once).  The acknowledgement of
// a later flight waits in the flight for its turn: waking the thread for
// it would only let it look and wait again.
static void
notify(llmcost__exporter *ex, const flight *f)
{
	llmcost_client *c = ex->client;
	collector *co = ex->priv;

	pthread_mutex_lock(&c->mtx);
	if (co->wait_for == f || f->rv != 0) {
		pthread_cond_broadcast(&ex->cv);
	}
	pthread_mutex_unlock(&c->mtx);
}

// The aio callback of a flight (an nng thread): a completed send becomes
// the receive of its acknowledgement on the same context; anything else
// ends the attempt (F_DONE) and wakes the exporter's thread.
static void
flight_cb(void *arg)
{
	flight *f = arg;
	collector *co = f->co;
	llmcost__exporter *ex = co->ex;
	int rv = nng_aio_result(f->aio);

	f->failed_send = 0;
	if (atomic_load(&f->state) == F_SEND) {
		if (rv == 0) {
			atomic_fetch_add(&ex->sent, 1);
			// As before pipelining: a batch that goes out after
			// an earlier attempt (sent or not) is a resend.
			if (f->attempts > 1) {
				atomic_fetch_add(&ex->resent, 1);
			}
			pthread_mutex_lock(&co->mtx);
			if (!co->closed && f->gen == co->gen) {
				atomic_store(&f->state, F_RECV);
				nng_aio_set_timeout(
				    f->aio, ex->client->cfg.ack_timeout_ms);
				nng_ctx_recv(f->ctx, f->aio);
				pthread_mutex_unlock(&co->mtx);
				return;
			}
			pthread_mutex_unlock(&co->mtx);
			rv = NNG_ECLOSED; // sent on a socket now gone
		} else {
			// A failed send leaves the message with us.
			nng_msg_free(nng_aio_get_msg(f->aio));
			nng_aio_set_msg(f->aio, NULL);
			f->failed_send = 1;
		}
	} else if (rv == 0) {
		f->reply = nng_aio_get_msg(f->aio);
		nng_aio_set_msg(f->aio, NULL);
	}
	f->rv = rv;
	atomic_store(&f->state, F_DONE);
	notify(ex, f);
}

// Opens a context for every flight on the current socket.  A flight
// without one fails its sends until the socket is replaced.  Exporter
// thread (or start), with no flight's operation under way.
static void
flights_open(llmcost__exporter *ex)
{
	collector *co = ex->priv;

	pthread_mutex_lock(&co->mtx);
	for (int i = 0; i < INFLIGHT_MAX; i++) {
		flight *f = &co->fl[i];
		int rv = nng_ctx_open(&f->ctx, co->sock);
		if (rv == 0) {
			// As the socket: every resend is ours.
			rv = nng_ctx_set_ms(f->ctx, NNG_OPT_REQ_RESENDTIME,
			    NNG_DURATION_INFINITE);
		}
		if (rv != 0) {
			llmcost__log(ex->client, LLMCOST_LOG_ERR,
			    "nng_ctx_open: %s", nng_strerror(rv));
		}
		f->ctx_ok = rv == 0;
		f->gen = co->gen;
	}
	int rv = nng_ctx_open(&co->poll_ctx, co->sock);
	if (rv == 0) {
		rv = nng_ctx_set_ms(co->poll_ctx, NNG_OPT_REQ_RESENDTIME,
		    NNG_DURATION_INFINITE);
		if (rv != 0) {
			(void) nng_ctx_close(co->poll_ctx);
		}
	}
	if (rv != 0) {
		llmcost__log(ex->client, LLMCOST_LOG_ERR, "nng_ctx_open: %s",
		    nng_strerror(rv));
	}
	co->poll_ok = rv == 0;
	pthread_mutex_unlock(&co->mtx);
}

// Closes every flight's context.  A batch sent but not yet answered is
// held by its context in nng; closing the context frees it now, not
// with the socket, whose close may hang and be abandoned (see the top).
// Call with no operation under way on the flights (cancelled or done).
static void
flights_close(collector *co)
{
	pthread_mutex_lock(&co->mtx);
	for (int i = 0; i < INFLIGHT_MAX; i++) {
		flight *f = &co->fl[i];
		if (f->ctx_ok) {
			(void) nng_ctx_close(f->ctx);
			f->ctx_ok = 0;
		}
	}
	if (co->poll_ok) {
		(void) nng_ctx_close(co->poll_ctx);
		co->poll_ok = 0;
	}
	pthread_mutex_unlock(&co->mtx);
}

// Where encode writes: straight into the body of an nng message sized up
// front, which grows (doubling) only when the estimate was short.  One
// memcpy per piece, no call into nng per piece.
typedef struct body_writer {
	nng_msg *msg;
	char *body;  // nng_msg_body(msg), again after each growth
	size_t used; // bytes written
	size_t cap;  // the body's length
} body_writer;

static int
body_write(void *arg, const char *buf, size_t len)
{
	body_writer *w = arg;

	if (len > w->cap - w->used) {
		size_t cap = 2 * w->cap;
		if (cap < w->used + len) {
			cap = w->used + len;
		}
		if (nng_msg_realloc(w->msg, cap) != 0) {
			return (-1);
		}
		w->cap = cap;
		w->body = nng_msg_body(w->msg);
	}
	memcpy(w->body + w->used, buf, len);
	w->used += len;
	return (0);
}

static int encode_v1(llmcost__exporter *ex, const flight *f, nng_msg **msgp);

// The drop count a message of f reports: the client's when its last
// batch was made, plus the calls this exporter never delivered (missed
// or given up), which the collector is missing too.
static uint64_t
flight_dropped(llmcost__exporter *ex, const flight *f)
{
	return (f->bs[f->nb - 1]->dropped + atomic_load(&ex->lost));
}

// String bytes of f's batches, to size a message.
static size_t
flight_str_bytes(const flight *f)
{
	size_t n = 0;
	for (uint32_t k = 0; k < f->nb; k++) {
		n += f->bs[k]->str_bytes;
	}
	return (n);
}

// Ends the encoding of a batch of n calls into w: *msgp and 0, or, when
// the encoder failed, the error (logged) and the message freed.
static int
encode_end(llmcost_client *c, const llmcost_proto_enc *enc, body_writer *w,
    uint32_t n, nng_msg **msgp)
{
	if (enc->err != 0) {
		llmcost__log(c, LLMCOST_LOG_ERR,
		    "encoding a batch of %u calls failed: %s; dropped", n,
		    llmcost_strerror(enc->err));
		nng_msg_free(w->msg);
		return (enc->err);
	}
	nng_msg_chop(w->msg, w->cap - w->used);
	*msgp = w->msg;
	return (0);
}

// Encodes f's batches as one TBATCH (proto/README.md): each distinct
// string once, in the message's string table, the records referring to
// it.  Returns 0 and *msgp, or an error (logged).
static int
encode_t(llmcost__exporter *ex, const flight *f, nng_msg **msgp)
{
	llmcost_client *c = ex->client;
	collector *co = ex->priv;
	llmcost_proto_strtab *t = &co->tab;
	llmcost_proto_enc enc;
	body_writer w;

	// The call site checked every string (llmcost__str_check).
	llmcost_proto_strtab_begin(t, 1);
	for (uint32_t k = 0; k < f->nb; k++) {
		const llmcost__batch *b = f->bs[k];
		for (uint32_t i = 0; i < b->n; i++) {
			if (b->kinds[i] == LLMCOST__KIND_CALL) {
				llmcost_proto_strtab_record(t, &b->records[i]);
			}
		}
	}
	// The message's size, exactly but for the headers (nng zeroes every
	// byte of a new body): 64 covers the envelope, 5 each string's.
	w.cap = 64 + 5 * (size_t) t->n + t->str_bytes + t->recs.len;
	w.used = 0;
	if (t->enc.err == 0 && nng_msg_alloc(&w.msg, w.cap) != 0) {
		llmcost__log(c, LLMCOST_LOG_ERR,
		    "no memory for a batch of %u calls; dropped", f->n);
		return (LLMCOST_ENOMEM);
	}
	if (t->enc.err != 0) {
		llmcost__log(c, LLMCOST_LOG_ERR,
		    "encoding a batch of %u calls failed: %s; dropped", f->n,
		    llmcost_strerror(t->enc.err));
		return (t->enc.err);
	}
	w.body = nng_msg_body(w.msg);
	llmcost_proto_enc_init(&enc, body_write, &w, 0);
	(void) llmcost_proto_enc_tbatch(&enc, c->client_id, f->seq,
	    flight_dropped(ex, f), llmcost__exporters_lossy_lost(c), t);
	return (encode_end(c, &enc, &w, f->n, msgp));
}

// Encodes b into a new message under sequence seq: a TBATCH when the
// collector's last ACK said it reads one, else a BATCH.  Returns 0 and
// *msgp, or an error (logged).
static int
encode(llmcost__exporter *ex, flight *f, nng_msg **msgp)
{
	collector *co = ex->priv;

	f->sent_t = 0;
	if (co->tbatch && !co->tab_ok) {
		co->tab_ok = llmcost_proto_strtab_init(&co->tab) == 0;
	}
	if (co->tbatch && co->tab_ok) {
		f->sent_t = 1;
		return (encode_t(ex, f, msgp));
	}
	return (encode_v1(ex, f, msgp));
}

// Encodes f's batches into one new BATCH message under f's sequence.
// Returns 0 and *msgp, or an error (logged).
static int
encode_v1(llmcost__exporter *ex, const flight *f, nng_msg **msgp)
{
	llmcost_client *c = ex->client;
	llmcost_proto_enc enc;
	body_writer w;

	// 128 bytes covers the framing and numbers of a typical record (about
	// 70; a record of 9-byte numbers grows the body once).  nng fills a
	// new body, so every byte over costs a write.
	w.cap = 64 + flight_str_bytes(f) + 128u * (size_t) f->n;
	w.used = 0;
	if (nng_msg_alloc(&w.msg, w.cap) != 0) {
		llmcost__log(c, LLMCOST_LOG_ERR,
		    "no memory for a batch of %u calls; dropped", f->n);
		return (LLMCOST_ENOMEM);
	}
	w.body = nng_msg_body(w.msg);
	llmcost_proto_enc_init(&enc, body_write, &w, 0);
	// The call site checked every string (llmcost__str_check).
	enc.utf8_trusted = 1;
	// The chain runs of request scopes are LangSmith's only: the
	// collector keeps calls (their trace and parent travel with them).
	uint32_t calls = 0;
	for (uint32_t k = 0; k < f->nb; k++) {
		const llmcost__batch *b = f->bs[k];
		for (uint32_t i = 0; i < b->n; i++) {
			calls += b->kinds[i] == LLMCOST__KIND_CALL;
		}
	}
	// And what LangSmith's exporter lost, for reconciliation (proto
	// batch element 6).
	llmcost_proto_enc_batch_header_lost(
	    &enc, c->client_id, f->seq, flight_dropped(ex, f), calls);
	for (uint32_t k = 0; k < f->nb; k++) {
		const llmcost__batch *b = f->bs[k];
		for (uint32_t i = 0; i < b->n; i++) {
			if (b->kinds[i] == LLMCOST__KIND_CALL) {
				llmcost_proto_enc_record(&enc, &b->records[i]);
			}
		}
	}
	llmcost_proto_enc_batch_lost(&enc, llmcost__exporters_lossy_lost(c));
	return (encode_end(c, &enc, &w, f->n, msgp));
}

// Ends an attempt without an operation (state F_DONE).  Exporter thread.
static void
flight_fail(flight *f, int rv, int failed_send)
{
	f->rv = rv;
	f->failed_send = failed_send;
	atomic_store(&f->state, F_DONE);
}

// Sends f's batch (again) on f's context: encoded afresh each time, so
// no copy is kept.  The callback reports the outcome; a failure to start
// ends the attempt at once.  Exporter thread, with f not busy.
static void
flight_send(llmcost__exporter *ex, flight *f)
{
	collector *co = ex->priv;
	nng_msg *msg = NULL;

	// The last attempt's callback may still be returning (it marks the
	// attempt done before it wakes us): let it finish before the aio is
	// used again.
	nng_aio_wait(f->aio);
	if (f->reply != NULL) {
		nng_msg_free(f->reply);
		f->reply = NULL;
	}
	f->attempts++;
	if (encode(ex, f, &msg) != 0) {
		f->enc_failed = 1;
		flight_fail(f, NNG_ENOMEM, 0);
		return;
	}
	f->enc_failed = 0;
	atomic_store(&f->state, F_SEND);
	pthread_mutex_lock(&co->mtx);
	if (co->closed || llmcost__exporter_stopping(ex) || !f->ctx_ok
	    || f->gen != co->gen) {
		int closed = co->closed || llmcost__exporter_stopping(ex);
		pthread_mutex_unlock(&co->mtx);
		nng_msg_free(msg);
		flight_fail(f, closed ? NNG_ECLOSED : NNG_ENOMEM, 1);
		return;
	}
	nng_aio_set_timeout(f->aio, SEND_TIMEOUT_MS);
	nng_aio_set_msg(f->aio, msg);
	nng_ctx_send(f->ctx, f->aio);
	pthread_mutex_unlock(&co->mtx);
}

// The flight whose oldest unsettled batch is b, or NULL.
static flight *
flight_of(collector *co, const llmcost__batch *b)
{
	for (int i = 0; i < INFLIGHT_MAX; i++) {
		flight *f = &co->fl[i];
		if (f->nb > 0 && f->bs[f->done] == b) {
			return (f);
		}
	}
	return (NULL);
}

// A free flight, or NULL.
static flight *
flight_free(collector *co)
{
	for (int i = 0; i < INFLIGHT_MAX; i++) {
		if (co->fl[i].nb == 0) {
			return (&co->fl[i]);
		}
	}
	return (NULL);
}

// Frees a flight whose batches are settled.  Exporter thread.
static void
flight_clear(flight *f)
{
	if (f->reply != NULL) {
		nng_msg_free(f->reply);
		f->reply = NULL;
	}
	f->nb = 0;
	f->done = 0;
	f->n = 0;
	f->settled = S_NONE;
	f->attempts = 0;
	f->enc_failed = 0;
	atomic_store(&f->state, F_IDLE);
}

// 1 if f's attempt failed and it may go out again at once: not a batch
// that could not be encoded (lost when its turn comes), nor a flight
// without a context, whose send would fail at once again (it waits for
// its turn, when deliver backs off and replaces the socket).
static int
resend_now(const flight *f)
{
	return (atomic_load(&f->state) == F_DONE && f->rv != 0
	    && !f->enc_failed && f->ctx_ok);
}

// Batches the flights carry and have not settled: always the oldest the
// exporter holds (flights are filled, and settle, in order).
static uint32_t
flights_batches(const collector *co)
{
	uint32_t n = 0;
	for (int i = 0; i < INFLIGHT_MAX; i++) {
		n += co->fl[i].nb - co->fl[i].done;
	}
	return (n);
}

// With the client's mtx held: the exporter holds a batch not yet in
// flight and a flight is free, or a flight other than head failed its
// attempt (to resend now).
static int
flights_work(llmcost__exporter *ex, const flight *head)
{
	collector *co = ex->priv;

	for (int i = 0; i < INFLIGHT_MAX; i++) {
		const flight *f = &co->fl[i];
		if (f->nb > 0 && f != head && resend_now(f)) {
			return (1);
		}
	}
	return (flight_free(co) != NULL && ex->count > flights_batches(co));
}

// Puts the batches the exporter holds that are not in flight yet into
// the free flights, as many consecutive ones per message as fit in
// batch_max calls (and FLIGHT_BATCHES batches): while every flight
// waits for its acknowledgement, the batches the loop hands over gather,
// and go as one message when a flight is free (see "merged" at the
// top).  Then sends again at once every flight but head whose attempt
// failed (head's failures are deliver's to handle, with backoff and
// counting).  Exporter thread.
static void
flights_run(llmcost__exporter *ex, const flight *head)
{
	llmcost_client *c = ex->client;
	collector *co = ex->priv;
	flight *todo[INFLIGHT_MAX];
	uint32_t n = 0;
	uint32_t max = c->cfg.batch_max;

	pthread_mutex_lock(&c->mtx);
	uint32_t i = flights_batches(co);
	const llmcost__batch *b = llmcost__exporter_held(ex, i);
	flight *f;
	while (b != NULL && (f = flight_free(co)) != NULL) {
		do {
			f->bs[f->nb++] = b;
			f->n += b->n;
			b = llmcost__exporter_held(ex, ++i);
		} while (
		    b != NULL && f->nb < FLIGHT_BATCHES && f->n + b->n <= max);
		todo[n++] = f;
	}
	pthread_mutex_unlock(&c->mtx);
	for (uint32_t k = 0; k < n; k++) {
		todo[k]->seq = ++co->seq;
		todo[k]->attempts = 0;
		flight_send(ex, todo[k]);
	}
	for (int k = 0; k < INFLIGHT_MAX; k++) {
		f = &co->fl[k];
		if (f != head && f->nb > 0 && resend_now(f)) {
			flight_send(ex, f);
		}
	}
}

// Waits until f's attempt is over, keeping the other flights going
// meanwhile.  Returns 0, or LLMCOST_ECLOSED once the exporter is
// stopping.  Exporter thread.
static int
wait_flight(llmcost__exporter *ex, flight *f)
{
	llmcost_client *c = ex->client;
	collector *co = ex->priv;

	for (;;) {
		flights_run(ex, f);
		pthread_mutex_lock(&c->mtx);
		co->wait_for = f;
		while (atomic_load(&f->state) != F_DONE
		    && !llmcost__exporter_stopping(ex)
		    && !flights_work(ex, f)) {
			// With every flight busy, a new batch can only wait.
			ex->sated = flight_free(co) == NULL;
			pthread_cond_wait(&ex->cv, &c->mtx);
			ex->sated = 0;
		}
		co->wait_for = NULL;
		int done = atomic_load(&f->state) == F_DONE;
		pthread_mutex_unlock(&c->mtx);
		if (llmcost__exporter_stopping(ex)) {
			return (LLMCOST_ECLOSED);
		}
		if (done) {
			return (0);
		}
	}
}

// Replaces the socket with a new one (nng 1.5 wedges, see the top): the
// flights under way on the old one are cancelled and get new contexts;
// flights_run sends them again.  Exporter thread.
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
	co->gen++;
	pthread_mutex_unlock(&co->mtx);
	// A new connection may reach another collector: BATCH until its
	// ACK says otherwise.
	co->tbatch = 0;
	// From here no callback starts an operation on the old socket: end
	// the ones under way before their flights get new contexts.
	for (int i = 0; i < INFLIGHT_MAX; i++) {
		nng_aio_cancel(co->fl[i].aio);
		nng_aio_wait(co->fl[i].aio);
	}
	flights_close(co);
	flights_open(ex);
	llmcost__log(c, LLMCOST_LOG_INFO,
	    "no answer from the collector at %s; new connection", c->cfg.url);
	close_bounded(c, old);
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
	if (llmcost__nng_forked(c)) {
		return (LLMCOST_ESYSTEM);
	}
	if ((co = calloc(1, sizeof(*co))) == NULL) {
		return (LLMCOST_ENOMEM);
	}
	if (pthread_mutex_init(&co->mtx, NULL) != 0) {
		free(co);
		return (LLMCOST_ESYSTEM);
	}
	co->ex = ex;
	// From the first nng call on, a fork() child must not use nng.
	(void) pthread_once(&nng_fork_once, nng_fork_watch);
	if (atomic_exchange(&nng_unwatched, 0)) {
		llmcost__log(c, LLMCOST_LOG_WARNING,
		    "no memory for a fork handler: a child this process "
		    "forks must not create llmcost clients (nng would abort "
		    "it)");
	}
	atomic_store(&nng_started, 1);
	rv = 0;
	for (int i = 0; i < INFLIGHT_MAX && rv == 0; i++) {
		co->fl[i].co = co;
		if ((rv = nng_aio_alloc(&co->fl[i].aio, flight_cb, &co->fl[i]))
		    != 0) {
			llmcost__log(c, LLMCOST_LOG_ERR, "nng_aio_alloc: %s",
			    nng_strerror(rv));
			rv = LLMCOST_ENOMEM;
		}
	}
	if (rv == 0 && (rv = nng_aio_alloc(&co->poll_aio, NULL, NULL)) != 0) {
		llmcost__log(
		    c, LLMCOST_LOG_ERR, "nng_aio_alloc: %s", nng_strerror(rv));
		rv = LLMCOST_ENOMEM;
	}
	if (rv == 0) {
		rv = sock_open(c, &co->sock);
	}
	if (rv != 0) {
		for (int i = 0; i < INFLIGHT_MAX; i++) {
			if (co->fl[i].aio != NULL) {
				nng_aio_free(co->fl[i].aio);
			}
		}
		if (co->poll_aio != NULL) {
			nng_aio_free(co->poll_aio);
		}
		pthread_mutex_destroy(&co->mtx);
		free(co);
		return (rv);
	}
	ex->priv = co;
	ex->idle_ms = c->cfg.budget_poll_ms;
	// The hold (shim.h, LLMCOST__INFLIGHT_MAX): with a spool, the
	// batches in flight alone, so that calls waiting longer are on
	// disk; without, as many bytes of batches as the pool takes.
	if (c->spool != NULL) {
		ex->queue_max = INFLIGHT_MAX;
	} else {
		ex->queue_max = LLMCOST__EXPORTER_QUEUE_MAX;
		ex->queue_base = INFLIGHT_MAX;
		ex->bytes_max = LLMCOST__COLLECTOR_HOLD(c->cfg.queue_max);
	}
	flights_open(ex);
	return (0);
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

// Interprets the reply to flight f; a settling one sets f->settled.
static reply_kind
handle_reply(llmcost__exporter *ex, nng_msg *reply, flight *f)
{
	llmcost_client *c = ex->client;
	collector *co = ex->priv;
	llmcost_proto_msg m;
	char reason[128];
	reply_kind kind = REPLY_OTHER;
	uint32_t n = f->n;

	if (llmcost_proto_decode(nng_msg_body(reply), nng_msg_len(reply), &m,
	        reason, sizeof(reason))
	    != 0) {
		llmcost__log(c, LLMCOST_LOG_WARNING,
		    "unreadable reply from collector: %s", reason);
		return (REPLY_OTHER);
	}
	if (m.type != LLMCOST_MSG_ACK || m.u.ack.seq != f->seq
	    || memcmp(m.u.ack.client_id, c->client_id, 16) != 0) {
		llmcost_proto_msg_free(&m);
		return (REPLY_OTHER);
	}
	co->tbatch = (m.u.ack.features & LLMCOST_PROTO_FEAT_TBATCH) != 0;
	if (f->sent_t && m.u.ack.status == LLMCOST_ACK_REJECTED) {
		// An older collector behind the same address (it does not
		// know the type), or a TBATCH it could not read: never a
		// lost call.  The batch goes again as a BATCH, and so do the
		// next ones until an ACK says otherwise.
		co->tbatch = 0;
		llmcost__log(c, LLMCOST_LOG_INFO,
		    "collector refused batch %llu as a string-table batch "
		    "(%.*s); sending it and the next ones as plain batches",
		    (unsigned long long) f->seq, (int) m.u.ack.reason.len,
		    m.u.ack.reason.ptr);
		llmcost_proto_msg_free(&m);
		return (REPLY_DOWNGRADE);
	}
	switch (m.u.ack.status) {
	case LLMCOST_ACK_STORED:
		f->settled = S_STORED;
		kind = REPLY_SETTLED;
		break;
	case LLMCOST_ACK_REJECTED:
		llmcost__log(c, LLMCOST_LOG_ERR,
		    "collector refused batch %llu (%u calls): %.*s",
		    (unsigned long long) f->seq, n, (int) m.u.ack.reason.len,
		    m.u.ack.reason.ptr);
		f->settled = S_REFUSED;
		kind = REPLY_SETTLED;
		break;
	default:
		llmcost__log(c, LLMCOST_LOG_WARNING,
		    "collector asked to retry batch %llu: %.*s",
		    (unsigned long long) f->seq, (int) m.u.ack.reason.len,
		    m.u.ack.reason.ptr);
		kind = REPLY_RETRY;
		break;
	}
	llmcost_proto_msg_free(&m);
	return (kind);
}

// The hard guard's poll (guard.h): asks for BUDGET_STATE and publishes
// it.  Short waits, and none while the collector is unreachable (the
// next batch finds out), so a poll never holds up a batch for long.  A
// collector that refuses the request (an older llmcostd) is not asked
// again.  Exporter thread.
#define POLL_WAIT_MS 500

// Runs one send (*msgp given, consumed on success) or receive (*msgp
// returned) of the poll on its context within POLL_WAIT_MS.  Returns 0,
// an nng error, or NNG_ECLOSED once the exporter is stopping.  Exporter
// thread.
static int
poll_op(llmcost__exporter *ex, int send, nng_msg **msgp)
{
	collector *co = ex->priv;
	int rv;

	pthread_mutex_lock(&co->mtx);
	if (co->closed || llmcost__exporter_stopping(ex) || !co->poll_ok) {
		pthread_mutex_unlock(&co->mtx);
		return (NNG_ECLOSED);
	}
	nng_aio_set_timeout(co->poll_aio, POLL_WAIT_MS);
	if (send) {
		nng_aio_set_msg(co->poll_aio, *msgp);
		nng_ctx_send(co->poll_ctx, co->poll_aio);
	} else {
		nng_ctx_recv(co->poll_ctx, co->poll_aio);
	}
	pthread_mutex_unlock(&co->mtx);
	nng_aio_wait(co->poll_aio);
	rv = nng_aio_result(co->poll_aio);
	if (send) {
		if (rv == 0) {
			*msgp = NULL;
		}
		nng_aio_set_msg(co->poll_aio, NULL);
	} else if (rv == 0) {
		*msgp = nng_aio_get_msg(co->poll_aio);
		nng_aio_set_msg(co->poll_aio, NULL);
	}
	return (rv);
}

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
	    || poll_op(ex, 1, &msg) != 0) {
		nng_msg_free(msg);
		return;
	}
	if (poll_op(ex, 0, &reply) != 0) {
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

// Settles b, the oldest batch of f, whose message is answered for good;
// the last one frees f.
static void
flight_settle(flight *f, const llmcost__batch *b, llmcost__outcome *out)
{
	out->stored = f->settled == S_STORED ? b->n : 0;
	out->refused = f->settled == S_REFUSED ? b->n : 0;
	out->lost = f->settled == S_LOST ? b->n : 0;
	if (++f->done == f->nb) {
		flight_clear(f);
	}
}

// Delivers b, the oldest batch the exporter holds, until it is
// acknowledged or refused (0), or the exporter is stopping
// (LLMCOST_ECLOSED).  The batches handed over after it are in flight
// meanwhile; their acknowledgements wait in their flights until their
// turn comes.  A batch that went in one message with the ones before it
// settles as they did, at once.
static int
collector_deliver(
    llmcost__exporter *ex, const llmcost__batch *b, llmcost__outcome *out)
{
	llmcost_client *c = ex->client;
	collector *co = ex->priv;
	llmcost__backoff bo;
	flight *f;

	llmcost__backoff_init(&bo, BACKOFF_BASE_MS, BACKOFF_MAX_MS, 0, 0);
	if ((f = flight_of(co, b)) == NULL) {
		flights_run(ex, NULL);
		f = flight_of(co, b);
	}
	if (f == NULL) {
		out->lost = b->n; // cannot happen: b is the oldest held
		return (0);
	}
	for (;;) {
		int backoff = 0;

		if (f->settled != S_NONE) {
			flight_settle(f, b, out);
			return (0);
		}
		if (wait_flight(ex, f) != 0) {
			break;
		}
		if (f->enc_failed) {
			f->settled = S_LOST; // logged
			continue;
		}
		if (f->rv == 0) {
			reply_kind k = handle_reply(ex, f->reply, f);
			nng_msg_free(f->reply);
			f->reply = NULL;
			if (k == REPLY_SETTLED) {
				reachable(ex);
				co->silent = 0;
				continue;
			}
			if (k == REPLY_RETRY) {
				reachable(ex);
				co->silent = 0;
				backoff = 1;
			}
			if (k == REPLY_DOWNGRADE) {
				reachable(ex);
				co->silent = 0;
			}
		} else if (f->failed_send) {
			// No connection to send on.
			unreachable(ex, nng_strerror(f->rv));
			if (++co->silent >= REPLACE_AFTER) {
				replace_socket(ex);
				co->silent = 0;
			}
			backoff = 1;
		} else {
			llmcost__log(c, LLMCOST_LOG_DEBUG,
			    "no ack for batch %llu within %d ms (%s); "
			    "resending",
			    (unsigned long long) f->seq, c->cfg.ack_timeout_ms,
			    nng_strerror(f->rv));
			unreachable(ex,
			    f->rv == NNG_ETIMEDOUT ? "no acknowledgement"
			                           : nng_strerror(f->rv));
			if (++co->silent >= REPLACE_AFTER) {
				replace_socket(ex);
				co->silent = 0;
			}
		}
		if (backoff
		    && llmcost__exporter_sleep(
		        ex, llmcost__backoff_next(&bo))) {
			break;
		}
		flight_send(ex, f);
	}
	// Stopping: the flights stay as they are (stop cancels them, fini
	// frees what they hold); the host counts every held batch as lost.
	out->stored = 0;
	out->refused = 0;
	out->lost = b->n;
	return (LLMCOST_ECLOSED);
}

// On the shutdown thread: no new operation starts, the ones under way
// are cancelled, and the socket is closed within CLOSE_WAIT_MS (or
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
	for (int i = 0; i < INFLIGHT_MAX; i++) {
		nng_aio_cancel(co->fl[i].aio);
	}
	nng_aio_cancel(co->poll_aio);
	flights_close(co);
	close_bounded(ex->client, s);
}

static void
collector_fini(llmcost__exporter *ex)
{
	collector *co = ex->priv;
	collector_stop(ex);
	// The exporter's thread has ended; stop waits for any callback.
	for (int i = 0; i < INFLIGHT_MAX; i++) {
		flight *f = &co->fl[i];
		// The callback takes every message off the aio.
		nng_aio_stop(f->aio);
		if (f->reply != NULL) {
			nng_msg_free(f->reply);
		}
		nng_aio_free(f->aio);
	}
	nng_aio_stop(co->poll_aio);
	nng_aio_free(co->poll_aio);
	if (co->tab_ok) {
		llmcost_proto_strtab_fini(&co->tab);
	}
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
