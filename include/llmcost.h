/** @file llmcost.h
 * @brief libllmcost: attribute every LLM call to a product feature.
 *
 * The application tags each LLM call with its provider, model, metadata
 * (feature, env, user_tier, any key) and token usage.  The call site only
 * fills a record taken from a preallocated pool and hands it to a
 * bounded queue of its own thread: no allocation, no I/O, no lock, and
 * no system call except a rare wake-up of the sender (below).
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
 * the same client; threads that called it may outlive it, and may exit at
 * any time, before or after.  A client must not be used after fork(),
 * not even by llmcost_shutdown(), in the child.  A child can create a
 * client of its own only if no ancestor had called llmcost_init() (with
 * delivery on, not #LLMCOST_F_DISABLE) before the fork that led to it:
 * nng, which carries calls to llmcostd, cannot run in a forked child
 * once a parent started it, so llmcost_init() there fails with
 * #LLMCOST_ESYSTEM (logged) unless the client is disabled.  A server
 * that forks its workers creates its clients in the workers, after
 * fork().
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
	XX(ECONFIG, 14, "invalid configuration")                              \
	XX(EINCOMPLETE, 15, "response ended before its usage was complete")   \
	XX(EBUDGET, 16, "budget exhausted")

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
#define LLMCOST_MAX_MESSAGES 64  /**< prompt messages per call */
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
 *   Default 8192; 64 to 1048576, rounded up to a power of two.  Beyond
 *   them, the batches taken from the queue for llmcostd wait for its
 *   acknowledgement, in at most as much memory as the pool reserves
 *   (about three times as many calls; see Memory).  The pool is what
 *   absorbs a stall of the process (a host that stops the guest, a
 *   swap-in): the calls due meanwhile come at once afterwards, and those
 *   the pool cannot hold until the background thread stores them are
 *   dropped.  Size it from the call rate and the longest stall to ride
 *   out: the default is 8 ms of calls at 1 M calls/s, 0.8 s at 10 k
 *   calls/s.
 * - flush_ms, LLMCOST_FLUSH_MS: milliseconds between sends when idle.
 *   Default 200; 1 to 60000.
 * - ack_timeout_ms, LLMCOST_ACK_TIMEOUT_MS: milliseconds without an
 *   acknowledgement before a batch is sent again.  Default 5000; 50 to
 *   600000.
 * - batch_max, LLMCOST_BATCH_MAX: calls per batch.  Default and most
 *   2048, so that a batch of the largest calls fits one 4 MiB message;
 *   at least 1.  Each message to llmcostd costs both processes a few
 *   thread wake-ups whatever it carries, so smaller batches cost more CPU
 *   per call.
 * - LLMCOST_BUDGET_POLL_MS (no field): how often the collector
 *   exporter asks llmcostd which hard budgets are exhausted (the guard
 *   of llmcost_call_begin()).  Default 1000; 50 to 60000.
 * - flags: #LLMCOST_F_DISABLE.  LLMCOST_DISABLE set to anything but
 *   empty or "0" sets it too: every call is accepted and discarded.
 *   #LLMCOST_F_PREFAULT, or LLMCOST_PREFAULT set the same way: see
 *   Memory.
 * - Logging has no field: LLMCOST_LOG=error, warn, notice, info or debug
 *   turns on a logger that writes to stderr (an unknown name means warn);
 *   unset, the client is silent.  llmcost_set_logger() replaces it.
 *
 * Memory: the client reserves queue_max call records of about 1.8 KiB each,
 * plus 20 bytes per record of queue and free-stack bookkeeping.  By default
 * only the queue's 16 bytes per record are written at init (128 KiB with the
 * default queue_max), and no record is touched before the first call.  Calls
 * reuse the most recently freed records first.  Once calls have been made,
 * whenever no call waits the background thread has the kernel make the pages
 * of the next unused records resident (MADV_POPULATE_WRITE, Linux 5.14 and
 * later), as many as have been used so far (at least 64; at most batch_max
 * or half of queue_max, 256 KiB at a time), so that a call taking a record
 * for the first time takes no page fault; a client whose calls come too fast
 * for the thread ever to be idle (a start at a high rate) touches them from
 * its calls, as populating then delays the thread.  Records are used as
 * calls are in flight at once or wait free in the lanes (below): the
 * resident size stays within twice the records ever used, plus 64, rounded
 * up to a page.  Where transparent huge pages are on ("always" or
 * "madvise"), the records beyond the first 2 MiB (about 1100) are asked for
 * as huge pages: a client that uses that many grows by 2 MiB at a time
 * there, and its call sites stop paying a page-table walk per record
 * (zeroing a 2 MiB page takes about 0.1 ms, on the background thread, or on
 * a call that outruns it).
 * #LLMCOST_F_PREFAULT instead has init make every record resident
 * (queue_max times 1.8 KiB: 15 MiB by default, which took 25 ms of the
 * first init in a process on a 2-vCPU Xeon guest), so that no call ever
 * takes a page fault on a record: for a service that makes calls at a
 * high rate from its first millisecond, whose first calls would
 * otherwise fault on thousands of records while they come fastest
 * (bench/README.md, round 12).
 * The batches on their way to llmcostd hold copies of their calls'
 * fields and strings (about 0.5 KiB per typical call), allocated per
 * batch as calls arrive and freed once acknowledged: at most as many
 * bytes as the call records reserve (queue_max times about 1.8 KiB),
 * plus one batch, which only a collector that is slow or away for a
 * while fills (with a spool, at most four batches of batch_max calls).
 *
 * Per thread: the first 16 threads that make calls on a client each take
 * a lane, given back when the thread exits: a queue of ended calls (32
 * KiB) and of free records (4 KiB), from 600 KiB of address space the
 * client reserves at init: one lane is written at init and one more
 * ahead of each new thread, so that no call takes a page fault on it.
 * A thread with a lane begins and ends calls with plain loads and
 * stores (no locked instruction) while its lane holds free records;
 * threads beyond 16 share one queue and free stack (one
 * compare-and-swap each on begin and end).  Free records wait in the
 * lanes of the threads that ended them, up to queue_max / 4 in all and
 * 1024 a lane: a thread that makes calls faster than the background
 * thread hands its records back takes the rest from the shared stack
 * (one compare-and-swap on begin), and a thread that stops making calls
 * keeps its share from the others.
 *
 * Threads: a client adds two threads, "llmcost-send" (the batch loop)
 * and "llmcost-collect" (delivery to llmcostd), and a third,
 * "llmcost-langsmith", when LangSmith export is on.  nng starts its own
 * threads once per process when the first socket opens (13 with nng
 * 1.5.2: task, timer, poller, reaper, expiry and resolver threads),
 * shared by every socket and client in the process; nng 1.5 has no
 * setting that lowers that number.
 *
 * @par LangSmith export
 * Every call is also sent to LangSmith as one complete `llm` run (the id
 * is the call's run id), from a thread of its own, so that a slow or
 * absent LangSmith never delays delivery to the collector.  Export is on
 * when an API key is given and tracing is not turned off:
 * - langsmith_api_key, LANGSMITH_API_KEY (else LANGCHAIN_API_KEY).  The
 *   key is sent in the x-api-key header only: never logged, never in an
 *   error message.
 * - langsmith_tracing: 1 on, -1 off; 0 reads LANGSMITH_TRACING (else
 *   LANGSMITH_TRACING_V2, LANGCHAIN_TRACING_V2, LANGCHAIN_TRACING):
 *   "false" (any case) or "0" turns export off, anything else or unset
 *   leaves it on.
 * - langsmith_endpoint, LANGSMITH_ENDPOINT (else LANGCHAIN_ENDPOINT).
 *   Default https://api.smith.langchain.com.
 * - langsmith_project, LANGSMITH_PROJECT (else LANGCHAIN_PROJECT, else
 *   the legacy LANGCHAIN_SESSION the JS SDK still reads): the runs'
 *   session_name.  Default "default".
 * - langsmith_workspace_id, LANGSMITH_WORKSPACE_ID (else
 *   LANGCHAIN_WORKSPACE_ID): sent as x-tenant-id.
 * - langsmith_queue_batches, LLMCOST_LANGSMITH_QUEUE_BATCHES: what the
 *   exporter holds while LangSmith is slow or away, in full batches:
 *   langsmith_queue_batches x batch_max calls, however small the batch
 *   loop cut them (in at most 1024 batches; queued batches go out merged,
 *   up to 100 runs a request).  Default 4 (8192 calls); 1 to 16.  Its memory is at
 *   most that many calls of about 1.8 KiB each; calls that find the
 *   queue full are not sent to LangSmith and are counted
 *   (langsmith_dropped_queue).  The collector never loses calls to
 *   LangSmith's pace, nor LangSmith to the collector's (see "When the
 *   collector is away").
 * - langsmith_gzip: request bodies to /runs/multipart gzip-compressed
 *   (ISA-L igzip level 1) when 0 and the server's GET /info says it takes
 *   them (instance_flags.gzip_body_enabled, as the JS SDK reads it; asked
 *   once, before the first request), always when 1, never when -1.
 *   LANGSMITH_DISABLE_RUN_COMPRESSION=true (or 1) means -1 when the
 *   field is 0.  Compression costs the exporter's thread CPU and saves
 *   bandwidth (bench/README.md has both).
 * Delivery follows LangSmith's SDKs: batched POST /runs/multipart (or
 * /runs/batch when the server answers 404 or 405), 100 runs a request;
 * 408, 425, 429, 5xx and connection errors retried with jittered backoff
 * honouring Retry-After (10 s for a 429 without it), up to 10 attempts;
 * 409 means already stored; 413 splits the request; 401 and 403 stop
 * export (one log line, counted); other 4xx drop the request's runs,
 * counted and logged with the reason.
 *
 * - text_max_bytes, LLMCOST_TEXT_MAX: bytes of prompt and completion text
 *   a call may hand over for LangSmith (llmcost_call_add_message()).
 *   Default 0: text is off.  256 to 262144.  Each of the queue_max call
 *   records reserves this much address space at init; pages are touched
 *   only by calls that carry text, so the resident cost follows the text
 *   actually in flight.
 *
 * @par When the collector is away
 * Calls wait in memory (queue_max of them) while the collector is slow
 * or away.  Once seven eighths of the queue is waiting, the oldest calls
 * are sent to LangSmith alone (when export is on and LangSmith has room)
 * and counted as dropped for the collector (calls_dropped, the count the
 * collector is told), so that the call sites keep finding room and a
 * dead collector does not stop export to LangSmith.  At
 * llmcost_shutdown(), the calls still queued once the collector has not
 * answered for half the shutdown's timeout (at least a second) go to
 * LangSmith the same way.  Without LangSmith
 * export (or with its queue full too), call sites drop new calls once the
 * queue is full (#LLMCOST_EFULL, counted).
 *
 * @par Spool
 * Without a spool, a collector outage longer than the queue lasts loses
 * calls for the collector (counted, see above).  Turn
 * the spool on when a collector outage must not lose calls: llmcostd
 * restarted or upgraded under a busy application, a collector on
 * another host, an application that runs while no collector does.  The
 * spool is a file that takes the calls the queue can no longer hold
 * (once the queue is half full, or once the collector has had no room
 * for a second) and sends them, oldest first, when the collector
 * answers; it survives the application's crash or restart (the next
 * process with the same spool sends what it holds).  Each call is
 * stored once: run ids make resends harmless.  The file is not
 * fsync'ed: it survives the application's crash or kill, not a power
 * cut or kernel crash (which may lose its last frames; the torn end is
 * cut at the next open).
 * - spool_path, LLMCOST_SPOOL: a file, or a directory (an existing one,
 *   or a path ending in '/') that gets <program name>.spool.
 *   LLMCOST_SPOOL=1 (or on, yes, true) means the default directory,
 *   $XDG_STATE_HOME/llmcost/spool/ (else ~/.local/state/llmcost/spool/).
 *   Unset, empty or 0: no spool.  Missing directories are created with
 *   mode 0700, the file with 0600.
 * - spool_max_bytes, LLMCOST_SPOOL_MAX (bytes, or with a K, M or G
 *   suffix): the file's bound.  Default 64 MiB; 64 KiB to 1 TiB.  Calls
 *   past it are dropped and counted (spool_calls_dropped).
 * Processes: a spool file belongs to one process at a time (an exclusive
 * lock).  A second process given the same path uses <path>.1, then .2,
 * up to .7; a process that finds all eight taken runs without a spool
 * (logged).  Cost: nothing at the call site; the batch loop writes and
 * reads the file (no fsync: a power loss may cost the last writes,
 * which the next open detects and cuts).  A damaged file is reported in
 * one log line and counted (spool_corrupt), never fatal.
 */
typedef struct llmcost_options {
	const char
	    *collector_url;     /**< nng URL: ipc://path or tcp://host:port */
	uint32_t queue_max;     /**< capacity of the call pool and queue */
	int32_t flush_ms;       /**< idle send interval */
	int32_t ack_timeout_ms; /**< resend after this long without ack */
	uint32_t batch_max;     /**< calls per batch */
	unsigned flags;         /**< LLMCOST_F_* */
	/* LangSmith export (see "LangSmith export" above). */
	const char *langsmith_api_key;      /**< x-api-key; never logged */
	const char *langsmith_endpoint;     /**< base URL */
	const char *langsmith_project;      /**< the runs' session_name */
	const char *langsmith_workspace_id; /**< sent as x-tenant-id */
	int langsmith_tracing; /**< 0: environment; 1: on; -1: off */
	uint32_t langsmith_queue_batches; /**< batches held at once */
	/* The spool (see "Spool" above). */
	const char *spool_path;   /**< file, or directory ending in '/' */
	uint64_t spool_max_bytes; /**< the file's bound */
	int langsmith_gzip;      /**< 0: as /info says; 1: always; -1: never */
	uint32_t text_max_bytes; /**< prompt/completion text per call */
} llmcost_options;

/** Discard every call (the LLMCOST_DISABLE kill switch, set in code). */
#define LLMCOST_F_DISABLE 0x1u
/** Make the whole call pool resident at init (see Memory). */
#define LLMCOST_F_PREFAULT 0x2u

/** @brief Create a client and start its background sender thread.
 *
 * Reads the LLMCOST_* environment once, validates and clamps it, allocates
 * the call pool and starts the "llmcost-send" thread.  It does not wait for
 * the collector: delivery starts when the collector is reachable.
 *
 * @param[out] clientp written with the new client on success only.
 * @param[in] opts options, or NULL for environment and defaults.  Copied.
 * The collector URL is checked fully here: ipc://path (a path that fits a
 * Unix socket), or tcp://, tcp4://, tcp6:// with a host (a valid IPv4
 * address when it is one, [IPv6] in brackets) and a port in 1..65535.  A
 * bad URL fails init with one log line saying what is wrong.
 *
 * @return 0, #LLMCOST_EINVAL (NULL clientp or a bad option), #LLMCOST_ENOMEM,
 *   #LLMCOST_ECONFIG (a bad collector URL), #LLMCOST_ESYSTEM (no thread,
 *   or a process forked after its parent created a client: see
 *   Threading above).
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

/** How long llmcost_shutdown() may take beyond its timeout_ms, whatever
 * the network library does (milliseconds). */
#define LLMCOST_SHUTDOWN_BOUND_MS 2000

/** @brief Flush for at most timeout_ms, stop the sender thread and free the
 * client.  Calls still undelivered are counted as dropped and logged.
 * NULL is accepted.  Must not race any other function on this client, and
 * every call handle must have been ended or abandoned before.
 *
 * Returns within timeout_ms + #LLMCOST_SHUTDOWN_BOUND_MS (for timeout_ms
 * >= 0), even when closing the collector socket hangs in nng (nng 1.5
 * close deadlock, nng issues 1543 / 1813): a socket whose close takes over
 * 500 ms is abandoned, with a warning, its memory and one blocked thread,
 * and counted in llmcost_stats.sockets_abandoned.  In practice the extra
 * time is at most twice that 500 ms. */
LLMCOST_API void llmcost_shutdown(llmcost_client *c, int32_t timeout_ms);

/** Client counters; all are totals since llmcost_init(). */
typedef struct llmcost_stats {
	uint64_t calls_ended;    /**< calls handed to the queue */
	uint64_t calls_dropped;  /**< calls the collector will not get: queue
	                              full, sent to LangSmith alone past the
	                              queue's high-water mark, or undelivered
	                              at shutdown */
	uint64_t calls_acked;    /**< calls the collector has stored */
	uint64_t calls_rejected; /**< calls in batches the collector refused */
	uint64_t batches_sent;   /**< batch messages sent, resends included */
	uint64_t batches_resent; /**< batch messages sent again (after a
	                              timeout, a lost connection or an
	                              error): the only resends there are */
	uint64_t queue_depth;    /**< calls waiting in the queue now */
	uint64_t attr_errors;    /**< metadata, tags or usage refused at the
	                              call site (over a cap, bad UTF-8) */
	/* LangSmith export: runs (one per call); all 0 when it is off. */
	uint64_t langsmith_runs_sent;  /**< runs in requests sent, resends
	                                   included */
	uint64_t langsmith_runs_acked; /**< runs LangSmith accepted
	                                        (202, or 409: already had) */
	uint64_t langsmith_requests_retried; /**< requests sent again */
	uint64_t langsmith_dropped_queue;    /**< not sent: the exporter's
	                                        queue was full, or shutdown */
	uint64_t langsmith_dropped_rejected; /**< refused with a 4xx (not
	                                          retried), or too large */
	uint64_t langsmith_dropped_auth;     /**< refused key (401/403) */
	uint64_t langsmith_dropped_retries;  /**< given up after retries */
	uint64_t scopes_ended;      /**< scopes ended (their runs are queued as
	                            calls are) */
	uint64_t sockets_abandoned; /**< collector sockets whose close hung
	                                 and that were left behind; in the
	                                 whole process, not per client */
	uint64_t budget_refused;    /**< #LLMCOST_EBUDGET answers (begin,
	                              set_meta) */
	/* The spool; all 0 without one. */
	uint64_t spool_calls_written;  /**< calls written to the spool */
	uint64_t spool_calls_replayed; /**< calls read back and sent to the
	                                    collector (those of an earlier
	                                    process too) */
	uint64_t spool_calls_dropped;  /**< calls the spool could not take
	                                    (full, or a write error); also
	                                    in calls_dropped */
	uint64_t spool_corrupt; /**< damaged frames or files found, logged
	                             and skipped */
	uint64_t spool_bytes;   /**< the spool file's size now */
	uint64_t text_dropped;  /**< prompt or completion texts refused:
	                             over text_max_bytes */
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

/** @brief Begin recording one LLM call: take a record from the pool and
 * note the start time.  The call's UUIDv7 run id carries that time; it is
 * minted when first needed (llmcost_call_run_id(), or in the background
 * once the call ends).
 *
 * @param provider e.g. "openai", "anthropic", "google"; 1..64 bytes UTF-8.
 * @param model e.g. "gpt-4o-mini"; 1..256 bytes UTF-8.
 * @param[out] callp written with the handle on success; set to NULL on
 *   failure, and every llmcost_call_* function accepts a NULL handle (it
 *   returns #LLMCOST_EINVAL), so call sites need no error branch.
 * @return 0; #LLMCOST_EFULL when the pool is exhausted (the call is counted
 *   as dropped); #LLMCOST_EINVAL, #LLMCOST_ETOOBIG or #LLMCOST_EUTF8 for a
 *   bad argument; #LLMCOST_EDISABLED when disabled (no handle);
 *   #LLMCOST_EBUDGET (no handle) when a hard budget that matches the
 *   provider and model alone (or, through llmcost_scope_call_begin(),
 *   the scope's metadata) is exhausted: refuse the request or fall back
 *   to a cheaper model.
 *
 * @par Hard budgets
 * A budget marked `hard` in llmcostd's budgets file (docs/budgets.md)
 * refuses matching calls once its spend reaches its limit.  Filters on
 * provider and model are checked here; filters on metadata (feature,
 * env, any key) are checked by llmcost_call_set_meta(), which returns
 * #LLMCOST_EBUDGET once the call's metadata matches every filter of an
 * exhausted hard budget.  The shim learns which budgets are exhausted
 * in the background: the collector exporter asks llmcostd every
 * LLMCOST_BUDGET_POLL_MS (1 s by default); the call site only reads a
 * published table.  While llmcostd cannot be reached the last state
 * stays in force.
 *
 * Overshoot bound: the guard refuses every call whose check starts after
 * the exhausted state was published in this process; it cannot take
 * back what was already let through.  So the spend past the limit is at
 * most the cost of (a) the calls in flight when the state was published
 * (at most one per application thread making calls, plus those begun
 * and not yet ended), and (b) the calls begun, in every process using
 * the budget, during the propagation delay: the time for calls to reach
 * llmcostd (flush_ms, 200 ms by default, plus the commit), the
 * evaluation interval (llmcostd --budget-interval-ms, 1 s) and the poll
 * interval (LLMCOST_BUDGET_POLL_MS, 1 s): about 2.2 s of calls at the
 * defaults.  A call whose cost is only known at its end can itself
 * cross the limit by its own cost.  shim/tests/guard_test.c checks (a)
 * with many threads: no call checked after publication passes, and at
 * most one per thread passes around it.
 *
 * Cost: no system call, no lock, no allocation.  With no hard budget
 * exhausted the guard is one atomic load; with one, a 64-bit hash of
 * the provider and model (about 1 ns per byte) and a compare per
 * condition.  A call whose caches the application's own work has
 * emptied waits for a few dependent cache misses (in a shared
 * libllmcost the GOT entry of its thread-local data, then that data,
 * which holds the thread's side of its lane, then the record it takes;
 * the client's lines beside them): 0.55 to 1.6 us for a fully tagged
 * call on a 2-vCPU Xeon guest, by the host's state, against 50 ns warm.
 * A static libllmcost skips the first: about a fifth less there
 * (bench/README.md, rounds 12 and 13).  A shared library call that only
 * records its arguments took 0.71 to 0.77 of that time on the same
 * caches while a miss cost 70 to 195 ns, and 0.24 of it while one cost
 * 33 to 37 ns (round 14).
 * Time: the call's start (here) and end (llmcost_call_end()) are read
 *   from the CPU's time-stamp counter, scaled to CLOCK_MONOTONIC by the
 *   sender thread (which keeps the scale in step with it, never moving
 *   the time back), when the kernel itself uses that counter for its
 *   clocks (clock source "tsc", an invariant counter); elsewhere from
 *   CLOCK_MONOTONIC.  The wall-clock start is that time plus the
 *   sender's latest CLOCK_REALTIME offset.
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
 *   a cap), #LLMCOST_EUTF8.  On error the call keeps its earlier state;
 *   except #LLMCOST_EBUDGET: the value is set, and the call now matches
 *   an exhausted hard budget (see llmcost_call_begin(), "Hard
 *   budgets"): do not make the request; llmcost_call_abandon() the call
 *   (or begin another, e.g. with a cheaper model).
 * Cost: no system call, no lock, no allocation; with a hard budget
 *   exhausted, a 64-bit hash of the call's attributes (about 1 ns per
 *   byte) and a compare per condition. */
LLMCOST_API int llmcost_call_set_meta(
    llmcost_call *call, const char *key, const char *value);

/** @brief Add a tag (a bare label, as LangSmith tags).  Duplicates are
 * ignored.  Returns as llmcost_call_set_meta(). */
LLMCOST_API int llmcost_call_add_tag(llmcost_call *call, const char *tag);

/** @brief Set the call's usage (replaces any earlier usage).
 * @return 0 or #LLMCOST_EINVAL. */
LLMCOST_API int llmcost_call_set_usage(
    llmcost_call *call, const llmcost_usage *usage);

/** @brief Hand over prompt text for LangSmith: append one message (role,
 * text) to the call's prompt, sent as the run's inputs
 * {"messages":[{"role":...,"content":...}, ...]}, the form LangSmith's
 * wrappers record.  Prompt and completion text are never taken from
 * anywhere else and never sent to the collector (llmcostd keeps no text);
 * without LangSmith export they are refused.
 *
 * Storage: each call record owns text_max_bytes of text storage
 * (llmcost_options.text_max_bytes, LLMCOST_TEXT_MAX; default 0: text is
 * off), reserved at init, so nothing is allocated here.  Every message
 * and the completion share it (each takes its length, its role's and 6
 * bytes); text that does not fit is refused whole and counted
 * (llmcost_stats.text_dropped).  At most #LLMCOST_MAX_MESSAGES messages.
 *
 * @param role "system", "user", "assistant", "tool", ...: 1..32 bytes.
 * @param text UTF-8, len bytes (NUL bytes allowed; not NUL-terminated).
 * @return 0; #LLMCOST_EDISABLED (text off, or LangSmith export off);
 *   #LLMCOST_ETOOBIG (does not fit: counted); #LLMCOST_EUTF8;
 *   #LLMCOST_EINVAL.
 * Cost: a UTF-8 check and one copy of the text, both linear in its
 *   length; no allocation, lock or system call.
 */
LLMCOST_API int llmcost_call_add_message(
    llmcost_call *call, const char *role, const char *text, size_t len);

/** @brief llmcost_call_add_message(call, "user", text, len), after
 * dropping the messages added before: the whole prompt as one text. */
LLMCOST_API int llmcost_call_set_input_text(
    llmcost_call *call, const char *text, size_t len);

/** @brief Hand over the completion text for LangSmith, sent as the run's
 * outputs {"choices":[{"message":{"role":"assistant","content":...}}],
 * "usage_metadata":...}.  Setting it again replaces it (the earlier
 * text's storage is not reused).  Storage, returns and cost as
 * llmcost_call_add_message(). */
LLMCOST_API int llmcost_call_set_output_text(
    llmcost_call *call, const char *text, size_t len);

/** @brief Set how the call ended (default #LLMCOST_STATUS_OK).  Failed and
 * aborted calls are still recorded: providers bill partial streams.
 * @return 0 or #LLMCOST_EINVAL. */
LLMCOST_API int llmcost_call_set_status(
    llmcost_call *call, llmcost_status status);

/** @brief Write the call's run id as a 36-character UUID string plus NUL
 * into buf (at least 37 bytes).  The same id is the LangSmith run id, and
 * every later call of this function gives the same one.  The first call
 * fixes the id in the call's record: it is a use of the handle like any
 * setter (one thread at a time).
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
 * Cost: no allocation, no lock.  No system call either, except that
 *   a call that finds its thread's queue past its high mark (batch_max
 *   calls, at most half of queue_max) while the sender sleeps wakes the
 *   sender.  The sender sleeps until three quarters of that many calls
 *   wait, at the rate it saw (at most flush_ms), so calls at a steady
 *   rate do not wake it; a burst does, once. */
LLMCOST_API int llmcost_call_end(llmcost_call *call);

/** @brief Discard a call without recording it (for calls that were never
 * sent to the provider).  NULL is accepted. */
LLMCOST_API void llmcost_call_abandon(llmcost_call *call);
/** @} */

/** @defgroup responses Usage from provider responses
 * libllmcost reads token usage straight from the response body the
 * application already holds, streamed or not, and converts it to the
 * exclusive buckets, so that a call site is one line and the numbers are
 * right by construction.  The parsers build nothing: they scan the bytes
 * with a fixed-size state, never allocate, and accept pieces cut anywhere
 * (inside a UTF-8 sequence, inside "data:").
 *
 * The parsers apply the conversions under "Converting provider usage"
 * (the usage group above), every count a non-negative integer; a body
 * whose parts exceed their total is refused (#LLMCOST_EPROTO), never
 * clamped.  Beyond those rules:
 * - OpenAI-compatible servers: DeepSeek's prompt_cache_hit_tokens is the
 *   cache read (prompt_cache_miss_tokens the rest); a server whose
 *   total_tokens shows reasoning outside completion_tokens (total =
 *   prompt + completion + reasoning) is read that way; Groq's x_groq.id
 *   is the request id, x_groq.usage the usage when no top-level usage is
 *   sent.
 * - OpenRouter: usage.cost (USD) is the provider-reported cost; with
 *   is_byok true, cost_details.upstream_inference_cost (billed to the
 *   application's own key) is added, so the figure compares with the
 *   computed cost of the whole call.
 * - OpenAI cache writes go to #LLMCOST_IN_CACHE_WRITE_5M as described
 *   there: a bucket is a price class, not a duration, and that bucket is
 *   the 1.25x class; a model whose price entry has no write price shows
 *   such calls as unpriced, never as plain input.
 * - Responses API: each web_search_call item of the output counts one
 *   #LLMCOST_FEE_WEB_SEARCH.
 * - Anthropic: cache_creation_input_tokens is authoritative; what it
 *   holds beyond the cache_creation breakdown is a 5-minute write (the
 *   default lifetime), which covers a 0/0 breakdown on web_search turns
 *   and a streamed request whose final total outgrows the breakdown of
 *   message_start; a breakdown above the total is refused.
 *   server_tool_use.web_search_requests is #LLMCOST_FEE_WEB_SEARCH; an
 *   error body's request_id is the request id.
 * - Gemini and Vertex: modelVersion is the model, responseId the request
 *   id; the audio part of toolUsePromptTokensDetails goes to input_audio.
 * - Bedrock Converse: the body names no model, so the call keeps the one
 *   it was begun with.  (InvokeModel with an Anthropic model returns the
 *   Anthropic body: use #LLMCOST_FMT_ANTHROPIC.)
 *
 * Streams: OpenAI chat needs stream_options.include_usage (usage comes in
 * the last chunk); Responses API usage comes in response.completed (or
 * .incomplete / .failed); Anthropic's is split between message_start and
 * message_delta (whose cumulative counts win); Gemini's
 * streamGenerateContent is read as server-sent events (alt=sse) or as
 * the JSON array it sends otherwise, the last usageMetadata winning;
 * Bedrock ConverseStream is the binary AWS event stream (CRCs checked),
 * usage in its metadata event.  A stream that ends without its usage,
 * or is cut short, is recorded with #LLMCOST_STATUS_ABORTED and the flag
 * #LLMCOST_USAGE_MISSING or #LLMCOST_USAGE_PARTIAL: never silently as
 * zero.  An error the provider reports (an error body or event) is
 * recorded with #LLMCOST_STATUS_ERROR.
 * @{ */

/** Response formats.  Never renumbered; new ones are appended. */
typedef enum llmcost_format {
	LLMCOST_FMT_OPENAI_CHAT = 1,      /**< /v1/chat/completions and
	                                       compatible servers */
	LLMCOST_FMT_OPENAI_RESPONSES = 2, /**< /v1/responses */
	LLMCOST_FMT_ANTHROPIC = 3,        /**< /v1/messages */
	LLMCOST_FMT_GEMINI = 4,           /**< generateContent (Gemini API
	                                       and Vertex) */
	LLMCOST_FMT_BEDROCK_CONVERSE = 5, /**< Converse / ConverseStream */
} llmcost_format;

/** Per-request fees: units a provider bills that are not tokens.
 * Columns: the enum name (LLMCOST_FEE_<NAME>) and its number, never
 * renumbered; the key in reports; a description. */
#define LLMCOST_FEE_MAP(XX)                                                   \
	XX(WEB_SEARCH, 0, "web_search_requests",                              \
	    "server-side web searches the provider ran and bills per "        \
	    "request")

typedef enum llmcost_fee {
#define LLMCOST__FEE_ENUM(name, num, key, doc) LLMCOST_FEE_##name = num,
	LLMCOST_FEE_MAP(LLMCOST__FEE_ENUM)
#undef LLMCOST__FEE_ENUM
#define LLMCOST__FEE_ONE(name, num, key, doc) +1
	/** How many fees this version knows. */
	LLMCOST_FEE_COUNT
	= 0 LLMCOST_FEE_MAP(LLMCOST__FEE_ONE)
#undef LLMCOST__FEE_ONE
} llmcost_fee;

/** Service tiers: the rate class a provider billed the call at.
 * Columns: the enum name (LLMCOST_TIER_<NAME>) and its number, never
 * renumbered; the name used on the wire (record key 15 carries the
 * number), in price files and in reports; a description.  A call that
 * states none is #LLMCOST_TIER_STANDARD. */
#define LLMCOST_SERVICE_TIER_MAP(XX)                                          \
	XX(STANDARD, 0, "standard", "the list price (default)")               \
	XX(BATCH, 1, "batch", "asynchronous batch API, typically 50 % off")   \
	XX(FLEX, 2, "flex", "slower, interruptible processing (OpenAI flex)") \
	XX(PRIORITY, 3, "priority", "faster processing at a premium")

typedef enum llmcost_service_tier {
#define LLMCOST__TIER_ENUM(name, num, key, doc) LLMCOST_TIER_##name = num,
	LLMCOST_SERVICE_TIER_MAP(LLMCOST__TIER_ENUM)
#undef LLMCOST__TIER_ENUM
#define LLMCOST__TIER_ONE(name, num, key, doc) +1
	/** How many service tiers this version knows. */
	LLMCOST_TIER_COUNT
	= 0 LLMCOST_SERVICE_TIER_MAP(LLMCOST__TIER_ONE)
#undef LLMCOST__TIER_ONE
} llmcost_service_tier;

/** Bytes of a platform name (record key 16): "vertex", "bedrock",
 * "azure", or any name a price file uses; lower-case ASCII letters,
 * digits, '-' and '_'. */
#define LLMCOST_MAX_PLATFORM 32

/** Usage flags: what the usage of a call is worth.
 * - LLMCOST_USAGE_MISSING: the provider reported no usage; the counts
 *   are unknown, not zero.
 * - LLMCOST_USAGE_PARTIAL: the stream stopped early; the counts are what
 *   it had reported so far.
 * - LLMCOST_USAGE_FLAGS: every flag this version knows. */
#define LLMCOST_USAGE_MISSING 0x1u
#define LLMCOST_USAGE_PARTIAL 0x2u
#define LLMCOST_USAGE_FLAGS   0x3u

/** Bytes of a provider request id (a longer one is not kept). */
#define LLMCOST_MAX_REQUEST_ID 128
/** The metadata key under which a call keeps its provider request id. */
#define LLMCOST_META_REQUEST_ID "provider_request_id"
/** "The provider reported no cost" (llmcost_response.provider_cost_pusd
 * and llmcost_call_set_provider_cost()). */
#define LLMCOST_COST_NONE INT64_C(-1)

/** What one response said about its own cost. */
typedef struct llmcost_response {
	llmcost_usage usage;               /**< exclusive buckets */
	uint64_t fees[LLMCOST_FEE_COUNT];  /**< per-request fees */
	int64_t provider_cost_pusd;        /**< the provider's own figure in
	                                         pico-USD, or LLMCOST_COST_NONE */
	uint32_t usage_flags;              /**< LLMCOST_USAGE_* */
	llmcost_status status;             /**< how the response ended */
	char model[LLMCOST_MAX_MODEL + 1]; /**< the model that answered,
	                                         e.g. a dated snapshot; "" when
	                                         the body names none */
	char request_id[LLMCOST_MAX_REQUEST_ID + 1]; /**< "" when none */
	llmcost_service_tier service_tier; /**< the tier the response says
	                                         it ran at (OpenAI's
	                                         service_tier: flex,
	                                         priority); standard when it
	                                         says none */
} llmcost_response;

/** @brief Read a complete (non-streamed) response body.
 *
 * @param fmt the body's format.
 * @param body, len the bytes of the body as received; they need not be
 *   NUL-terminated.  A Gemini streamGenerateContent array is accepted as
 *   a body too.
 * @param[out] out filled on every return except #LLMCOST_EINVAL: with
 *   the usage on success, with zero usage and #LLMCOST_USAGE_MISSING on
 *   failure.
 * @return 0 (an error body is read too: status #LLMCOST_STATUS_ERROR);
 *   #LLMCOST_ENOTFOUND (well-formed, but no usage);
 *   #LLMCOST_EPROTO (not this format, malformed or truncated JSON, or
 *   parts that exceed their total); #LLMCOST_ETOOBIG (nesting deeper than
 *   64, a number longer than 64 bytes); #LLMCOST_EINVAL (NULL out, NULL
 *   body with len > 0, unknown format).
 * Cost: one pass over the body: 2 to 4 us for a 2 KB body on a 2-vCPU
 *   Xeon (bench/bench_parse.c), far below any LLM call; no
 *   allocation, no lock, no system call.
 * Ownership: nothing is kept.
 * Thread-safety: reentrant. */
LLMCOST_API int llmcost_response_parse(
    llmcost_format fmt, const void *body, size_t len, llmcost_response *out);

/** @brief Record a parsed response on a call: its usage, fees, provider
 * cost, usage flags and status, its service tier when the response
 * states one other than standard, its model (replacing the one the call
 * was begun with, when the response names one) and its request id
 * (metadata #LLMCOST_META_REQUEST_ID).
 * @return 0; #LLMCOST_EINVAL (NULL or ended call, NULL r);
 *   #LLMCOST_ETOOBIG or #LLMCOST_EUTF8 when the model or request id does
 *   not fit the call or is not UTF-8: everything else is recorded all the
 *   same.
 * Cost: no allocation, no lock, no system call.
 * Ownership: r is copied.
 * Thread-safety: as every llmcost_call_* function (one thread at a time
 *   per call). */
LLMCOST_API int llmcost_call_apply_response(
    llmcost_call *call, const llmcost_response *r);

/** @brief Read a complete response body into a call: llmcost_response_parse()
 * then llmcost_call_apply_response().
 *
 * When the body cannot be read, the call keeps its usage, model and
 * status and is flagged #LLMCOST_USAGE_MISSING, so that a call site that
 * ignores the return still records an honest call.
 * @return as llmcost_response_parse(), then as
 *   llmcost_call_apply_response(); #LLMCOST_EINVAL for a NULL or ended
 *   call.
 * Cost: as llmcost_response_parse().
 * Ownership: body is not kept.
 * Thread-safety: as every llmcost_call_* function. */
LLMCOST_API int llmcost_call_set_usage_from(
    llmcost_call *call, llmcost_format fmt, const void *body, size_t len);

/** Bytes of a stream parser's state. */
#define LLMCOST_STREAM_SIZE 4096

/** A stream parser, in the application's storage (stack, or beside its
 * request state): no allocation, fixed size whatever the stream.  Its
 * contents are private. */
typedef struct llmcost_stream {
	union {
		uint64_t align_;
		void *ptr_;
		unsigned char bytes_[LLMCOST_STREAM_SIZE];
	} opaque_;
} llmcost_stream;

/** @brief Prepare s to read one streamed response of format fmt (Gemini:
 * server-sent events or the JSON array, told apart by the first byte).
 * @return 0 or #LLMCOST_EINVAL (NULL s, unknown format).
 * Cost: clears the state.  Ownership: s is the caller's; nothing to free.
 * Thread-safety: a stream is used by one thread at a time. */
LLMCOST_API int llmcost_stream_init(llmcost_stream *s, llmcost_format fmt);

/** @brief Feed the next bytes of the stream, as received: any piece size,
 * cut anywhere.
 * @return 0; #LLMCOST_EPROTO (malformed framing or JSON, a failed CRC);
 *   #LLMCOST_ETOOBIG (over a hard cap: an event name over 64 bytes,
 *   an event stream message over 16 MiB or with headers over 1 KiB);
 *   #LLMCOST_EINVAL.  After an error, further bytes are ignored and the
 *   same error is returned; what was read before it is kept for
 *   llmcost_stream_finish().
 * Cost: about 1 to 2 us per server-sent event of a typical stream
 *   (bench/bench_parse.c); no allocation, no lock, no system call.
 * Ownership: data is not kept.
 * Thread-safety: one thread at a time per stream. */
LLMCOST_API int llmcost_stream_feed(
    llmcost_stream *s, const void *data, size_t len);

/** @brief The stream ended (or the application stops reading it): work
 * out the usage, and record it on call when call is not NULL (as
 * llmcost_call_apply_response()) and in *out when out is not NULL.
 *
 * A stream that ended before its usage was complete, or was malformed,
 * is recorded with #LLMCOST_STATUS_ABORTED and #LLMCOST_USAGE_MISSING or
 * #LLMCOST_USAGE_PARTIAL, with whatever counts it had reported.
 * @return 0 (complete; an error the provider reported gives status
 *   #LLMCOST_STATUS_ERROR and returns 0 too); #LLMCOST_EINCOMPLETE (cut
 *   short or no usage); the error llmcost_stream_feed() returned; then,
 *   if those are 0, what llmcost_call_apply_response() returns.
 *   #LLMCOST_EINVAL for a NULL or uninitialised s.
 * Cost: works out the buckets, then as llmcost_call_apply_response().
 * Ownership: s may be initialised again for another stream; nothing to
 *   free.
 * Thread-safety: one thread at a time per stream, and per call. */
LLMCOST_API int llmcost_stream_finish(
    llmcost_stream *s, llmcost_call *call, llmcost_response *out);

/** @brief Replace the call's model, e.g. with the dated snapshot the
 * response names ("gpt-4o-mini-2024-07-18"), which pricing then matches.
 * @return 0, #LLMCOST_EINVAL, #LLMCOST_ETOOBIG (over
 *   #LLMCOST_MAX_MODEL, or the call's strings are full), #LLMCOST_EUTF8.
 *   On error the call keeps its model.
 * Cost: no allocation, no lock, no system call.
 * Ownership: model is copied.
 * Thread-safety: as every llmcost_call_* function. */
LLMCOST_API int llmcost_call_set_model(llmcost_call *call, const char *model);

/** @brief Set a per-request fee count (replaces an earlier count).  Sent
 * to the collector with the call (wire key 9), priced where the
 * provider publishes a price (docs/prices.md) and shown in reports.
 * @return 0 or #LLMCOST_EINVAL (unknown fee).
 * Cost: no allocation, no lock, no system call.
 * Ownership: nothing to keep.
 * Thread-safety: as every llmcost_call_* function. */
LLMCOST_API int llmcost_call_set_fee(
    llmcost_call *call, llmcost_fee fee, uint64_t count);

/** @brief Set the cost the provider itself reported, in pico-USD
 * (10^-12 USD), sent beside the cost the collector computes (wire key
 * 10; reports show both); #LLMCOST_COST_NONE clears it.
 * @return 0 or #LLMCOST_EINVAL (negative other than LLMCOST_COST_NONE).
 * Cost: no allocation, no lock, no system call.
 * Ownership: nothing to keep.
 * Thread-safety: as every llmcost_call_* function. */
LLMCOST_API int llmcost_call_set_provider_cost(
    llmcost_call *call, int64_t pusd);

/** @brief Set the call's usage flags (LLMCOST_USAGE_*), replacing the
 * earlier ones.  Sent with the call (wire key 11).
 * @return 0 or #LLMCOST_EINVAL (an unknown bit).
 * Cost: no allocation, no lock, no system call.
 * Ownership: nothing to keep.
 * Thread-safety: as every llmcost_call_* function. */
LLMCOST_API int llmcost_call_set_usage_flags(
    llmcost_call *call, uint32_t flags);

/** @brief Say which service tier the provider billed the call at
 * (#LLMCOST_TIER_BATCH for a batch API call, #LLMCOST_TIER_FLEX,
 * #LLMCOST_TIER_PRIORITY), replacing an earlier one.  Sent with the call
 * (wire key 15) and priced at that tier's rates; a tier the price table
 * has no rates for leaves the call unpriced, never at the standard rate.
 * llmcost_call_apply_response() sets it when the response states it
 * (OpenAI's `service_tier`).
 * @return 0 or #LLMCOST_EINVAL (NULL or ended call, unknown tier).
 * Cost: no allocation, no lock, no system call.
 * Ownership: nothing to keep.
 * Thread-safety: as every llmcost_call_* function. */
LLMCOST_API int llmcost_call_set_service_tier(
    llmcost_call *call, llmcost_service_tier tier);

/** @brief Say which platform served the call when it was not the model
 * maker's own API: "vertex" (Google Cloud Vertex AI), "bedrock" (Amazon
 * Bedrock), "azure" (Azure OpenAI), or another name a price file uses.
 * NULL or "" clears it.  Sent with the call (wire key 16); the collector
 * prices the call from that platform's entries (docs/prices.md).
 * @return 0; #LLMCOST_EINVAL (NULL or ended call, a character other
 *   than a-z, 0-9, '-' or '_'); #LLMCOST_ETOOBIG (over
 *   #LLMCOST_MAX_PLATFORM bytes).  On error the call keeps its platform.
 * Cost: no allocation, no lock, no system call.
 * Ownership: platform is copied.
 * Thread-safety: as every llmcost_call_* function. */
LLMCOST_API int llmcost_call_set_platform(
    llmcost_call *call, const char *platform);

/** @defgroup scope Request scopes (traces)
 * A scope groups the calls made for one user request into a trace, as
 * LangSmith's SDKs do: each scope is a `chain` run, each call made in it
 * an `llm` run under it.  Scopes nest (a sub-scope for each step), and
 * metadata and tags set on a scope are inherited by every call and
 * sub-scope begun in it afterwards (a call's own values win).  Every run
 * carries LangSmith's trace_id (the root scope's run id), parent_run_id
 * and dotted_order, with UUIDv7 ids and microsecond times; the collector
 * stores each call's trace and parent, so cost can be summed per request.
 *
 * The handle is the caller's memory (a local or a field of the
 * request's own state): beginning a scope allocates nothing and takes no
 * lock or system call.  Ending it takes one slot of the call pool for
 * its `chain` run (LLMCOST_EFULL when the pool is empty: the run is
 * dropped and counted), so ended scopes count in calls_ended,
 * calls_acked and queue_depth like calls (scopes_ended says how many).
 * The collector keeps calls only; a scope's run goes to LangSmith.
 *
 * Threading: a scope may be read by any number of threads at once
 * (llmcost_scope_begin with it as parent, llmcost_scope_call_begin,
 * llmcost_scope_run_id) while nobody writes it; set its metadata and tags
 * before sharing it, and end it once, after its sub-scopes and calls have
 * begun (they carry copies of what they inherit).
 * @{ */
#define LLMCOST_MAX_SCOPE_DEPTH 8  /**< scopes nested in one another */
#define LLMCOST_MAX_SCOPE_META  16 /**< metadata entries per scope */
#define LLMCOST_MAX_SCOPE_TAGS  8  /**< tags per scope */
#define LLMCOST_MAX_SCOPE_BYTES                                               \
	512 /**< bytes of a scope's strings (name,
                                         keys, values and tags, each with
                                         one byte more) */
/** A request scope: the caller's storage, opaque. */
typedef struct llmcost_scope {
	uint64_t opaque_[128];
} llmcost_scope;

/** @brief Begin a scope, as a root (parent NULL: a new trace) or inside
 * parent.  Copies the parent's metadata and tags.
 * @param name the run's name in LangSmith, e.g. "handle_request"; 1..64
 *   bytes UTF-8.
 * @return 0; #LLMCOST_EINVAL (NULL client or scope, a parent that is not
 *   open or of another client), #LLMCOST_ETOOBIG (deeper than
 *   #LLMCOST_MAX_SCOPE_DEPTH, a name or the inherited strings over a
 *   cap), #LLMCOST_EUTF8, #LLMCOST_EDISABLED.  On failure *s is not a
 *   scope.
 * Cost: no allocation, lock or system call. */
LLMCOST_API int llmcost_scope_begin(llmcost_client *c,
    const llmcost_scope *parent, const char *name, llmcost_scope *s);
/** @brief Attach metadata to the scope (inherited from now on).  Returns
 * as llmcost_call_set_meta(); also #LLMCOST_ETOOBIG past the scope caps. */
LLMCOST_API int llmcost_scope_set_meta(
    llmcost_scope *s, const char *key, const char *value);
/** @brief Add a tag to the scope (inherited from now on). */
LLMCOST_API int llmcost_scope_add_tag(llmcost_scope *s, const char *tag);
/** @brief llmcost_call_begin() for a call made in scope s: the call
 * inherits the scope's metadata and tags (counted in attr_errors when
 * they do not fit the call) and becomes a child of the scope. */
LLMCOST_API int llmcost_scope_call_begin(const llmcost_scope *s,
    const char *provider, const char *model, llmcost_call **callp);
/** @brief The scope's run id (its LangSmith run id; for a root scope also
 * the trace id) as 36 characters plus NUL into buf (at least 37 bytes).
 * @return 0 or #LLMCOST_EINVAL. */
LLMCOST_API int llmcost_scope_run_id(
    const llmcost_scope *s, char *buf, size_t bufsz);
/** @brief End the scope: queue its `chain` run.  The scope is closed
 * whatever the result.
 * @return 0, #LLMCOST_EINVAL (not open), #LLMCOST_EFULL (no pool slot:
 *   dropped and counted), #LLMCOST_ECLOSED. */
LLMCOST_API int llmcost_scope_end(llmcost_scope *s);
/** @} */

/** @brief The library version, "MAJOR.MINOR.PATCH".  Static. */
LLMCOST_API const char *llmcost_version(void);

#ifdef __cplusplus
}
#endif

#endif /* LLMCOST_H */
