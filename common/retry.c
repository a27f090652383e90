// DESIGN: one rule for retrying LangSmith's HTTP answers, shared by the
// exporter in libllmcost (shim/export_langsmith.c) and the CLI's LangSmith
// reader (cli/lsread.c), so that writing and reading back retry alike.
// It is the rule of LangSmith's SDKs (the project's LangSmith notes,
// section 1.8): 408, 425, 429 and every 5xx are retried, nothing else;
// a Retry-After of whole seconds is honoured (capped, so a hostile or
// broken server cannot park a client for hours); a 429 without one waits
// 10 s, as the JS and Go SDKs do; any other retried answer takes the
// caller's backoff.  An HTTP date in Retry-After counts as no header.

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "llmcost_common.h"

int
llmcost__http_retryable(long status)
{
	return (status == 408 || status == 425 || status == 429
	    || (status >= 500 && status <= 599));
}

int
llmcost__retry_after_header(const char *line, size_t len)
{
	static const char name[] = "retry-after:";
	char tmp[32];
	char *end;
	size_t n;
	long s;

	if (line == NULL || len <= sizeof(name) - 1
	    || strncasecmp(line, name, sizeof(name) - 1) != 0) {
		return (-1);
	}
	line += sizeof(name) - 1;
	len -= sizeof(name) - 1;
	while (len > 0 && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	n = len < sizeof(tmp) - 1 ? len : sizeof(tmp) - 1;
	memcpy(tmp, line, n);
	tmp[n] = '\0';
	if (n == 0 || tmp[0] < '0' || tmp[0] > '9') {
		return (-1);
	}
	s = strtol(tmp, &end, 10);
	if (*end != '\0' && *end != '\r' && *end != '\n' && *end != ' ') {
		return (-1);
	}
	if (s > LLMCOST__RETRY_AFTER_MAX_MS / 1000) {
		return (LLMCOST__RETRY_AFTER_MAX_MS);
	}
	return ((int) (s * 1000));
}

size_t
llmcost__retry_after_on_header(
    char *line, size_t size, size_t nmemb, void *retry_after_ms)
{
	size_t n = size * nmemb;
	int ms = llmcost__retry_after_header(line, n);

	if (ms >= 0) {
		*(int *) retry_after_ms = ms;
	}
	return (n);
}

uint32_t
llmcost__retry_wait(
    long status, int retry_after_ms, uint32_t backoff_ms, int *asked)
{
	int a = 1;
	uint32_t w;

	if (retry_after_ms >= 0) {
		w = (uint32_t) retry_after_ms;
	} else if (status == 429) {
		w = LLMCOST__RETRY_AFTER_429_MS;
	} else {
		w = backoff_ms;
		a = 0;
	}
	if (asked != NULL) {
		*asked = a;
	}
	return (w);
}
