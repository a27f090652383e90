// DESIGN: the default data directory and collector URL, resolved in one
// place for the shim, the daemon and the CLI.  The directory follows the
// XDG base directory specification, which says a relative XDG_STATE_HOME
// must be ignored; a relative HOME is refused too, because the shim and
// the collector run with different working directories and would then
// disagree on where the socket is.  Every string is built with snprintf
// and checked for truncation: a truncated path would silently point
// somewhere else.

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmcost_common.h"

// Writes "<base without trailing slashes><suffix>" into out.
static int
join_path(char *out, size_t outsz, const char *base, const char *suffix)
{
	size_t blen = strlen(base);
	int n;

	while (blen > 0 && base[blen - 1] == '/') {
		blen--;
	}
	if (blen >= outsz || blen > INT_MAX) {
		out[0] = '\0';
		return (LLMCOST_ETOOBIG);
	}
	n = snprintf(out, outsz, "%.*s%s", (int) blen, base, suffix);
	if (n < 0 || (size_t) n >= outsz) {
		out[0] = '\0';
		return (LLMCOST_ETOOBIG);
	}
	return (0);
}

int
llmcost__default_dir(char *out, size_t outsz)
{
	const char *v;

	if (out == NULL || outsz == 0) {
		return (LLMCOST_EINVAL);
	}
	out[0] = '\0';
	v = getenv("XDG_STATE_HOME");
	if (v != NULL && v[0] == '/') {
		return (join_path(out, outsz, v, "/llmcost"));
	}
	v = getenv("HOME");
	if (v != NULL && v[0] == '/') {
		return (join_path(out, outsz, v, "/.local/state/llmcost"));
	}
	return (LLMCOST_ENOTFOUND);
}

int
llmcost__default_url(char *out, size_t outsz)
{
	static const char scheme[] = "ipc://";
	const size_t slen = sizeof(scheme) - 1;
	size_t dlen;
	int rv;
	int n;

	if (out == NULL || outsz == 0) {
		return (LLMCOST_EINVAL);
	}
	out[0] = '\0';
	if (outsz <= slen) {
		return (LLMCOST_ETOOBIG);
	}
	// Build the directory in place after the scheme, then prepend it.
	if ((rv = llmcost__default_dir(out + slen, outsz - slen)) != 0) {
		out[0] = '\0';
		return (rv);
	}
	memcpy(out, scheme, slen);
	dlen = strlen(out);
	n = snprintf(out + dlen, outsz - dlen, "/%s", LLMCOST_SOCKET_NAME);
	if (n < 0 || (size_t) n >= outsz - dlen) {
		out[0] = '\0';
		return (LLMCOST_ETOOBIG);
	}
	return (0);
}
