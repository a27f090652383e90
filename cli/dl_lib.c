// DESIGN: the loader behind curl_lib.c and nng_lib.c, once.  The caller
// keeps the table (its types checked at compile time against the
// library's own prototypes) and the once; this file only opens the
// library and fills the table by name, so nothing in the CLI references
// the library's symbols and the binary does not depend on it at load
// time.
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "dl_lib.h"

int
cli_dl_load(const cli_dl_lib *lib, const cli_dl_fn *fns, size_t n, void *table,
    char *why, size_t whysz)
{
	void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);

	if (h == NULL) {
		const char *e = dlerror();
		snprintf(why, whysz,
		    "cannot load %s (%s), which %s needs: install it "
		    "(Debian: apt-get install %s)",
		    lib->name, e != NULL ? e : lib->soname, lib->needed_by,
		    lib->package);
		return (-1);
	}
	for (size_t i = 0; i < n; i++) {
		void *f = dlsym(h, fns[i].name);
		if (f == NULL) {
			snprintf(why, whysz,
			    "cannot load %s: %s has no %s; install %s or "
			    "later (Debian: %s)",
			    lib->name, lib->soname, fns[i].name, lib->version,
			    lib->package);
			dlclose(h);
			return (-1);
		}
		// POSIX: the address dlsym gives for a function is that
		// function's pointer, of the same size and representation.
		memcpy((char *) table + fns[i].off, &f, sizeof(f));
	}
	return (0);
}
