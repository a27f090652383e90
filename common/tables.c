// DESIGN: names generated from the public header's tables (usage buckets,
// log levels, service tiers, fees), so that reports, JSON output, the
// LangSmith exporter, price files, settings parsers and tests all spell a
// bucket, a level or a tier the same way and a new row needs no edit
// anywhere else.  The platform check is here too: the call site, the
// wire decoder and price files accept the same names.

#include <string.h>
#include <strings.h>

#include "llmcost_common.h"

const char *const llmcost__bucket_key[LLMCOST_BUCKET_COUNT] = {
#define BUCKET_KEY(name, num, key, out, ls, doc) [num] = key,
	LLMCOST_BUCKET_MAP(BUCKET_KEY)
#undef BUCKET_KEY
};

const uint8_t llmcost__bucket_is_output[LLMCOST_BUCKET_COUNT] = {
#define BUCKET_OUT(name, num, key, out, ls, doc) [num] = out,
	LLMCOST_BUCKET_MAP(BUCKET_OUT)
#undef BUCKET_OUT
};

const char *const llmcost__bucket_langsmith_key[LLMCOST_BUCKET_COUNT] = {
#define BUCKET_LS(name, num, key, out, ls, doc) [num] = ls,
	LLMCOST_BUCKET_MAP(BUCKET_LS)
#undef BUCKET_LS
};

int
llmcost__bucket_parse(const char *key)
{
	for (int b = 0; key != NULL && b < LLMCOST_BUCKET_COUNT; b++) {
		if (strcasecmp(key, llmcost__bucket_key[b]) == 0) {
			return (b);
		}
	}
	return (-1);
}

const char *
llmcost__log_level_name(int level)
{
	switch (level) {
#define LEVEL_NAME(name, num, text)                                           \
	case num:                                                             \
		return (text);
		LLMCOST_LOG_LEVEL_MAP(LEVEL_NAME)
#undef LEVEL_NAME
	default:
		break;
	}
	return (level < LLMCOST_LOG_ERR ? "error" : "debug");
}

int
llmcost__log_level_parse(const char *s)
{
	if (s == NULL) {
		return (-1);
	}
#define LEVEL_PARSE(name, num, text)                                          \
	if (strcasecmp(s, text) == 0) {                                       \
		return (num);                                                 \
	}
	LLMCOST_LOG_LEVEL_MAP(LEVEL_PARSE)
#undef LEVEL_PARSE
	// The RFC 5424 spelling, accepted as an alias of "warn".
	if (strcasecmp(s, "warning") == 0) {
		return (LLMCOST_LOG_WARNING);
	}
	return (-1);
}

const char *
llmcost__tier_name(int tier)
{
	switch (tier) {
#define TIER_NAME(name, num, key, doc)                                        \
	case num:                                                             \
		return (key);
		LLMCOST_SERVICE_TIER_MAP(TIER_NAME)
#undef TIER_NAME
	default:
		break;
	}
	return (NULL);
}

// The counted string (s, len) equals the NUL-terminated name.
static int
name_eq(const char *name, const char *s, size_t len)
{
	return (
	    strlen(name) == len && (len == 0 || memcmp(name, s, len) == 0));
}

int
llmcost__tier_parse(const char *name, size_t len)
{
#define TIER_PARSE(id, num, key, doc)                                         \
	if (name != NULL && name_eq(key, name, len)) {                        \
		return (num);                                                 \
	}
	LLMCOST_SERVICE_TIER_MAP(TIER_PARSE)
#undef TIER_PARSE
	return (-1);
}

const char *const llmcost__fee_key[LLMCOST_FEE_COUNT] = {
#define FEE_KEY(name, num, key, doc) [num] = key,
	LLMCOST_FEE_MAP(FEE_KEY)
#undef FEE_KEY
};

int
llmcost__fee_parse(const char *key, size_t len)
{
	for (int f = 0; key != NULL && f < LLMCOST_FEE_COUNT; f++) {
		if (name_eq(llmcost__fee_key[f], key, len)) {
			return (f);
		}
	}
	return (-1);
}

int
llmcost__platform_check(const char *s, size_t len)
{
	if (s == NULL || len == 0) {
		return (LLMCOST_EINVAL);
	}
	if (len > LLMCOST_MAX_PLATFORM) {
		return (LLMCOST_ETOOBIG);
	}
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
		        || c == '-' || c == '_')) {
			return (LLMCOST_EINVAL);
		}
	}
	return (0);
}
