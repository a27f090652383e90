// Queries and their answers on the wire: the query engine's types
// (query.h) to and from proto/'s QUERY and QUERY_REPLY messages
// (proto/README.md), so that llmcostd answers `llmcost report
// --collector URL` with the same engine and the CLI renders the answer
// as if it had asked the store itself.
//
// Ownership: a llmcost_proto_query made by query_to_wire points into the
// spec and the names given; a result made by query_result_from_wire is
// the caller's (query_result_free) and copies every string.
// Threading: reentrant.
#ifndef LLMCOST_CORE_QUERY_WIRE_H
#define LLMCOST_CORE_QUERY_WIRE_H

#include "llmcost_proto.h"
#include "query.h"

// Room for the key names of a query on the wire.
typedef struct query_wire_names {
	char by[QUERY_MAX_KEYS][QUERY_KEY_NAME_MAX + 1];
	char where[QUERY_MAX_FILTERS][QUERY_KEY_NAME_MAX + 1];
} query_wire_names;

// Fills *out from q; its strings point into q and names.
void query_to_wire(
    const query_spec *q, query_wire_names *names, llmcost_proto_query *out);

// Reads a decoded QUERY into *out.  Returns 0, or LLMCOST_EINVAL with err
// saying what is wrong (an unknown key, too long a value).
int query_from_wire(
    const llmcost_proto_query *w, query_spec *out, char *err, size_t errsz);

// Encodes r as a QUERY_REPLY; a failed query as one with its status and
// reason (query_error_encode).  Returns the encoder's result
// (LLMCOST_ETOOBIG: the answer does not fit one message).
int query_result_encode(const query_result *r, llmcost_proto_enc *e);
int query_error_encode(int status, const char *reason, llmcost_proto_enc *e);

// The result of q that the QUERY_REPLY w carries.  Returns 0; the reply's
// status when the collector could not answer (err receives its reason);
// LLMCOST_EPROTO (a reply that does not fit q) or LLMCOST_ENOMEM.
int query_result_from_wire(const llmcost_proto_qreply *w, const query_spec *q,
    query_result **out, char *err, size_t errsz);

#endif // LLMCOST_CORE_QUERY_WIRE_H
