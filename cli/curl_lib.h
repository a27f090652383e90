// libcurl for the CLI, loaded when a command first needs it.
// Only `reconcile` speaks HTTP; linking libcurl into the binary would make
// every command (a 30-day report included) pay for loading and relocating
// it and the TLS, Kerberos, LDAP and SSH libraries it pulls in, several
// milliseconds per process.  The functions the CLI calls are looked up in
// libcurl's runtime library (CLI_CURL_SONAME) instead, once per process.
//
// Threading: cli_curl_get may be called from any thread; the table it
// returns is never written again and lives until the process ends.
#ifndef LLMCOST_CLI_CURL_LIB_H
#define LLMCOST_CLI_CURL_LIB_H

#include <curl/curl.h>

// The runtime library of libcurl's ABI 4 (every libcurl since 7.16).
#define CLI_CURL_SONAME "libcurl.so.4"

// The libcurl functions the CLI uses, with libcurl's own prototypes.
typedef struct cli_curl {
	CURLcode (*global_init)(long flags);
	void (*global_cleanup)(void);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
	CURLcode (*easy_perform)(CURL *curl);
	CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
	const char *(*easy_strerror)(CURLcode code);
	void (*easy_cleanup)(CURL *curl);
	struct curl_slist *(*slist_append)(
	    struct curl_slist *list, const char *s);
	void (*slist_free_all)(struct curl_slist *list);
} cli_curl;

// The table, loading libcurl on the first call.  NULL when it cannot be
// loaded; cli_curl_error then says why.
const cli_curl *cli_curl_get(void);
// Why cli_curl_get failed: one line for a person ("" before a failure).
const char *cli_curl_error(void);

#endif // LLMCOST_CLI_CURL_LIB_H
