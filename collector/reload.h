// llmcostd's price table: built at start from the built-in prices and the
// prices_file setting, and built again on SIGHUP.
//
// Threading: reload_init and reload_poll are called by the main thread;
// the signal handler only sets a flag.
#ifndef LLMCOSTD_RELOAD_H
#define LLMCOSTD_RELOAD_H

#include "metrics.h"

// Builds the table (built-in prices plus the file at path, when path is
// not "") and makes it the one in force; installs the SIGHUP handler.
// Returns 0, or an LLMCOST_E* code after logging the file, line and
// field at fault (llmcostd then refuses to start).
int reload_init(const char *path);

// When a SIGHUP arrived since the last call: builds the table again from
// path; installs it (counted in prices_reloads) or, when the file is
// broken, logs why and keeps the table in force (prices_reload_errors).
// Returns 1 when a SIGHUP was handled (the caller reloads what else it
// reads on SIGHUP, such as the budgets), else 0.
int reload_poll(const char *path, metrics *m);

#endif // LLMCOSTD_RELOAD_H
