// DESIGN: libcurl loaded on demand (curl_lib.h says why).  The first
// cli_curl_get opens CLI_CURL_SONAME (dl_lib.c) and looks up each
// function of the table by name; pthread_once makes that happen once per
// process, and its outcome (the table or the reason it failed) is kept
// for every later call.  The library stays loaded until the process
// ends.  The table's types are checked at compile time against the
// prototypes of <curl/curl.h>, so a call through it is the call libcurl
// declares; nothing here references a libcurl symbol, so the binary does
// not depend on libcurl at load time.
#include <pthread.h>
#include <stddef.h>

#include "dl_lib.h"
#include "curl_lib.h"

#define CURL_ERR_MAX 512

// clang-format off
// XX(member, libcurl function)
#define CURL_FN_MAP(XX)                                                       \
	XX(global_init, curl_global_init)                                     \
	XX(global_cleanup, curl_global_cleanup)                               \
	XX(easy_init, curl_easy_init)                                         \
	XX(easy_setopt, curl_easy_setopt)                                     \
	XX(easy_perform, curl_easy_perform)                                   \
	XX(easy_getinfo, curl_easy_getinfo)                                   \
	XX(easy_strerror, curl_easy_strerror)                                 \
	XX(easy_cleanup, curl_easy_cleanup)                                   \
	XX(slist_append, curl_slist_append)                                   \
	XX(slist_free_all, curl_slist_free_all)
// clang-format on

#define CURL_FN_CHECK(m, fn)                                                  \
	_Static_assert(__builtin_types_compatible_p(                          \
	                   __typeof__(&fn), __typeof__(((cli_curl *) 0)->m)), \
	    #fn " has the prototype libcurl declares");                       \
	_Static_assert(sizeof(((cli_curl *) 0)->m) == sizeof(void *),         \
	    #fn " is as wide as dlsym's answer");
CURL_FN_MAP(CURL_FN_CHECK)
#undef CURL_FN_CHECK

static pthread_once_t once = PTHREAD_ONCE_INIT;
static cli_curl table;
static int loaded;
static char why[CURL_ERR_MAX];

static void
load(void)
{
	static const cli_dl_lib lib = { CLI_CURL_SONAME, "libcurl",
		"reconcile", "libcurl 7.x", "libcurl4" };
	static const cli_dl_fn fns[] = {
#define CURL_FN_ROW(m, fn) { #fn, offsetof(cli_curl, m) },
		CURL_FN_MAP(CURL_FN_ROW)
#undef CURL_FN_ROW
	};
	loaded = cli_dl_load(&lib, fns, sizeof(fns) / sizeof(fns[0]), &table,
	             why, sizeof(why))
	    == 0;
}

const cli_curl *
cli_curl_get(void)
{
	pthread_once(&once, load);
	return (loaded ? &table : NULL);
}

const char *
cli_curl_error(void)
{
	return (why);
}
