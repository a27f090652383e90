/** @file llmcost.h
 * @brief libllmcost: attribute every LLM call to a product feature.
 *
 * The application tags each LLM call with its provider, model, metadata
 * (feature, env, user_tier, any key) and token usage.  The call site only
 * fills a record taken from a preallocated pool and pushes it onto a
 * bounded lock-free queue: no allocation, no I/O, and no system call or
 * lock except one wake-up of the sender per batch.
 * A background thread ("llmcost-send") batches records and delivers them
 * to the local collector, llmcostd, which acknowledges a batch only after
 * it is durably stored; whatever is not acknowledged is sent again, and the
 * collector stores each call exactly once (keyed by its UUIDv7 run id).
 *
 * @par Error codes
 * Every function that can fail returns an int: 0 (#LLMCOST_OK) on success,
 * or one of the positive LLMCOST_E* codes below.  llmcost_strerror() and
 * llmcost_err_name() turn a code into text.  Codes are never renumbered.
 *
 * @par Threading
 * All functions are thread-safe on a client unless stated otherwise.  A call
 * handle (llmcost_call) may be used by one thread at a time, but may move
 * between threads.  llmcost_shutdown() must not race any other function on
 * the same client.  A client must not be used after fork(): call
 * llmcost_init() again in the child.
 *
 * @par Ownership
 * Every string passed in is copied before the function returns; the caller
 * keeps no lifetime obligation.  Strings returned as `const char *` are
 * static unless stated otherwise.
 *
 * @par Failure never reaches the host
 * Call-site functions never abort and never block.  Misuse (a NULL handle,
 * a value over a cap, invalid UTF-8) returns an error and leaves the call
 * usable; a full queue drops the call, counts the drop, and the count is
 * forwarded to the collector so that reports can say how many calls they
 * are missing.
 */
#ifndef LLMCOST_H
#define LLMCOST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define LLMCOST_API __declspec(dllexport)
#else
#define LLMCOST_API __attribute__((visibility("default")))
#endif

/** @defgroup version Version
 * LLMCOST_VERSION_MAJOR, _MINOR, _PATCH and LLMCOST_VERSION_STRING come
 * from the project's one version, CMake's project(VERSION), configured
 * into llmcost_version.h.
 * @{ */
#include "llmcost_version.h"
/** @} */

/** A client: one per process (or per test).  Opaque. */
typedef struct llmcost_client llmcost_client;

/** One LLM request being recorded.  Opaque; taken from the client's pool
 * by llmcost_call_begin() and given back by llmcost_call_end() or
 * llmcost_call_abandon(). */
typedef struct llmcost_call llmcost_call;

/** @defgroup errors Error codes
 * The X-macro defines the enum, llmcost_strerror() and llmcost_err_name()
 * from one table.  New codes are appended; retired codes stay as
 * placeholders.
 * @{ */
#define LLMCOST_ERR_MAP(XX)                                                   \
	XX(EINVAL, 1, "invalid argument")                                     \
	XX(ENOMEM, 2, "out of memory")                                        \
	XX(EFULL, 3, "queue full, call dropped and counted")                  \
	XX(ETOOBIG, 4, "value exceeds a hard limit")                          \
	XX(EUTF8, 5, "string is not valid UTF-8")                             \
	XX(ETIMEDOUT, 6, "timed out")                                         \
	XX(ECLOSED, 7, "client is shutting down")                             \
	XX(EPROTO, 8, "malformed or unsupported message")                     \
	XX(ECONNECT, 9, "collector not reachable")                            \
	XX(ESTORE, 10, "storage error")                                       \
	XX(EDISABLED, 11, "disabled by LLMCOST_DISABLE")                      \
	XX(ESYSTEM, 12, "system error")                                       \
	XX(ENOTFOUND, 13, "not found")                                        \
	XX(ECONFIG, 14, "invalid configuration")

/** Error codes.  0 is success. */
typedef enum llmcost_err {
	LLMCOST_OK = 0,
#define LLMCOST__ERR_ENUM(name, num, text) LLMCOST_##name = num,
	LLMCOST_ERR_MAP(LLMCOST__ERR_ENUM)
#undef LLMCOST__ERR_ENUM
} llmcost_err;

