// DESIGN: error codes are defined once, by the LLMCOST_ERR_MAP X-macro in
// llmcost.h, and both the description and the symbolic name are generated
// from it here, so the three can never disagree.  Only string literals are
// returned: no static formatting buffer (which would not be thread-safe)
// and nothing to free.  Unknown codes get a fixed text rather than NULL so
// that callers can print the result unconditionally.   The version string comes from
// llmcost_version.h, which CMake configures from project(VERSION).

#include "llmcost.h"

const char *
llmcost_strerror(int err)
{
	switch (err) {
	case LLMCOST_OK:
		return ("success");
#define LLMCOST__ERR_TEXT(name, num, text)                                    \
	case num:                                                             \
		return (text);
		LLMCOST_ERR_MAP(LLMCOST__ERR_TEXT)
#undef LLMCOST__ERR_TEXT
	default:
		break;
	}
	return ("unknown error");
}

const char *
llmcost_err_name(int err)
{
	switch (err) {
	case LLMCOST_OK:
		return ("LLMCOST_OK");
#define LLMCOST__ERR_NAME(name, num, text)                                    \
	case num:                                                             \
		return ("LLMCOST_" #name);
		LLMCOST_ERR_MAP(LLMCOST__ERR_NAME)
#undef LLMCOST__ERR_NAME
	default:
		break;
	}
	return ("LLMCOST_UNKNOWN");
}

const char *
llmcost_version(void)
{
	return (LLMCOST_VERSION_STRING);
}
