// Connections that nng 1.5 parks on a wedged listener and never frees,
// found and closed after the listener is replaced (nng issue 1518).
//
// Threading: one parked set per ingest socket, used by the main loop
// only.
#ifndef LLMCOSTD_PARKED_H
#define LLMCOSTD_PARKED_H

#include <stddef.h>
#include <stdint.h>

typedef struct parked parked;

// A set for the listener on url (ipc://PATH or tcp://HOST:PORT; other
// schemes are never collected).  Returns 0 or LLMCOST_ENOMEM.
int parked_alloc(parked **pp, const char *url);
void parked_free(parked *p);

// Call right after closing a listener on the set's URL and before
// listening again: remembers every socket of this process whose local
// address is the listener's (the closed listener's own socket and the
// connections it accepted), by descriptor and inode.  Returns how many
// were remembered.
size_t parked_collect(parked *p);

// Call from the main loop about once a second.  grace_ms after the last
// collect, closes the remembered sockets that are still open with the
// same inode: nng has shut them down and will never close them.  Returns
// how many it closed (0 before the grace has passed).
size_t parked_reclaim(parked *p, uint64_t grace_ms);

#endif // LLMCOSTD_PARKED_H
