// nng for the CLI, loaded when a command first needs it.
// Only `stats` and `report --collector` speak to llmcostd; linking nng
// into the binary would make every command (a report read from the data
// directory included) pay for loading and relocating it and the TLS
// libraries it depends on (mbed TLS: three more libraries), about 0.4 ms
// of a report's few milliseconds.  The functions the CLI calls are looked
// up in nng's runtime library (CLI_NNG_SONAME) instead, once per process.
//
// Threading: cli_nng_get may be called from any thread; the table it
// returns is never written again and lives until the process ends.
#ifndef LLMCOST_CLI_NNG_LIB_H
#define LLMCOST_CLI_NNG_LIB_H

#include <stddef.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

// The runtime library of nng's ABI 1 (nng 1.x).
#define CLI_NNG_SONAME "libnng.so.1"

// The nng functions the CLI uses, with nng's own prototypes.
typedef struct cli_nng {
	int (*req0_open)(nng_socket *s);
	const char *(*strerror)(int err);
	int (*socket_set_ms)(nng_socket s, const char *opt, nng_duration v);
	int (*socket_set_size)(nng_socket s, const char *opt, size_t v);
	int (*dial)(nng_socket s, const char *url, nng_dialer *d, int flags);
	int (*close)(nng_socket s);
	int (*msg_alloc)(nng_msg **m, size_t size);
	void (*msg_free)(nng_msg *m);
	void *(*msg_body)(nng_msg *m);
	size_t (*msg_len)(const nng_msg *m);
	int (*msg_append)(nng_msg *m, const void *buf, size_t len);
	int (*sendmsg)(nng_socket s, nng_msg *m, int flags);
	int (*recvmsg)(nng_socket s, nng_msg **m, int flags);
} cli_nng;

// The table, loading nng on the first call.  NULL when it cannot be
// loaded; cli_nng_error then says why.
const cli_nng *cli_nng_get(void);
// Why cli_nng_get failed: one line for a person ("" before a failure).
const char *cli_nng_error(void);
// An llmcost_proto_write_fn (the encoder's callback): appends len bytes
// of buf to the nng_msg arg through the table, which cli_nng_get must
// have returned.  0, or -1 when nng cannot grow the message.
int cli_nng_write(void *arg, const char *buf, size_t len);

#endif // LLMCOST_CLI_NNG_LIB_H