/** @brief A human-readable description of an error code.
 * @return a static string, never NULL ("unknown error" for unknown codes).
 * Thread-safety: safe from any thread. */
LLMCOST_API const char *llmcost_strerror(int err);

/** @brief The symbolic name of an error code, e.g. "LLMCOST_EFULL".
 * @return a static string, never NULL ("LLMCOST_UNKNOWN" for unknown codes).
 */
LLMCOST_API const char *llmcost_err_name(int err);
/** @} */

/** @defgroup usage Usage buckets
 * Usage is recorded in exclusive buckets: no bucket contains another, so
 * the input total is the sum of the input buckets and the output total the
 * sum of the output buckets.  How each provider's counts convert is under
 * "Converting provider usage" below.
 *
 * One table defines the buckets.  Its columns, in order:
 * - the enum name (LLMCOST_<NAME>) and its number, never renumbered;
 *   new buckets are appended, and a v1 decoder accepts usage with
 *   buckets it does not know and reports them (proto/README.md, "Usage");
 * - the key in reports and JSON output;
 * - 0 for an input bucket, 1 for an output bucket;
 * - the key under LangSmith's input_token_details / output_token_details,
 *   or NULL when the bucket has none (plain text is the remainder);
 * - a description.
 * @{ */
#define LLMCOST_BUCKET_MAP(XX)                                                \
	XX(IN_UNCACHED, 0, "input_uncached", 0, NULL,                         \
	    "text input, not from cache")                                     \
	XX(IN_CACHE_READ, 1, "input_cache_read", 0, "cache_read",             \
	    "input read from a prompt cache")                                 \
	XX(IN_CACHE_WRITE_5M, 2, "input_cache_write_5m", 0,                   \
	    "ephemeral_5m_input_tokens", "input written to a 5-minute cache") \
	XX(IN_CACHE_WRITE_1H, 3, "input_cache_write_1h", 0,                   \
	    "ephemeral_1h_input_tokens", "input written to a 1-hour cache")   \
	XX(IN_AUDIO, 4, "input_audio", 0, "audio", "audio input")             \
	XX(IN_IMAGE, 5, "input_image", 0, "image", "image input")             \
	XX(OUT_TEXT, 6, "output_text", 1, NULL, "visible text output")        \
	XX(OUT_REASONING, 7, "output_reasoning", 1, "reasoning",              \
	    "reasoning (thinking) output")                                    \
	XX(OUT_AUDIO, 8, "output_audio", 1, "audio", "audio output")          \
	XX(OUT_IMAGE, 9, "output_image", 1, "image", "image output")

/** The usage buckets, generated from #LLMCOST_BUCKET_MAP. */
typedef enum llmcost_bucket {
#define LLMCOST__BUCKET_ENUM(name, num, key, out, ls, doc)                    \
	LLMCOST_##name = num,
	LLMCOST_BUCKET_MAP(LLMCOST__BUCKET_ENUM)
#undef LLMCOST__BUCKET_ENUM
#define LLMCOST__BUCKET_ONE(name, num, key, out, ls, doc) +1
	/** How many buckets this version knows. */
	LLMCOST_BUCKET_COUNT
	= 0 LLMCOST_BUCKET_MAP(LLMCOST__BUCKET_ONE)
#undef LLMCOST__BUCKET_ONE
} llmcost_bucket;

