// The JS SDK requests captured in captures/ (README.md there), read by the
// LangSmith parser's unit tests and the stand-in's tests alike.
#ifndef LLMCOST_STANDIN_CAPTURE_H
#define LLMCOST_STANDIN_CAPTURE_H

#include <stddef.h>

// The whole of captures/<name> (NUL-terminated, malloc'd: free() it) and
// its length in *len; fails the test when it cannot be read.
char *capture_read(const char *name, size_t *len);

#endif // LLMCOST_STANDIN_CAPTURE_H
