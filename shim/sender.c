// DESIGN: one background thread per client ("llmcost-send") drains the
// submit ring into batches and delivers them to the collector over an nng
// req0 socket.  It wakes every flush_ms, when a call site sees the queue
// reach the batch size, or when llmcost_flush asks.  A batch is kept
// until the collector acknowledges it, which the collector does only after
// its LMDB transaction has committed; a lost reply, a dead collector or a
// "retry" answer makes the sender send the same batch (same client id and
// sequence) again after ack_timeout_ms or a backoff.  Duplicates are
// harmless: the collector keys calls by run id.  While a batch waits, new
// calls accumulate in the ring; when the pool runs out, call sites drop
// and count, and the cumulative drop count rides on every batch so the
// collector can report what it is missing.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "llmcost_proto.h"
#include "shim.h"

void llmcost__call_release(struct llmcost_call *call);

#define DROP_LOG_INTERVAL_NS (10ull * 1000000000ull)

typedef enum { DELIVERED = 0, REFUSED = 1, ABORTED = 2 } delivery;

static int
msg_write(void *arg, const char *buf, size_t len)
{
	return (nng_msg_append((nng_msg *) arg, buf, len) == 0 ? 0 : -1);
}

// Waits on the wake condition until woken or timeout_ms passes.
static void
sender_sleep(llmcost_client *c, int32_t timeout_ms, int for_work)
{
	struct timespec ts = llmcost__deadline_ms(timeout_ms);

	pthread_mutex_lock(&c->mtx);
	// Announce the sleep before the last look at the queue: a call site
	// that fills the queue after this look sees the flag and signals,
	// and its signal waits for the mutex, which the wait releases.
	atomic_store(&c->sleeping, for_work);
	while (!atomic_load(&c->closing)) {
		if (for_work
		    && (c->wake_flag
		        || llmcost__ring_depth(&c->submit_ring)
		            >= c->wake_depth)) {
			break;
		}
		if (pthread_cond_timedwait(&c->wake, &c->mtx, &ts)
		    == ETIMEDOUT) {
			break;
		}
		if (!for_work) {
			break;
		}
	}
	atomic_store(&c->sleeping, 0);
	c->wake_flag = 0;
	pthread_mutex_unlock(&c->mtx);
}

static void
progress(llmcost_client *c)
{
	pthread_mutex_lock(&c->mtx);
	pthread_cond_broadcast(&c->progress);
	pthread_mutex_unlock(&c->mtx);
}

// Drains up to batch_max calls into a new batch message.
static int
build_batch(llmcost_client *c, nng_msg **msgp, uint32_t *np)
{
	uint32_t max = c->cfg.batch_max;
	uint32_t idx[LLMCOST_PROTO_MAX_RECORDS];
	uint32_t n = 0;
	nng_msg *msg = NULL;
	llmcost_proto_enc enc;

	while (n < max && llmcost__ring_pop(&c->submit_ring, &idx[n]) == 0) {
		n++;
	}
	// Reserve the whole message: nng grows a message to the exact size on
	// each append, which would make encoding quadratic.  256 bytes covers
	// the framing and numbers of a typical record; past it, appends still
	// work, only slower.
	size_t need = 64;
	for (uint32_t i = 0; i < n; i++) {
		need += c->pool[idx[i]].arena_used + 256u;
	}
	if (nng_msg_alloc(&msg, 0) != 0 || nng_msg_reserve(msg, need) != 0) {
		if (msg != NULL) {
			nng_msg_free(msg);
		}
		// Put nothing back: ordering matters less than memory here,
		// and the calls are counted.
		for (uint32_t i = 0; i < n; i++) {
			llmcost__call_release(&c->pool[idx[i]]);
		}
		atomic_fetch_add(&c->dropped, n);
		atomic_fetch_add(&c->done, n);
		return (LLMCOST_ENOMEM);
	}
	llmcost_proto_enc_init(&enc, msg_write, msg, 0);
	c->seq++;
	llmcost_proto_enc_batch_header(
	    &enc, c->client_id, c->seq, atomic_load(&c->dropped), n);
	for (uint32_t i = 0; i < n; i++) {
		struct llmcost_call *call = &c->pool[idx[i]];
		llmcost_proto_kv meta[LLMCOST_MAX_META];
		llmcost_proto_str tags[LLMCOST_MAX_TAGS];
		llmcost_proto_record r;

		memset(&r, 0, sizeof(r));
		memcpy(r.run_id, call->run_id, 16);
		r.start_ns = call->start_ns;
		r.duration_ns = call->duration_ns;
		r.status = call->status;
		r.provider.ptr = call->arena + call->provider.off;
		r.provider.len = call->provider.len;
		r.model.ptr = call->arena + call->model.off;
		r.model.len = call->model.len;
		memcpy(r.usage, call->usage, sizeof(r.usage));
		for (uint16_t k = 0; k < call->n_meta; k++) {
			meta[k].key.ptr = call->arena + call->meta_key[k].off;
			meta[k].key.len = call->meta_key[k].len;
			meta[k].val.ptr = call->arena + call->meta_val[k].off;
			meta[k].val.len = call->meta_val[k].len;
		}
		for (uint16_t k = 0; k < call->n_tags; k++) {
			tags[k].ptr = call->arena + call->tags[k].off;
			tags[k].len = call->tags[k].len;
		}
		r.meta = meta;
		r.n_meta = call->n_meta;
		r.tags = tags;
		r.n_tags = call->n_tags;
		llmcost_proto_enc_record(&enc, &r);
		llmcost__call_release(call);
	}
	if (enc.err != 0) {
		llmcost__log(c, LLMCOST_LOG_ERR,
		    "encoding a batch of %u calls failed: %s; dropped", n,
		    llmcost_strerror(enc.err));
		nng_msg_free(msg);
		atomic_fetch_add(&c->dropped, n);
		atomic_fetch_add(&c->done, n);
		return (enc.err);
	}
	*msgp = msg;
	*np = n;
	return (0);
}

