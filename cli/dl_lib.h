// cli/dl_lib.h: a shared library the CLI loads on demand (curl_lib.h and
// nng_lib.h say why each is loaded so): dlopen by soname, then each
// function of a table looked up by name.  Used once per library, under
// the caller's pthread_once.
#ifndef LLMCOST_CLI_DL_LIB_H
#define LLMCOST_CLI_DL_LIB_H

#include <stddef.h>

// The library, and what an error tells the user.
typedef struct cli_dl_lib {
	const char *soname;    // "libnng.so.1"
	const char *name;      // "nng"
	const char *needed_by; // "talking to llmcostd"
	const char *version;   // the oldest that works: "nng 1.5"
	const char *package;   // Debian's: "libnng1"
} cli_dl_lib;

// A function of the table: its name, and the offset of its pointer.
typedef struct cli_dl_fn {
	const char *name;
	size_t off;
} cli_dl_fn;

// Opens lib and writes the address of each of the n functions into table
// at its offset.  0; or -1, with the reason and what to install in why
// (table then holds nothing usable, and the library is closed).  The
// library stays loaded until the process ends.
int cli_dl_load(const cli_dl_lib *lib, const cli_dl_fn *fns, size_t n,
    void *table, char *why, size_t whysz);

#endif // LLMCOST_CLI_DL_LIB_H