/** Token counts per exclusive bucket.  Zero-initialise, then fill as
 * below.
 *
 * @par Converting provider usage
 * Every provider reports usage its own way; some totals include cached
 * or reasoning tokens, others exclude them.  Convert completely: each
 * token the provider bills goes into exactly one bucket, so that the
 * input buckets add up to the provider's whole input and the output
 * buckets to its whole output.  A count a response does not carry is 0.
 * Subtract only what the total is documented to include; a negative
 * difference means the formula does not fit the response.
 *
 * @par OpenAI Chat Completions (usage)
 * prompt_tokens includes prompt_tokens_details.cached_tokens, .audio_tokens
 * and, from the GPT-5.6 family on, .cache_write_tokens; completion_tokens
 * includes completion_tokens_details.reasoning_tokens and .audio_tokens.
 * - IN_CACHE_READ = cached_tokens
 * - IN_CACHE_WRITE_5M = cache_write_tokens.  These tokens are billed as
 *   cache writes (1.25x the input rate) instead of the input rate, so
 *   they must not stay in IN_UNCACHED.  This version has no bucket of
 *   its own for OpenAI cache writes (a later version adds one): until
 *   then they go to IN_CACHE_WRITE_5M, which the collector prices per
 *   model, so an OpenAI model's entry carries OpenAI's write rate.
 * - IN_AUDIO = prompt_tokens_details.audio_tokens
 * - IN_UNCACHED = prompt_tokens minus cached_tokens, cache_write_tokens
 *   and audio_tokens
 * - OUT_REASONING = reasoning_tokens
 * - OUT_AUDIO = completion_tokens_details.audio_tokens
 * - OUT_TEXT = completion_tokens - reasoning_tokens - audio_tokens
 *   (accepted and rejected prediction tokens are billed as output and
 *   stay in OUT_TEXT)
 *
 * @par OpenAI Responses API (usage)
 * The same rules under other names: input_tokens includes
 * input_tokens_details.cached_tokens (and .cache_write_tokens from
 * GPT-5.6 on); output_tokens includes
 * output_tokens_details.reasoning_tokens.
 * - IN_CACHE_READ = input_tokens_details.cached_tokens
 * - IN_CACHE_WRITE_5M = input_tokens_details.cache_write_tokens
 * - IN_UNCACHED = input_tokens - cached_tokens - cache_write_tokens
 * - OUT_REASONING = output_tokens_details.reasoning_tokens
 * - OUT_TEXT = output_tokens - reasoning_tokens
 *
 * @par Anthropic Messages (usage)
 * input_tokens excludes cache reads and cache writes; the writes are split
 * by lifetime in cache_creation.  output_tokens already includes thinking.
 * - IN_UNCACHED = input_tokens
 * - IN_CACHE_READ = cache_read_input_tokens
 * - IN_CACHE_WRITE_5M = cache_creation.ephemeral_5m_input_tokens
 * - IN_CACHE_WRITE_1H = cache_creation.ephemeral_1h_input_tokens.  Do not
 *   put every write (cache_creation_input_tokens) in the 5-minute bucket:
 *   a 1-hour write costs 2x the input rate and a 5-minute write 1.25x, so
 *   that under-bills 1-hour writes by 37.5%.  Only a response without
 *   cache_creation, where every write is a 5-minute one, puts
 *   cache_creation_input_tokens in IN_CACHE_WRITE_5M.
 * - OUT_TEXT = output_tokens.  Do not add thinking tokens on top: they
 *   are already counted (output_tokens_details.thinking_tokens, where
 *   present, is an estimate for observability, not a separate bill).
 *
 * @par Google Gemini (usageMetadata)
 * promptTokenCount includes cachedContentTokenCount;
 * toolUsePromptTokenCount is input reported apart from promptTokenCount
 * and billed at the input rate; thoughtsTokenCount is separate from
 * candidatesTokenCount.
 * - IN_CACHE_READ = cachedContentTokenCount
 * - IN_UNCACHED = promptTokenCount minus cachedContentTokenCount, plus
 *   toolUsePromptTokenCount
 * - IN_AUDIO: the AUDIO entry of promptTokensDetails (less its cached
 *   part in cacheTokensDetails), moved out of IN_UNCACHED, for models
 *   that price audio input apart; image and video input are billed at the
 *   text rate and stay in IN_UNCACHED.
 * - OUT_REASONING = thoughtsTokenCount
 * - OUT_TEXT = candidatesTokenCount (the IMAGE entry of
 *   candidatesTokensDetails goes to OUT_IMAGE instead, for models that
 *   generate images)
 *
 * @par Amazon Bedrock Converse (usage)
 * inputTokens excludes cacheReadInputTokens and cacheWriteInputTokens.
 * - IN_UNCACHED = inputTokens
 * - IN_CACHE_READ = cacheReadInputTokens
 * - IN_CACHE_WRITE_5M = cacheWriteInputTokens (the default 5-minute
 *   cache)
 * - OUT_TEXT = outputTokens
 *
 * @par Streams
 * Usage arrives with the last event (OpenAI Chat Completions sends it only
 * with stream_options.include_usage).  A stream cut short is still
 * recorded, with the usage received so far and #LLMCOST_STATUS_ABORTED.
 */
