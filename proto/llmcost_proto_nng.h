// The one bridge between the wire codec and nng: an encoder write
// callback that appends to an nng_msg.  proto/ itself does not link nng;
// only the parts that do (the shim, the collector, the CLI, tests)
// include this header, so the callback is a static inline here rather
// than a function in llmcost_proto.
//
// Reserve the message's size first (nng_msg_reserve): nng grows a message
// to the exact size on every append, which makes encoding quadratic.
//
// Threading: reentrant; the message must not be shared while encoding.
#ifndef LLMCOST_PROTO_NNG_H
#define LLMCOST_PROTO_NNG_H

#include <stddef.h>

#include <nng/nng.h>

#include "llmcost_proto.h"

// An llmcost_proto_write_fn: appends len bytes of buf to the nng_msg arg.
// Returns 0, or -1 when nng cannot grow the message (the encoder then
// fails with LLMCOST_ENOMEM).
static inline int
llmcost_proto_nng_write(void *arg, const char *buf, size_t len)
{
	return (nng_msg_append((nng_msg *) arg, buf, len) == 0 ? 0 : -1);
}

#endif // LLMCOST_PROTO_NNG_H
