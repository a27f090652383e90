// Shared by the store tests' synthetic workload (core/tests/synth.h) and
// bench_report: the names its calls are tagged with, 20 features and 6
// models of 3 providers (all priced by the built-in table) and 3 user
// tiers, so that tests and benchmark describe the same kind of store.
#ifndef LLMCOST_WORKLOAD_H
#define LLMCOST_WORKLOAD_H

static const char *const workload_features[]
    = { "search", "chat", "summarize", "classify", "extract", "translate",
	      "agent-plan", "agent-act", "rerank", "moderate", "autocomplete",
	      "email-draft", "sql-gen", "code-review", "support-bot",
	      "onboarding", "insights", "tagging", "faq", "digest" };
static const struct {
	const char *provider, *model;
} workload_models[] = { { "openai", "gpt-4o" }, { "openai", "gpt-4o-mini" },
	{ "anthropic", "claude-sonnet-4-5" },
	{ "anthropic", "claude-haiku-4-5" }, { "google", "gemini-2.5-pro" },
	{ "google", "gemini-2.5-flash" } };
static const char *const workload_tiers[] = { "free", "pro", "enterprise" };

#endif // LLMCOST_WORKLOAD_H
