// llmcostd's stop: SIGTERM and SIGINT ask the main loop to stop, and a
// guard thread makes sure the process is gone within a stated bound of
// the first signal, whatever nng's close does (nng 1.5.2 can deadlock in
// nng_close: nng issues 1543 and 1813).
//
// Threading: shutdown_start, shutdown_committed and shutdown_end are
// called by the main thread; shutdown_requested by any thread.
#ifndef LLMCOSTD_SHUTDOWN_H
#define LLMCOSTD_SHUTDOWN_H

#include <stdint.h>

// Installs the SIGTERM/SIGINT handlers and starts the guard.  From the
// first signal on, the guard gives the process bound_ms to finish; past
// that it logs that the bound was hit and ends the process with _exit:
// status 0 once shutdown_committed was called (everything acknowledged
// is committed and the store is closed), 1 before.  Returns 0 or
// LLMCOST_ESYSTEM.
int shutdown_start(uint64_t bound_ms);

// 1 once SIGTERM or SIGINT has arrived.
int shutdown_requested(void);

// Everything acknowledged is committed and the store is closed: from
// here on, being cut short loses nothing.
void shutdown_committed(void);

// The stop finished in time: the guard stands down and is joined.
void shutdown_end(void);

#endif // LLMCOSTD_SHUTDOWN_H