typedef struct llmcost_usage {
	uint64_t tokens[LLMCOST_BUCKET_COUNT];
} llmcost_usage;

/** How a call ended. */
typedef enum llmcost_status {
	LLMCOST_STATUS_OK = 0,      /**< the provider answered */
	LLMCOST_STATUS_ERROR = 1,   /**< the provider returned an error */
	LLMCOST_STATUS_ABORTED = 2, /**< a stream was cut short; usage may be
	                                 partial */
} llmcost_status;
/** @} */

/** @defgroup limits Hard limits
 * Values over these caps are refused with #LLMCOST_ETOOBIG; the call stays
 * usable.  The collector's decoder enforces the same per-field caps
 * (LLMCOST_MAX_CALL_BYTES is the shim's own per-call budget).
 * @{ */
#define LLMCOST_MAX_PROVIDER 64  /**< bytes in a provider name */
#define LLMCOST_MAX_MODEL    256 /**< bytes in a model name */
#define LLMCOST_MAX_KEY      64  /**< bytes in a metadata key */
#define LLMCOST_MAX_VALUE    256 /**< bytes in a metadata value */
#define LLMCOST_MAX_TAG      128 /**< bytes in a tag */
#define LLMCOST_MAX_META     32  /**< metadata entries per call */
#define LLMCOST_MAX_TAGS     32  /**< tags per call */
/** Bytes of all strings of one call together (provider, model, keys,
 * values, tags); a replaced value that does not fit in place counts
 * again. */
#define LLMCOST_MAX_CALL_BYTES 1024
/** @} */

/** @defgroup client Client lifecycle
 * @{ */

/** Client options.  A zero or NULL field means "take the environment
 * variable, else the default".  Fields are only ever appended.
 *
 * Each option, its environment variable, its default and its bounds (a
 * value outside them is clamped and a warning logged):
 * - collector_url, LLMCOST_COLLECTOR_URL: the collector's nng URL,
 *   ipc://PATH or tcp://HOST:PORT.  Default
 *   ipc://$XDG_STATE_HOME/llmcost/llmcostd.sock, or
 *   ipc://$HOME/.local/state/llmcost/llmcostd.sock when XDG_STATE_HOME
 *   is unset or not absolute.
 * - queue_max, LLMCOST_QUEUE_MAX: calls the pool and the queue hold.
 *   Default 8192; 64 to 1048576, rounded up to a power of two.
 * - flush_ms, LLMCOST_FLUSH_MS: milliseconds between sends when idle.
 *   Default 200; 1 to 60000.
 * - ack_timeout_ms, LLMCOST_ACK_TIMEOUT_MS: milliseconds without an
 *   acknowledgement before a batch is sent again.  Default 5000; 50 to
 *   600000.
 * - batch_max, LLMCOST_BATCH_MAX: calls per batch.  Default 1024; 1 to
 *   2048, so that a batch of the largest calls fits one 4 MiB message.
 * - flags: #LLMCOST_F_DISABLE.  LLMCOST_DISABLE set to anything but
 *   empty or "0" sets it too: every call is accepted and discarded.
 * - Logging has no field: LLMCOST_LOG=error, warn, notice, info or debug
 *   turns on a logger that writes to stderr (an unknown name means warn);
 *   unset, the client is silent.  llmcost_set_logger() replaces it.
 *
 * Memory: the client preallocates queue_max call records of about 1.5 KiB
 * each (pages are touched only as they are used).
 */
typedef struct llmcost_options {
	const char
	    *collector_url;     /**< nng URL: ipc://path or tcp://host:port */
	uint32_t queue_max;     /**< capacity of the call pool and queue */
	int32_t flush_ms;       /**< idle send interval */
	int32_t ack_timeout_ms; /**< resend after this long without ack */
	uint32_t batch_max;     /**< calls per batch */
	unsigned flags;         /**< LLMCOST_F_* */
} llmcost_options;

