// DESIGN: storage faults in the words an operator needs.  LMDB returns
// errno values and its own codes; "commit: Input/output error" does not
// tell a full disk from a failing one, and that is what LMDB reports for
// the usual case of a full disk: a write that stops short (LMDB turns a
// short write into EIO).  So an EIO is looked at more closely before it
// is named: the free space of the data directory's file system
// (statvfs), then a small preallocation there (fallocate of an unnamed
// file, removed at once), whose own errno says ENOSPC, EDQUOT or EROFS
// when that is the cause.  What is left is a real I/O error.  Every
// other code maps straight to its row of STORE_FAULT_MAP (store.h), which
// holds the text: one table for names, counters and messages.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <lmdb.h>

#include "store.h"

// Free space below which an EIO counts as "no space": a short write
// leaves the file system nearly full, and a commit needs more than this
// only for groups of thousands of calls.
#define PROBE_BYTES (1u << 20)

static const struct {
	const char *name;
	const char *what;
	const char *todo;
} faults[] = { { "none", "no fault", "nothing" },
#define ROW(id, name, what, todo) { #name, what, todo },
	STORE_FAULT_MAP(ROW)
#undef ROW
};

_Static_assert(sizeof(faults) / sizeof(faults[0]) == STORE_FAULT_COUNT,
    "one row per fault, after none");

const char *
store_fault_name(store_fault f)
{
	if ((unsigned) f >= STORE_FAULT_COUNT) {
		f = STORE_FAULT_OTHER;
	}
	return (faults[f].name);
}

int
store_fault_text(store_fault f, const char *verb, const char *dir,
    const char *detail, char *buf, size_t bufsz)
{
	if ((unsigned) f >= STORE_FAULT_COUNT) {
		f = STORE_FAULT_OTHER;
	}
	return (snprintf(buf, bufsz, "%s the store in %s: %s%s%s%s; %s", verb,
	    dir, faults[f].what, detail != NULL ? " (" : "",
	    detail != NULL ? detail : "", detail != NULL ? ")" : "",
	    faults[f].todo));
}

static store_fault
from_errno(int e)
{
	switch (e) {
	case ENOSPC:
		return (STORE_FAULT_NO_SPACE);
	case EDQUOT:
		return (STORE_FAULT_QUOTA);
	case EROFS:
		return (STORE_FAULT_READ_ONLY);
	case EACCES:
	case EPERM:
		return (STORE_FAULT_PERMISSION);
	case EFBIG:
		return (STORE_FAULT_FILE_SIZE);
	case EIO:
		return (STORE_FAULT_IO);
	default:
		return (STORE_FAULT_OTHER);
	}
}

// What a probe's errno says, where it says more than "I/O error".
static store_fault
probe_result(int e)
{
	store_fault f = from_errno(e);

	return (f == STORE_FAULT_OTHER ? STORE_FAULT_IO : f);
}

// An EIO from a write: is the file system holding dir full, over quota
// or read-only?  See DESIGN.
static store_fault
probe_eio(const char *dir)
{
	struct statvfs vfs;
	int fd, rc;

	if (statvfs(dir, &vfs) == 0) {
		if (vfs.f_flag & ST_RDONLY) {
			return (STORE_FAULT_READ_ONLY);
		}
		if ((unsigned long long) vfs.f_bavail * vfs.f_frsize
		    < PROBE_BYTES) {
			return (STORE_FAULT_NO_SPACE);
		}
	}
	// An unnamed file disappears with its descriptor.  A file system
	// without O_TMPFILE or fallocate cannot tell us more: the EIO stays
	// an I/O error.
	if ((fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600)) < 0) {
		return (probe_result(errno));
	}
	rc = posix_fallocate(fd, 0, PROBE_BYTES);
	close(fd);
	return (rc == 0 ? STORE_FAULT_IO : probe_result(rc));
}

store_fault
store_fault_of(int rc, const char *dir)
{
	switch (rc) {
	case MDB_SUCCESS:
		return (STORE_FAULT_NONE);
	case MDB_MAP_FULL:
		return (STORE_FAULT_MAP_FULL);
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
		return (STORE_FAULT_CORRUPT);
	case EIO:
		return (dir != NULL ? probe_eio(dir) : STORE_FAULT_IO);
	default:
		return (rc > 0 ? from_errno(rc) : STORE_FAULT_OTHER);
	}
}
