// llmcostd's data directory: created private, kept private, owned by one
// daemon at a time.
//
// Threading: startup only, main thread.
#ifndef LLMCOSTD_DATADIR_H
#define LLMCOSTD_DATADIR_H

#include <stddef.h>

// Creates dir and its missing parents (mode 0700), then makes sure that
// no other user can write it: a directory of ours that group or others
// may write is tightened to 0700 (and that is logged), one that belongs
// to another user is refused with the commands that would fix it.  The
// store's files in it that group or others may write are tightened to
// 0600.  Returns 0, or -1 with one line in err saying what is wrong and
// what to run.
int datadir_prepare(const char *dir, char *err, size_t errsz);

// Takes dir/llmcostd.lock (flock) and writes our pid into it.  Returns
// the descriptor, held until exit, or -1 with the reason in err (another
// llmcostd and its pid, or why the file could not be opened).
int datadir_lock(const char *dir, char *err, size_t errsz);

#endif // LLMCOSTD_DATADIR_H
