// DESIGN: redis-style logging.  The macro checks the level before any
// argument is evaluated; the writer formats into a fixed buffer with a UTC
// timestamp and the pid and writes the line with one call, so lines from
// several threads never interleave.
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "llmcost_common.h"
#include "log.h"

int log_level = LLMCOST_LOG_INFO;

void
log_write(int level, const char *fmt, ...)
{
	char line[1024];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	int n = snprintf(line, sizeof(line),
	    "%d %04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s: ", (int) getpid(),
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L,
	    llmcost__log_level_name(level));
	if (n < 0) {
		return;
	}
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - (size_t) n - 1, fmt, ap);
	va_end(ap);
	size_t len = (size_t) n + (m < 0 ? 0 : (size_t) m);
	if (len > sizeof(line) - 2) {
		len = sizeof(line) - 2;
	}
	line[len++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, len);
	(void) w;
}
