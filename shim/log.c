// DESIGN: the shim is silent by default (nng's null logger).  A host
// installs a sink with llmcost_set_logger, or sets LLMCOST_LOG for a
// built-in stderr logger that honours NO_COLOR.  Messages are formatted
// into a fixed buffer and never carry prompts, completions or keys.  Only
// init, shutdown, the batch loop and the exporters' threads log; call
// sites never do.
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "shim.h"

void
llmcost__stderr_logger(void *arg, int level, const char *msg)
{
	const llmcost__config *cfg = arg;
	if (cfg != NULL && level > cfg->log_level) {
		return;
	}
	const char *nc = getenv("NO_COLOR");
	int color = (nc == NULL || *nc == '\0') && isatty(STDERR_FILENO);
	const char *on = "", *off = "";
	if (color) {
		on = level <= LLMCOST_LOG_ERR      ? "\033[31m"
		    : level <= LLMCOST_LOG_WARNING ? "\033[33m"
		                                   : "\033[2m";
		off = "\033[0m";
	}
	fprintf(stderr, "%sllmcost %s%s: %s\n", on,
	    llmcost__log_level_name(level), off, msg);
}

void
llmcost__log(llmcost_client *c, int level, const char *fmt, ...)
{
	llmcost_log_fn fn;
	void *arg;
	char buf[512];
	va_list ap;

	pthread_mutex_lock(&c->mtx);
	fn = c->log_fn;
	arg = c->log_arg;
	pthread_mutex_unlock(&c->mtx);
	if (fn == NULL) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fn(arg, level, buf);
}

void
llmcost_set_logger(llmcost_client *c, llmcost_log_fn fn, void *arg)
{
	if (c == NULL) {
		return;
	}
	pthread_mutex_lock(&c->mtx);
	c->log_fn = fn;
	c->log_arg = arg;
	pthread_mutex_unlock(&c->mtx);
}