/** Discard every call (the LLMCOST_DISABLE kill switch, set in code). */
#define LLMCOST_F_DISABLE 0x1u

/** @brief Create a client and start its background sender thread.
 *
 * Reads the LLMCOST_* environment once, validates and clamps it, allocates
 * the call pool and starts the "llmcost-send" thread.  It does not wait for
 * the collector: delivery starts when the collector is reachable.
 *
 * @param[out] clientp written with the new client on success only.
 * @param[in] opts options, or NULL for environment and defaults.  Copied.
 * @return 0, #LLMCOST_EINVAL (NULL clientp or a bad option), #LLMCOST_ENOMEM,
 *   #LLMCOST_ECONFIG (a bad collector URL), #LLMCOST_ESYSTEM (no thread).
 * Ownership: the caller owns the client and releases it with
 *   llmcost_shutdown().
 */
LLMCOST_API int llmcost_init(
    llmcost_client **clientp, const llmcost_options *opts);

/** @brief Wait until every call ended before this point is acknowledged
 * by the collector (stored durably) or refused by it.
 * @param timeout_ms how long to wait; 0 = just check, negative = forever.
 * @return 0, #LLMCOST_ETIMEDOUT, #LLMCOST_EINVAL.
 * Thread-safety: may block the calling thread; never call it on a latency
 *   sensitive path. */
LLMCOST_API int llmcost_flush(llmcost_client *c, int32_t timeout_ms);

/** @brief Flush for at most timeout_ms, stop the sender thread and free the
 * client.  Calls still undelivered are counted as dropped and logged.
 * NULL is accepted.  Must not race any other function on this client, and
 * every call handle must have been ended or abandoned before. */
LLMCOST_API void llmcost_shutdown(llmcost_client *c, int32_t timeout_ms);

/** Client counters; all are totals since llmcost_init(). */
typedef struct llmcost_stats {
	uint64_t calls_ended;    /**< calls handed to the queue */
	uint64_t calls_dropped;  /**< calls lost: queue full, or undelivered
	                              at shutdown */
	uint64_t calls_acked;    /**< calls the collector has stored */
	uint64_t calls_rejected; /**< calls in batches the collector refused */
	uint64_t batches_sent;   /**< batch messages sent, resends included */
	uint64_t batches_resent; /**< resends after a timeout or error */
	uint64_t queue_depth;    /**< calls waiting in the queue now */
	uint64_t attr_errors;    /**< metadata, tags or usage refused at the
	                              call site (over a cap, bad UTF-8) */
} llmcost_stats;

/** @brief Copy the client's counters into *out.
 * @return 0 or #LLMCOST_EINVAL. */
LLMCOST_API int llmcost_stats_get(llmcost_client *c, llmcost_stats *out);

/** Log levels, as RFC 5424 severities: one vocabulary for LLMCOST_LOG,
 * llmcostd's --log-level and the level names in log lines.  Columns: the
 * enum name (LLMCOST_LOG_<NAME>), the severity, the name accepted in
 * settings and printed in log lines. */
#define LLMCOST_LOG_LEVEL_MAP(XX)                                             \
	XX(ERR, 3, "error")                                                   \
	XX(WARNING, 4, "warn")                                                \
	XX(NOTICE, 5, "notice")                                               \
	XX(INFO, 6, "info")                                                   \
	XX(DEBUG, 7, "debug")

typedef enum llmcost_log_level {
#define LLMCOST__LEVEL_ENUM(name, num, text) LLMCOST_LOG_##name = num,
	LLMCOST_LOG_LEVEL_MAP(LLMCOST__LEVEL_ENUM)
#undef LLMCOST__LEVEL_ENUM
} llmcost_log_level;

/** A log sink.  Called from the sender thread or from llmcost_init /
 * llmcost_shutdown, never from call-site functions.  msg is valid only
 * during the call.  Messages never contain API keys, prompts or
 * completions. */
typedef void (*llmcost_log_fn)(void *arg, int level, const char *msg);

/** @brief Route the client's log messages to fn (NULL: silence).  Without
 * it, LLMCOST_LOG selects a built-in stderr logger. */
