// DESIGN: the collector exporter: delivers batches to llmcostd over an
// nng req0 socket, one batch in flight at a time, on its own thread
// (exporter.h).  A batch is encoded once, with the client id, a new
// sequence number and the cumulative drop count, and kept until the
// collector acknowledges it, which the collector does only after its
// LMDB transaction has committed.  A lost reply, a dead collector or a
// "retry" answer makes the exporter send the same message (same client id
// and sequence) again after ack_timeout_ms or a backoff.  Duplicates are
// harmless: the collector keys calls by run id.  A refused batch is
// malformed and never resent.  The socket is closed to stop: that ends a
// blocked send or receive at once.
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

typedef struct collector {
	nng_socket sock;
	nng_dialer dialer;
	uint64_t seq; // the last batch's sequence; exporter thread only
	int closed;   // stop and fini run on the same thread, in order
} collector;

typedef enum {
	REPLY_OTHER = 0, // not the answer to this batch: keep waiting
	REPLY_SETTLED,   // stored or refused: *out filled
	REPLY_RETRY,     // the collector asked to resend later
} reply_kind;

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
	if ((rv = nng_req0_open(&co->sock)) != 0) {
		llmcost__log(
		    c, LLMCOST_LOG_ERR, "nng_req0_open: %s", nng_strerror(rv));
		free(co);
		return (LLMCOST_ESYSTEM);
	}
	// Resends are ours (same batch, same sequence), so nng's own timer
	// only acts as a backstop.
	if (set_ms(c, co->sock, NNG_OPT_REQ_RESENDTIME, 60000) != 0
	    || set_ms(c, co->sock, NNG_OPT_RECVTIMEO, c->cfg.ack_timeout_ms)
	        != 0
	    || set_ms(c, co->sock, NNG_OPT_SENDTIMEO, 1000) != 0
	    || set_ms(c, co->sock, NNG_OPT_RECONNMINT, 20) != 0
	    || set_ms(c, co->sock, NNG_OPT_RECONNMAXT, 1000) != 0) {
		nng_close(co->sock);
		free(co);
		return (LLMCOST_ESYSTEM);
	}
	if ((rv = nng_socket_set_size(co->sock, NNG_OPT_RECVMAXSZ, 64 * 1024))
	    != 0) {
		llmcost__log(c, LLMCOST_LOG_ERR, "setting %s: %s",
		    NNG_OPT_RECVMAXSZ, nng_strerror(rv));
		nng_close(co->sock);
		free(co);
		return (LLMCOST_ESYSTEM);
	}
	rv = nng_dial(co->sock, c->cfg.url, &co->dialer, NNG_FLAG_NONBLOCK);
	if (rv != 0) {
		llmcost__log(c, LLMCOST_LOG_ERR,
		    "cannot use collector URL %s: %s", c->cfg.url,
		    nng_strerror(rv));
		nng_close(co->sock);
		free(co);
		return (LLMCOST_ECONFIG);
	}
	ex->priv = co;
	return (0);
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
	llmcost_proto_enc_batch_header(
	    &enc, c->client_id, co->seq, dropped, calls);
	for (uint32_t i = 0; i < b->n; i++) {
		if (b->kinds[i] == LLMCOST__KIND_CALL) {
			llmcost_proto_enc_record(&enc, &b->records[i]);
		}
	}
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

// nng 1.5 (Debian 12) stops a dialer for good when the peer disconnects
// during the SP handshake (nng issue #1518, fixed in 1.6), e.g. when the
// collector is killed at that moment.  Two acknowledgement timeouts in a
// row make the exporter replace its dialer, which is harmless when the
// dialer was fine: the batch is resent either way.
static void
redial(llmcost__exporter *ex)
{
	llmcost_client *c = ex->client;
	collector *co = ex->priv;
	nng_dialer old = co->dialer;
	int rv
	    = nng_dial(co->sock, c->cfg.url, &co->dialer, NNG_FLAG_NONBLOCK);
	if (rv != 0) {
		co->dialer = old;
		llmcost__log(c, LLMCOST_LOG_WARNING, "re-dialing %s: %s",
		    c->cfg.url, nng_strerror(rv));
		return;
	}
	if ((rv = nng_dialer_close(old)) != 0) {
		llmcost__log(c, LLMCOST_LOG_DEBUG,
		    "closing the old dialer: %s", nng_strerror(rv));
	}
	llmcost__log(c, LLMCOST_LOG_INFO,
	    "no answer from the collector at %s; reconnected", c->cfg.url);
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
		if ((rv = nng_sendmsg(co->sock, copy, 0)) != 0) {
			nng_msg_free(copy);
			if (rv == NNG_ECLOSED
			    || llmcost__exporter_sleep(
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
			rv = nng_recvmsg(co->sock, &reply, 0);
			if (rv != 0) {
				if (rv == NNG_ECLOSED) {
					return (LLMCOST_ECLOSED);
				}
				if (rv == NNG_ETIMEDOUT) {
					llmcost__log(c, LLMCOST_LOG_DEBUG,
					    "no ack for batch %llu within "
					    "%d ms; resending",
					    (unsigned long long) co->seq,
					    c->cfg.ack_timeout_ms);
					if (++silent >= 2) {
						redial(ex);
						silent = 0;
					}
				}
				break; // resend
			}
			reply_kind k = handle_reply(ex, reply, n, out);
			nng_msg_free(reply);
			if (k == REPLY_SETTLED) {
				return (0);
			}
			if (k == REPLY_RETRY) {
				if (llmcost__exporter_sleep(
				        ex, llmcost__backoff_next(&bo))) {
					return (LLMCOST_ECLOSED);
				}
				break;
			}
		}
	}
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

static void
collector_stop(llmcost__exporter *ex)
{
	collector *co = ex->priv;
	// Closing the socket ends a blocked send or receive at once.
	if (!co->closed) {
		co->closed = 1;
		(void) nng_close(co->sock);
	}
}

static void
collector_fini(llmcost__exporter *ex)
{
	collector_stop(ex);
	free(ex->priv);
	ex->priv = NULL;
}

const struct llmcost__exporter_ops llmcost__exporter_collector = {
	.name = "collector",
	.lossless = 1,
	.start = collector_start,
	.deliver = collector_deliver,
	.stop = collector_stop,
	.fini = collector_fini,
};
