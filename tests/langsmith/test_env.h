// The environment a LangSmith test starts from: every variable through
// which libllmcost (include/llmcost.h, "LangSmith export") and `llmcost
// reconcile` read LangSmith settings, and the shim's own switches, unset,
// so that the machine's environment (or ctest's LANGSMITH_TRACING=false)
// cannot change what a test checks.  A test sets what it needs after.
#ifndef LLMCOST_LANGSMITH_TEST_ENV_H
#define LLMCOST_LANGSMITH_TEST_ENV_H

#include <stddef.h>
#include <stdlib.h>

static inline void
langsmith_test_clean_env(void)
{
	static const char *const vars[] = { "LANGSMITH_API_KEY",
		"LANGCHAIN_API_KEY", "LANGSMITH_TRACING",
		"LANGSMITH_TRACING_V2", "LANGCHAIN_TRACING_V2",
		"LANGCHAIN_TRACING", "LANGSMITH_ENDPOINT",
		"LANGCHAIN_ENDPOINT", "LANGSMITH_PROJECT", "LANGCHAIN_PROJECT",
		"LANGSMITH_WORKSPACE_ID", "LANGCHAIN_WORKSPACE_ID",
		"LANGCHAIN_SESSION", "LLMCOST_LOG", "LLMCOST_DISABLE",
		"LLMCOST_LANGSMITH_QUEUE_BATCHES",
		"LANGSMITH_DISABLE_RUN_COMPRESSION", NULL };
	for (size_t i = 0; vars[i] != NULL; i++) {
		unsetenv(vars[i]);
	}
}

#endif // LLMCOST_LANGSMITH_TEST_ENV_H
