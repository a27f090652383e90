// Internal helpers shared by every part of llmcost (shim, proto, collector
// core, daemon, CLI): UTF-8 validation, UUID text, the default data
// directory and collector URL, and the clocks.  Error codes and the
// version live in the public header (include/llmcost.h), generated from
// its tables; their text is in error.c.
//
// Threading: every function is reentrant.  The path resolvers read the
// environment: call them at startup, not while another thread may call
// setenv().
#ifndef LLMCOST_COMMON_H
#define LLMCOST_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "llmcost.h"

// 1 if s[0..len) is well-formed UTF-8 (no overlongs, no surrogates, no
// code points above U+10FFFF), else 0.
int llmcost__utf8_valid(const char *s, size_t len);

// Checks an API string: s must be non-NULL, 1..max bytes (0..max when
// allow_empty) and well-formed UTF-8.  Returns 0 with its length in
// *lenp, or LLMCOST_EINVAL, LLMCOST_ETOOBIG or LLMCOST_EUTF8.  Reads at
// most max + 1 bytes of s.
int llmcost__str_check(
    const char *s, size_t max, int allow_empty, size_t *lenp);

// Format a 16-byte UUID as 36 characters plus NUL into out[37].
#define LLMCOST__UUID_STR_LEN 37
void llmcost__uuid_str(const uint8_t id[16], char out[37]);

// Parse a 36-character UUID string.  Returns 0 or LLMCOST_EINVAL.
int llmcost__uuid_parse(const char *s, uint8_t id[16]);

// The value of one hex digit (either case), or -1.
int llmcost__hex_digit(int c);

// Buffer sizes for a filesystem path and a collector URL.
#define LLMCOST__PATH_MAX 4096
#define LLMCOST__URL_MAX  512

// The socket name inside a data directory.
#define LLMCOST_SOCKET_NAME "llmcostd.sock"

// The default data directory and collector URL: $XDG_STATE_HOME/llmcost,
// else $HOME/.local/state/llmcost (and ipc://<dir>/llmcostd.sock).
// Returns 0, LLMCOST_ENOTFOUND (neither variable set) or LLMCOST_ETOOBIG
// (does not fit in outsz).  Only absolute paths count (an empty or
// relative variable is ignored), and on failure out is the empty string.
int llmcost__default_dir(char *out, size_t outsz);
int llmcost__default_url(char *out, size_t outsz);

// Clocks: wall-clock and monotonic nanoseconds (vDSO reads, no system
// call), and an absolute CLOCK_MONOTONIC deadline timeout_ms from now
// (negative counts as 0).
uint64_t llmcost__now_ns(void);
uint64_t llmcost__mono_ns(void);
struct timespec llmcost__deadline_ms(int32_t timeout_ms);

// unix_s (seconds since the epoch) as RFC 3339 UTC text to the second,
// "YYYY-MM-DDTHH:MM:SSZ", into buf (bufsz of at least LLMCOST__UTC_TEXT
// for the whole text; shorter text is cut, always NUL-terminated).
#define LLMCOST__UTC_TEXT 21
void llmcost__utc_text(int64_t unix_s, char *buf, size_t bufsz);

// Names generated from the header's tables (tables.c).
// llmcost__bucket_key[b]: the report/JSON key of bucket b;
// llmcost__bucket_is_output[b]: 1 for an output bucket, 0 for input;
// llmcost__bucket_langsmith_key[b]: its LangSmith *_token_details key, or
// NULL.  llmcost__bucket_parse returns the bucket for a key, or -1.
extern const char *const llmcost__bucket_key[LLMCOST_BUCKET_COUNT];
extern const uint8_t llmcost__bucket_is_output[LLMCOST_BUCKET_COUNT];
extern const char *const llmcost__bucket_langsmith_key[LLMCOST_BUCKET_COUNT];
int llmcost__bucket_parse(const char *key);

// Service tiers and fees by name (LLMCOST_SERVICE_TIER_MAP,
// LLMCOST_FEE_MAP): the name of a tier (NULL when unknown), the tier for
// a name (case-sensitive), or -1; likewise the report key of a fee.
const char *llmcost__tier_name(int tier);
int llmcost__tier_parse(const char *name, size_t len);
extern const char *const llmcost__fee_key[LLMCOST_FEE_COUNT];
int llmcost__fee_parse(const char *key, size_t len);
// A platform name as llmcost_call_set_platform() and record key 16 take
// it: 1..LLMCOST_MAX_PLATFORM bytes of a-z, 0-9, '-', '_'.  Returns 0,
// LLMCOST_ETOOBIG or LLMCOST_EINVAL.
int llmcost__platform_check(const char *s, size_t len);

// Log levels by name ("error", "warn", "notice", "info", "debug"; also
// "warning"), case-insensitive: the level, or -1 when unknown.  The name
// of a level; levels outside the table are clamped to error or debug.
int llmcost__log_level_parse(const char *s);
const char *llmcost__log_level_name(int level);

// Retrying LangSmith's HTTP answers (retry.c), one rule for the exporter
// and the CLI's reader: the SDKs' (408, 425, 429 and 5xx are retried,
// nothing else), Retry-After in whole seconds honoured up to a cap, 10 s
// for a 429 without it, else the caller's backoff.
#define LLMCOST__RETRY_ATTEMPTS     10     // sends of one request at most
#define LLMCOST__RETRY_BASE_MS      500    // the backoff's first wait
#define LLMCOST__RETRY_CAP_MS       30000  // and its longest
#define LLMCOST__RETRY_AFTER_429_MS 10000  // a 429 without Retry-After
#define LLMCOST__RETRY_AFTER_MAX_MS 120000 // the longest wait asked for
// 1 when an answer with this HTTP status is worth sending again.
int llmcost__http_retryable(long status);
// One response header line (as curl hands it over, CRLF included): when
// it is "Retry-After: N" with N whole seconds, N in milliseconds (capped
// at LLMCOST__RETRY_AFTER_MAX_MS); else -1 (another header, or a date).
int llmcost__retry_after_header(const char *line, size_t len);
// The same as a libcurl header callback (CURLOPT_HEADERFUNCTION, with
// CURLOPT_HEADERDATA pointing at an int): a Retry-After line stores its
// wait there, any other line leaves it alone.  Returns size * nmemb.
size_t llmcost__retry_after_on_header(
    char *line, size_t size, size_t nmemb, void *retry_after_ms);
// The wait before sending again after a retryable status: the server's
// Retry-After (retry_after_ms, -1 for none), 10 s for a 429 without one,
// else backoff_ms (the caller's backoff).  *asked (may be NULL) is 1 when
// the server chose the wait, which a caller waits out in full.
uint32_t llmcost__retry_wait(
    long status, int retry_after_ms, uint32_t backoff_ms, int *asked);

#endif // LLMCOST_COMMON_H
