// DESIGN: nng loaded on demand (nng_lib.h says why), as curl_lib.c loads
// libcurl.  The first cli_nng_get opens CLI_NNG_SONAME (dl_lib.c) and
// looks up each function of the table by name; pthread_once makes that
// happen once per process, and its outcome (the table or the reason it
// failed) is kept for every later call.  The library stays loaded until
// the process ends.  The table's types are checked at compile time
// against the prototypes of <nng/nng.h>, so a call through it is the call
// nng declares; nothing here references an nng symbol, so the binary
// does not depend on nng at load time.
#include <pthread.h>
#include <stddef.h>

#include "dl_lib.h"
#include "nng_lib.h"

#define NNG_ERR_MAX 512

// clang-format off
// XX(member, nng function)
#define NNG_FN_MAP(XX)                                                        \
	XX(req0_open, nng_req0_open)                                          \
	XX(strerror, nng_strerror)                                            \
	XX(socket_set_ms, nng_socket_set_ms)                                  \
	XX(socket_set_size, nng_socket_set_size)                              \
	XX(dial, nng_dial)                                                    \
	XX(close, nng_close)                                                  \
	XX(msg_alloc, nng_msg_alloc)                                          \
	XX(msg_free, nng_msg_free)                                            \
	XX(msg_body, nng_msg_body)                                            \
	XX(msg_len, nng_msg_len)                                              \
	XX(msg_append, nng_msg_append)                                        \
	XX(sendmsg, nng_sendmsg)                                              \
	XX(recvmsg, nng_recvmsg)
// clang-format on

#define NNG_FN_CHECK(m, fn)                                                   \
	_Static_assert(__builtin_types_compatible_p(                          \
	                   __typeof__(&fn), __typeof__(((cli_nng *) 0)->m)),  \
	    #fn " has the prototype nng declares");                           \
	_Static_assert(sizeof(((cli_nng *) 0)->m) == sizeof(void *),          \
	    #fn " is as wide as dlsym's answer");
NNG_FN_MAP(NNG_FN_CHECK)
#undef NNG_FN_CHECK

static pthread_once_t once = PTHREAD_ONCE_INIT;
static cli_nng table;
static int loaded;
static char why[NNG_ERR_MAX];

static void
load(void)
{
	static const cli_dl_lib lib = { CLI_NNG_SONAME, "nng",
		"talking to llmcostd", "nng 1.5", "libnng1" };
	static const cli_dl_fn fns[] = {
#define NNG_FN_ROW(m, fn) { #fn, offsetof(cli_nng, m) },
		NNG_FN_MAP(NNG_FN_ROW)
#undef NNG_FN_ROW
	};
	loaded = cli_dl_load(&lib, fns, sizeof(fns) / sizeof(fns[0]), &table,
	             why, sizeof(why))
	    == 0;
}

const cli_nng *
cli_nng_get(void)
{
	pthread_once(&once, load);
	return (loaded ? &table : NULL);
}

const char *
cli_nng_error(void)
{
	return (why);
}

int
cli_nng_write(void *arg, const char *buf, size_t len)
{
	return (table.msg_append((nng_msg *) arg, buf, len) == 0 ? 0 : -1);
}