// Interprets a reply; returns 1 when it settles the batch (*outcome set),
// 0 to keep waiting, -1 to resend after a backoff.
static int
handle_reply(llmcost_client *c, nng_msg *reply, uint32_t n, delivery *outcome)
{
	llmcost_proto_msg m;
	char reason[128];
	int settled = 0;

	if (llmcost_proto_decode(nng_msg_body(reply), nng_msg_len(reply), &m,
	        reason, sizeof(reason))
	    != 0) {
		llmcost__log(c, LLMCOST_LOG_WARNING,
		    "unreadable reply from collector: %s", reason);
		return (0);
	}
	if (m.type != LLMCOST_MSG_ACK || m.u.ack.seq != c->seq
	    || memcmp(m.u.ack.client_id, c->client_id, 16) != 0) {
		llmcost_proto_msg_free(&m);
		return (0);
	}
	switch (m.u.ack.status) {
	case LLMCOST_ACK_STORED:
		atomic_fetch_add(&c->acked, n);
		*outcome = DELIVERED;
		settled = 1;
		break;
	case LLMCOST_ACK_REJECTED:
		llmcost__log(c, LLMCOST_LOG_ERR,
		    "collector refused batch %llu (%u calls): %.*s",
		    (unsigned long long) c->seq, n, (int) m.u.ack.reason.len,
		    m.u.ack.reason.ptr);
		atomic_fetch_add(&c->rejected, n);
		*outcome = REFUSED;
		settled = 1;
		break;
	default:
		llmcost__log(c, LLMCOST_LOG_WARNING,
		    "collector asked to retry batch %llu: %.*s",
		    (unsigned long long) c->seq, (int) m.u.ack.reason.len,
		    m.u.ack.reason.ptr);
		settled = -1;
		break;
	}
	llmcost_proto_msg_free(&m);
	return (settled);
}

// Logs new drops at most every DROP_LOG_INTERVAL_NS.  Sender thread only.
static void
log_drops(llmcost_client *c)
{
	static _Thread_local uint64_t logged, when;
	uint64_t d = atomic_load(&c->dropped);
	uint64_t now = llmcost__mono_ns();
	if (d > logged && (when == 0 || now - when >= DROP_LOG_INTERVAL_NS)) {
		llmcost__log(c, LLMCOST_LOG_WARNING,
		    "%llu calls dropped so far (queue full: is llmcostd "
		    "running at %s?)",
		    (unsigned long long) d, c->cfg.url);
		logged = d;
		when = now;
	}
}

// nng 1.5 (Debian 12) stops a dialer for good when the peer disconnects
// during the SP handshake (nng issue #1518, fixed in 1.6), e.g. when the
// collector is killed at that moment.  Two acknowledgement timeouts in a
// row make the sender replace its dialer, which is harmless when the
// dialer was fine: the batch is resent either way.
static void
redial(llmcost_client *c)
{
	nng_dialer old = c->dialer;
	int rv = nng_dial(c->sock, c->cfg.url, &c->dialer, NNG_FLAG_NONBLOCK);
	if (rv != 0) {
		c->dialer = old;
		llmcost__log(c, LLMCOST_LOG_WARNING, "re-dialing %s: %s",
		    c->cfg.url, nng_strerror(rv));
		return;
	}
	nng_dialer_close(old);
	llmcost__log(c, LLMCOST_LOG_INFO,
	    "no answer from the collector at %s; reconnected", c->cfg.url);
}

