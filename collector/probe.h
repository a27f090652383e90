// Asks llmcostd's own ingest listener for STATS over a new connection,
// to tell a working listener from one that nng 1.5 has wedged.
//
// Threading: any thread; blocks for at most timeout_ms.
#ifndef LLMCOSTD_PROBE_H
#define LLMCOSTD_PROBE_H

// 1 when the listener at url (ipc:// or tcp://) answers a STATS request
// within timeout_ms, 0 when it does not, -1 when this cannot be asked
// (another scheme, or a local failure such as no descriptor left).
int probe_listener(const char *url, int timeout_ms);

#endif // LLMCOSTD_PROBE_H
