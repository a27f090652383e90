// Collector logging: a level-checked macro (redis serverLog) writing one
// line per message to stderr, for journald.
#ifndef LLMCOST_CORE_LOG_H
#define LLMCOST_CORE_LOG_H

#include "llmcost.h"

extern int log_level; // messages above this level are not formatted

#define log_msg(level, ...)                                                   \
	do {                                                                  \
		if ((level) <= log_level) {                                   \
			log_write((level), __VA_ARGS__);                      \
		}                                                             \
	} while (0)

void log_write(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

// Level names are parsed by llmcost__log_level_parse (common/), from the
// header's level table.

#endif // LLMCOST_CORE_LOG_H