// Sends msg until it is acknowledged or refused, or the client closes.
static delivery
deliver(llmcost_client *c, nng_msg *msg, uint32_t n)
{
	int32_t backoff = 50;
	int silent = 0; // acknowledgement timeouts in a row

	for (int attempt = 0;; attempt++) {
		nng_msg *copy;
		delivery outcome = ABORTED;
		int rv;

		if (atomic_load(&c->closing)) {
			return (ABORTED);
		}
		log_drops(c);
		if (nng_msg_dup(&copy, msg) != 0) {
			sender_sleep(c, backoff, 0);
			continue;
		}
		if ((rv = nng_sendmsg(c->sock, copy, 0)) != 0) {
			nng_msg_free(copy);
			if (rv == NNG_ECLOSED) {
				return (ABORTED);
			}
			sender_sleep(c, backoff, 0);
			backoff = backoff < 2000 ? backoff * 2 : 2000;
			continue;
		}
		atomic_fetch_add(&c->sent, 1);
		if (attempt > 0) {
			atomic_fetch_add(&c->resent, 1);
		}
		for (;;) {
			nng_msg *reply;
			rv = nng_recvmsg(c->sock, &reply, 0);
			if (rv != 0) {
				if (rv == NNG_ECLOSED) {
					return (ABORTED);
				}
				if (rv == NNG_ETIMEDOUT) {
					llmcost__log(c, LLMCOST_LOG_DEBUG,
					    "no ack for batch %llu within "
					    "%d ms; resending",
					    (unsigned long long) c->seq,
					    c->cfg.ack_timeout_ms);
					if (++silent >= 2) {
						redial(c);
						silent = 0;
					}
				}
				break; // resend
			}
			int s = handle_reply(c, reply, n, &outcome);
			nng_msg_free(reply);
			if (s == 1) {
				return (outcome);
			}
			if (s == -1) {
				sender_sleep(c, backoff, 0);
				backoff = backoff < 2000 ? backoff * 2 : 2000;
				break;
			}
		}
	}
}

static void *
sender_main(void *arg)
{
	llmcost_client *c = arg;
	uint64_t drops_reported = 0;

	pthread_setname_np(pthread_self(), "llmcost-send");
	while (!atomic_load(&c->closing)) {
		sender_sleep(c, c->cfg.flush_ms, 1);
		for (;;) {
			uint64_t dropped = atomic_load(&c->dropped);
			log_drops(c);
			if (llmcost__ring_depth(&c->submit_ring) == 0
			    && dropped == drops_reported) {
				break;
			}
			nng_msg *msg;
			uint32_t n;
			if (build_batch(c, &msg, &n) != 0) {
				progress(
				    c); // its calls were counted as dropped
				continue;
			}
			delivery d = deliver(c, msg, n);
			nng_msg_free(msg);
			if (d == ABORTED) {
				atomic_fetch_add(&c->dropped, n);
				atomic_fetch_add(&c->done, n);
				progress(c);
				return (NULL);
			}
			drops_reported = dropped;
			atomic_fetch_add(&c->done, n);
			progress(c);
		}
	}
	return (NULL);
}

int
llmcost__sender_start(llmcost_client *c)
{
	int rv;
	sigset_t all, old;

	if ((rv = nng_req0_open(&c->sock)) != 0) {
		llmcost__log(
		    c, LLMCOST_LOG_ERR, "nng_req0_open: %s", nng_strerror(rv));
		return (LLMCOST_ESYSTEM);
	}
	// Resends are ours (same batch, same sequence), so nng's own timer
	// only acts as a backstop.
	nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME, 60000);
	nng_socket_set_ms(c->sock, NNG_OPT_RECVTIMEO, c->cfg.ack_timeout_ms);
	nng_socket_set_ms(c->sock, NNG_OPT_SENDTIMEO, 1000);
	nng_socket_set_ms(c->sock, NNG_OPT_RECONNMINT, 20);
	nng_socket_set_ms(c->sock, NNG_OPT_RECONNMAXT, 1000);
	nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, 64 * 1024);
	rv = nng_dial(c->sock, c->cfg.url, &c->dialer, NNG_FLAG_NONBLOCK);
	if (rv != 0) {
		llmcost__log(c, LLMCOST_LOG_ERR,
		    "cannot use collector URL %s: %s", c->cfg.url,
		    nng_strerror(rv));
		nng_close(c->sock);
		return (LLMCOST_ECONFIG);
	}
	// The sender must never take the host's signals.
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rv = pthread_create(&c->thread, NULL, sender_main, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rv != 0) {
		nng_close(c->sock);
		return (LLMCOST_ESYSTEM);
	}
	c->thread_started = 1;
	return (0);
}

// Called by call sites once the queue holds a batch.  Only the one call
// site that finds the sender asleep takes the mutex, once per batch.
void
llmcost__sender_wake(llmcost_client *c)
{
	if (atomic_load_explicit(&c->sleeping, memory_order_relaxed)
	    && atomic_exchange(&c->sleeping, 0)) {
		pthread_mutex_lock(&c->mtx);
		pthread_cond_signal(&c->wake);
		pthread_mutex_unlock(&c->mtx);
	}
}

void
llmcost__sender_stop(llmcost_client *c)
{
	if (!c->thread_started) {
		return;
	}
	pthread_mutex_lock(&c->mtx);
	pthread_cond_broadcast(&c->wake);
	pthread_mutex_unlock(&c->mtx);
	// Closing the socket ends a blocked send or receive at once.
	nng_close(c->sock);
	pthread_join(c->thread, NULL);
	c->thread_started = 0;
}
