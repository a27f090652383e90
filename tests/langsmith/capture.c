// DESIGN: one reader of the captured requests for every test that replays
// or parses them, so that the folder (LLMCOST_CAPTURES_DIR, set by the
// build) and the checks on the read are written once.  The reader fails
// the running cmocka test on any error rather than returning one: a
// missing capture is a broken checkout, never a condition to test.

#include <stdio.h>
#include <stdlib.h>

#include "capture.h"
#include "testutil.h"

char *
capture_read(const char *name, size_t *len)
{
	char path[1024];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", LLMCOST_CAPTURES_DIR, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t) n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t) n, f), (size_t) n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t) n;
	return (buf);
}
