// DESIGN: what nng 1.5 never frees, kept out of LeakSanitizer's report
// for the test processes that link this file (one definition, linked
// as an object library, llmcost_nng_lsan: a static library member
// nobody references would be left out).
//
// A process that closes req0 sockets while they reconnect to a collector
// that was just killed, restarted or stopped (the shim's fault and spool
// tests, e2e_crash, the LangSmith exporter's tests with their live
// llmcostd) meets an nng 1.5
// race: when the collector's 8-byte SP header arrives while nng_close
// runs, between the dialer's connect being cancelled and the transport
// endpoint being closed, nng (src/sp/transport/ipc/ipc.c) puts the new
// pipe on the endpoint's wait list with nobody to take it: ipc_ep_close
// closes that pipe but nothing reaps it, and ipc_ep_fini frees nothing
// while a pipe holds a reference.  nng_close still returns; the pipe, its
// connection, the endpoint and the endpoint's stream dialer and aios
// (about 3 KB) stay allocated, pointing at each other, so LeakSanitizer
// reports them as indirect leaks at exit, in a few runs out of a hundred
// (more on a loaded machine).  A process that hangs up mid-handshake on
// purpose (e2e_malformed) leaks the sockets nng parks (nng issue 1518).
// A second nng 1.5 race loses one batch message, never more than one
// per closing connection: req0_pipe_close closes the pipe's send aio
// before it takes the socket's lock to take the pipe off the ready list,
// and a request sent in between (req0_run_send_queue, under that lock)
// still picks the pipe, hands it a reference to the message and calls
// the transport's send, which finds the aio closed and returns without
// a callback; the pipe is freed with the reference, so LeakSanitizer
// reports the message (allocated in the collector exporter's encode) as
// a direct leak.  The more batches in flight, the likelier a send meets
// a closing connection (the fault suite's SIGKILL soak: a few messages
// in twenty kills with four in flight).
// The memory is nng's and unreachable from the shim, so it cannot be
// freed.  The hook covers this process only, not the daemons it starts
// (which never see it; tests/e2e/nng-1518.supp is for those).  libnng is
// stripped, so its module is the narrowest name a suppression can match;
// a leak allocated by the shim on its own threads (no nng frame in the
// stack) is still reported.  LeakSanitizer calls the hook when present,
// and only then.

const char *__lsan_default_suppressions(void)
    __attribute__((visibility("default"), used));

const char *
__lsan_default_suppressions(void)
{
	return ("leak:libnng.so.1\n");
}