LLMCOST_API void llmcost_set_logger(
    llmcost_client *c, llmcost_log_fn fn, void *arg);
/** @} */

/** @defgroup call Recording a call
 * @{ */

/** @brief Begin recording one LLM call: take a record from the pool, mint a
 * UUIDv7 run id and note the start time.
 *
 * @param provider e.g. "openai", "anthropic", "google"; 1..64 bytes UTF-8.
 * @param model e.g. "gpt-4o-mini"; 1..256 bytes UTF-8.
 * @param[out] callp written with the handle on success; set to NULL on
 *   failure, and every llmcost_call_* function accepts a NULL handle (it
 *   returns #LLMCOST_EINVAL), so call sites need no error branch.
 * @return 0; #LLMCOST_EFULL when the pool is exhausted (the call is counted
 *   as dropped); #LLMCOST_EINVAL, #LLMCOST_ETOOBIG or #LLMCOST_EUTF8 for a
 *   bad argument; #LLMCOST_EDISABLED when disabled (no handle).
 * Cost: no system call, no lock, no allocation.
 * Ownership: the handle must be passed to llmcost_call_end() or
 *   llmcost_call_abandon() exactly once.
 */
LLMCOST_API int llmcost_call_begin(llmcost_client *c, const char *provider,
    const char *model, llmcost_call **callp);

/** @brief Attach a metadata key/value, e.g. ("feature", "rag-search"),
 * ("env", "production"), ("user_tier", "pro").  Setting a key again
 * replaces its value.  "feature" and "env" are the dimensions the
 * collector rolls up by; any other key is kept with the call.
 * @return 0, #LLMCOST_EINVAL (NULL or empty key), #LLMCOST_ETOOBIG (over
 *   a cap), #LLMCOST_EUTF8.  On error the call keeps its earlier state. */
LLMCOST_API int llmcost_call_set_meta(
    llmcost_call *call, const char *key, const char *value);

/** @brief Add a tag (a bare label, as LangSmith tags).  Duplicates are
 * ignored.  Returns as llmcost_call_set_meta(). */
LLMCOST_API int llmcost_call_add_tag(llmcost_call *call, const char *tag);

/** @brief Set the call's usage (replaces any earlier usage).
 * @return 0 or #LLMCOST_EINVAL. */
LLMCOST_API int llmcost_call_set_usage(
    llmcost_call *call, const llmcost_usage *usage);

/** @brief Set how the call ended (default #LLMCOST_STATUS_OK).  Failed and
 * aborted calls are still recorded: providers bill partial streams.
 * @return 0 or #LLMCOST_EINVAL. */
LLMCOST_API int llmcost_call_set_status(
    llmcost_call *call, llmcost_status status);

/** @brief Write the call's run id as a 36-character UUID string plus NUL
 * into buf (at least 37 bytes).  The same id is the LangSmith run id.
 * @return 0 or #LLMCOST_EINVAL. */
LLMCOST_API int llmcost_call_run_id(
    const llmcost_call *call, char *buf, size_t bufsz);

/** @brief Note the end time and queue the call for delivery.
 *
 * Always consumes the call, even when it returns an error: the handle is
 * invalid afterwards.  (This differs from nng_sendmsg on purpose: telemetry
 * must not create leak paths in the application's error handling.)
 * @return 0, #LLMCOST_EINVAL (NULL call, or already ended), #LLMCOST_ECLOSED
 *   (client shutting down: dropped and counted).
 * Cost: no allocation.  No lock and no system call either, except that
 *   once per batch (when the queue reaches batch_max calls while the
 *   sender sleeps) one call wakes the sender thread. */
LLMCOST_API int llmcost_call_end(llmcost_call *call);

/** @brief Discard a call without recording it (for calls that were never
 * sent to the provider).  NULL is accepted. */
LLMCOST_API void llmcost_call_abandon(llmcost_call *call);
/** @} */

/** @brief The library version, "MAJOR.MINOR.PATCH".  Static. */
LLMCOST_API const char *llmcost_version(void);

#ifdef __cplusplus
}
#endif

#endif /* LLMCOST_H */
