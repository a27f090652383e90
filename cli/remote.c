// DESIGN: `llmcost report --collector URL` asks a running llmcostd the
// same query the CLI would answer from the store: the query goes out as
// a QUERY message (proto/README.md) on an nng req socket and the
// QUERY_REPLY comes back as a query result (core/query_wire.c), which the
// report renders as if it had been computed here.  The dial is
// synchronous, so a daemon that is not there is said at once, with what
// to do instead; the answer may take as long as a scan of the window, so
// its wait is generous but bounded.
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "llmcost_proto.h"
#include "nng_lib.h"
#include "query_wire.h"

// How long a query may take to come back, and to go out.
#define REMOTE_RECV_MS 120000
#define REMOTE_SEND_MS 5000

int
cli_query_remote(const char *url, const query_spec *q, query_result **out,
    char *err, size_t errsz)
{
	query_wire_names names;
	llmcost_proto_query wq;
	llmcost_proto_enc enc;
	llmcost_proto_msg dm;
	char reason[256];
	nng_socket s;
	nng_msg *m;
	int rv;
	const cli_nng *nng = cli_nng_get();

	if (nng == NULL) {
		snprintf(err, errsz, "%s", cli_nng_error());
		return (LLMCOST_ESYSTEM);
	}
	if ((rv = nng->req0_open(&s)) != 0) {
		snprintf(
		    err, errsz, "cannot open a socket: %s", nng->strerror(rv));
		return (LLMCOST_ESYSTEM);
	}
	nng->socket_set_ms(s, NNG_OPT_RECVTIMEO, REMOTE_RECV_MS);
	nng->socket_set_ms(s, NNG_OPT_SENDTIMEO, REMOTE_SEND_MS);
	nng->socket_set_size(s, NNG_OPT_RECVMAXSZ, LLMCOST_PROTO_MAX_MSG);
	if ((rv = nng->dial(s, url, NULL, 0)) != 0) {
		snprintf(err, errsz,
		    "cannot reach llmcostd at %s: %s (is it running? Without "
		    "--collector, llmcost report reads the data directory "
		    "itself)",
		    url, nng->strerror(rv));
		nng->close(s);
		return (LLMCOST_ECONNECT);
	}
	query_to_wire(q, &names, &wq);
	if ((rv = nng->msg_alloc(&m, 0)) != 0) {
		nng->close(s);
		return (LLMCOST_ENOMEM);
	}
	llmcost_proto_enc_init(&enc, cli_nng_write, m, 0);
	if ((rv = llmcost_proto_enc_query(&enc, &wq)) != 0) {
		snprintf(err, errsz, "cannot encode the query: %s",
		    llmcost_strerror(rv));
		nng->msg_free(m);
		nng->close(s);
		return (rv);
	}
	if ((rv = nng->sendmsg(s, m, 0)) != 0) {
		nng->msg_free(m);
	}
	if (rv != 0 || (rv = nng->recvmsg(s, &m, 0)) != 0) {
		snprintf(err, errsz, "no answer from llmcostd at %s: %s", url,
		    nng->strerror(rv));
		nng->close(s);
		return (rv == NNG_ETIMEDOUT ? LLMCOST_ETIMEDOUT
		                            : LLMCOST_ECONNECT);
	}
	rv = llmcost_proto_decode(
	    nng->msg_body(m), nng->msg_len(m), &dm, reason, sizeof(reason));
	if (rv != 0 || dm.type != LLMCOST_MSG_QUERY_REPLY) {
		// An ACK is how an older llmcostd refuses a message type it
		// does not know.
		snprintf(err, errsz,
		    "llmcostd at %s did not answer the query (%s): it may be "
		    "older than this llmcost; read its data directory instead",
		    url,
		    rv != 0                          ? reason
		        : dm.type == LLMCOST_MSG_ACK ? "it refused the message"
		                                     : "unexpected reply");
		if (rv == 0) {
			llmcost_proto_msg_free(&dm);
		}
		nng->msg_free(m);
		nng->close(s);
		return (LLMCOST_EPROTO);
	}
	rv = query_result_from_wire(&dm.u.qreply, q, out, err, errsz);
	llmcost_proto_msg_free(&dm);
	nng->msg_free(m);
	nng->close(s);
	return (rv);
}
