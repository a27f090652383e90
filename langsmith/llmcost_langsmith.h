// LangSmith wire format, parsed once: the multipart framing of
// POST /runs/multipart, the JSON bodies of POST /runs/batch, POST /runs and
// PATCH /runs/{id}, the run schema with its ids and dotted_order, and the
// token usage a run carries.  Written for every llmcost part that receives
// LangSmith SDK traffic (the LangSmith stand-in in tests/langsmith/ today,
// the collector's LangSmith-compatible ingest later) and for those that
// read LangSmith's answers back (cost fields as numbers or decimal
// strings).
//
// What is accepted is what LangSmith documents and what its official SDKs
// send (the reference is the project's LangSmith API notes, sections 1.2,
// 1.4, 1.5 and 2; the requests of the JS SDK 0.10.5 are replayed byte for
// byte by tests/langsmith/):
//
// - Multipart framing: a multipart/form-data body with a boundary of 1 to
//   70 characters; every part carries Content-Disposition form-data with a
//   name, a Content-Type, and its size, either as a Content-Length header
//   (Python and Go SDKs) or as a length= parameter of the Content-Type
//   (JS SDK: "application/json; length=351"); when both are given they
//   must agree.  The size is trusted for framing and then checked: the
//   part's bytes must be followed by CRLF and the next delimiter.  Lines
//   end in CRLF; a preamble and an epilogue are allowed and ignored;
//   header folding and Content-Encoding on a part are refused.
// - Part names: post.<id>, patch.<id> (the run JSON), post.<id>.<field>
//   and patch.<id>.<field> with field one of inputs, outputs, events,
//   error, extra, serialized (out-of-band JSON, which replaces the same
//   field in the run JSON), feedback.<id> and attachment.<id>.<filename>
//   (counted, not interpreted).  A field part needs its run's main part in
//   the same body; a name appears once.
// - Runs: id is a UUID; a create (post) needs name, run_type (tool, chain,
//   llm, retriever, embedding, prompt, parser) and start_time; in batch
//   and multipart bodies every create and update needs trace_id and
//   dotted_order (the SDKs refuse to send without them), which POST /runs
//   and PATCH /runs/{id} may omit.  Times are RFC 3339 strings
//   ("2026-11-26T11:55:52.336001Z", any fraction, Z or an offset, or none
//   meaning UTC) or epoch milliseconds as a JSON number (the JS SDK's
//   end_time).  end_time may precede start_time: the JS SDK rounds
//   end_time to the millisecond and does send such runs.
// - dotted_order: segments joined by '.', each YYYYMMDDTHHMMSSffffffZ (six
//   digits of microseconds, a valid UTC date and time) followed by a
//   36-character UUID.  Its last UUID is the run's id, its first the
//   trace_id, its second-to-last the parent_run_id (a one-segment order has
//   no parent, and its trace_id is the id), and segment times never go
//   backwards (LangSmith: "timestamp ordering violations").
// - Usage: usage_metadata from outputs, else from extra.metadata (the JS
//   SDK reads outputs first): input/output/total tokens (non-negative
//   integers), input_token_details and output_token_details ({key:int}),
//   and client-supplied costs input_cost, output_cost, total_cost (numbers
//   or decimal strings, USD).
//
// Rejections carry the HTTP status LangSmith answers and a reason that
// names the part, the run and the field: 400 for framing, JSON syntax and
// dotted_order errors (LangSmith: "invalid 'dotted_order': ..."), 413 for a
// body over a size cap, 422 for a run that breaks the schema.  Nothing is
// ever truncated silently, and no input can crash the parser: it is
// fuzzed (langsmith/fuzz/).
//
// Memory: every size has a cap (LLMCOST_LS_* below and llmcost_ls_limits).
// JSON is scanned without allocating before jansson builds a tree, so the
// tree of one request is bounded by its value count (json_values_max, about
// 200 bytes per value at worst) on top of the body itself.
//
// Ownership: a batch owns its run objects (jansson trees) until
// llmcost_ls_batch_free(); the const char * members of llmcost_ls_run point
// into those trees.  Spans point into the caller's body.
//
// Threading: every function is reentrant; a batch is used by one thread at
// a time.
#ifndef LLMCOST_LANGSMITH_H
#define LLMCOST_LANGSMITH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "llmcost.h"

// Hard caps that are part of the format (not configurable).
#define LLMCOST_LS_BOUNDARY_MAX     70   // RFC 2046
#define LLMCOST_LS_HEADER_LINE_MAX  1024 // bytes in one part header line
#define LLMCOST_LS_PART_HEADERS_MAX 16   // header lines in one part
#define LLMCOST_LS_PART_NAME_MAX    256  // bytes in a part name
#define LLMCOST_LS_JSON_DEPTH_MAX   256  // nesting of JSON arrays/objects
#define LLMCOST_LS_DOTTED_DEPTH_MAX 256  // segments in a dotted_order
#define LLMCOST_LS_STR_MAX          4096 // name, session_name, run_type
#define LLMCOST_LS_TAGS_MAX         256  // tags on one run
#define LLMCOST_LS_DETAILS_MAX      16   // keys in one *_token_details
#define LLMCOST_LS_DETAIL_KEY_MAX   48   // bytes of a detail key, with NUL

// One segment: 22 characters of time and a 36-character UUID.
#define LLMCOST_LS_SEGMENT_LEN 58

// Configurable caps; a zero field takes the default.
typedef struct llmcost_ls_limits {
	size_t body_max;        // bytes of one body (default 20 MiB + 1 MiB)
	size_t parts_max;       // parts in one multipart body (default 4096)
	size_t ops_max;         // creates + updates in one body (default 1000)
	size_t json_values_max; // JSON values in one body (default 200,000)
} llmcost_ls_limits;

#define LLMCOST_LS_BODY_MAX_DEFAULT        ((size_t) 21 << 20)
#define LLMCOST_LS_PARTS_MAX_DEFAULT       4096
#define LLMCOST_LS_OPS_MAX_DEFAULT         1000
#define LLMCOST_LS_JSON_VALUES_MAX_DEFAULT 200000

// Why a body was refused: the HTTP status LangSmith answers (400, 413 or
// 422) and a one-line reason (NUL-terminated, never empty on failure).
typedef struct llmcost_ls_error {
	int status;
	char msg[256];
} llmcost_ls_error;

// Write status and a formatted reason into err (when not NULL; an empty
// reason becomes "invalid request"); returns code, so that a failure is
// one statement: return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO, ...)).
// Shared by the parsers here and by servers that answer in their words.
int llmcost_ls_fail(llmcost_ls_error *err, int status, int code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

// Bytes inside a caller's buffer; not NUL-terminated.
typedef struct llmcost_ls_span {
	const char *ptr;
	size_t len;
} llmcost_ls_span;

// ---- Multipart framing ----

typedef struct llmcost_ls_part {
	llmcost_ls_span name;         // Content-Disposition name
	llmcost_ls_span filename;     // Content-Disposition filename, or empty
	llmcost_ls_span content_type; // media type, parameters stripped
	llmcost_ls_span data;         // the part's bytes
} llmcost_ls_part;

// The boundary of a "multipart/form-data; boundary=..." Content-Type
// (token or quoted string).  Returns 0 and *boundary (pointing into
// content_type), or LLMCOST_EPROTO with err (status 400) when the type is
// not multipart/form-data or the boundary is missing or malformed.
int llmcost_ls_multipart_boundary(const char *content_type, size_t len,
    llmcost_ls_span *boundary, llmcost_ls_error *err);

// Split body into parts.  parts has room for cap parts; *n receives how
// many were found.  Returns 0; LLMCOST_EPROTO (status 400: framing);
// LLMCOST_ETOOBIG (status 413: more than cap parts or lim->body_max
// bytes); LLMCOST_EINVAL (a NULL argument).  lim may be NULL (defaults).
int llmcost_ls_multipart_parse(const uint8_t *body, size_t len,
    llmcost_ls_span boundary, const llmcost_ls_limits *lim,
    llmcost_ls_part *parts, size_t cap, size_t *n, llmcost_ls_error *err);

// ---- JSON gate ----

// Scan one JSON text without allocating: counts its values (object keys
// included) and its nesting.  Returns 0 and *values; LLMCOST_EPROTO
// (status 400) when it is not a single JSON value or nests deeper than
// LLMCOST_LS_JSON_DEPTH_MAX; LLMCOST_ETOOBIG (status 413) when it holds more
// than max_values values.  A text it accepts may still be refused by the
// full parser (bad escapes, bad UTF-8, bad numbers): it is a gate that
// bounds memory, not a validator.
int llmcost_ls_json_scan(const char *s, size_t len, size_t max_values,
    size_t *values, llmcost_ls_error *err);

// ---- Times, ids, dotted_order ----

// A time as LangSmith accepts it: an RFC 3339 string or epoch
// milliseconds (a JSON number), to microseconds since the Unix epoch,
// years 1970 to 9999.  Returns 0 or LLMCOST_EINVAL.
int llmcost_ls_time_parse(const json_t *v, int64_t *us);
int llmcost_ls_time_parse_str(const char *s, size_t len, int64_t *us);

// Format microseconds since the epoch as "2026-11-26T11:55:52.336001"
// (how LangSmith's read API prints times: no zone, UTC), with a trailing
// "Z" when z is non-zero.  out has room for 28 bytes.
#define LLMCOST_LS_TIME_STR_LEN 28
void llmcost_ls_time_format(int64_t us, int z, char out[28]);

typedef struct llmcost_ls_dotted {
	uint32_t depth;        // number of segments, >= 1
	uint8_t first_id[16];  // the trace's root: trace_id
	uint8_t last_id[16];   // this run: id
	uint8_t parent_id[16]; // the second-to-last id, when depth >= 2
	int64_t first_us;      // time of the first segment
	int64_t last_us;       // time of the last segment (the run's start)
} llmcost_ls_dotted;

// Parse and check a dotted_order (grammar and time order, see above).
// Returns 0 and *out, or LLMCOST_EPROTO with err (status 400).
int llmcost_ls_dotted_parse(
    const char *s, size_t len, llmcost_ls_dotted *out, llmcost_ls_error *err);

// Write one segment, YYYYMMDDTHHMMSSffffffZ<uuid>, for a run starting at
// start_us, into out (LLMCOST_LS_SEGMENT_LEN + 1 bytes, NUL-terminated).
void llmcost_ls_dotted_segment(int64_t start_us, const uint8_t id[16],
    char out[LLMCOST_LS_SEGMENT_LEN + 1]);

// ---- Money ----

// A decimal string ("0.014775", "-1", or "1.5E-7" as a Python Decimal
// prints small values) as an integer with scale fractional digits (scale
// 12: pico-USD from USD; scale 6: pico-USD per token from USD per 1M
// tokens).  Digits beyond the
// scale are rounded half away from zero.  Returns 0, LLMCOST_EINVAL (not a
// decimal) or LLMCOST_ETOOBIG (out of int64 range).
int llmcost_ls_decimal_parse(
    const char *s, size_t len, unsigned scale, int64_t *out);

// A cost field as LangSmith serves it: a JSON number, a decimal string,
// null or absent (v == NULL).  Returns 0 and *pico with *present = 1; 0
// with *present = 0 for null or absent; LLMCOST_EINVAL or LLMCOST_ETOOBIG
// otherwise.
int llmcost_ls_cost_parse(const json_t *v, int64_t *pico, int *present);

// Format pico-USD as a decimal string of USD with no trailing zeros
// ("0.014775", "-3", "0"); out has room for 32 bytes.
void llmcost_ls_pico_format(int64_t pico, char out[32]);

// ---- Runs ----

typedef enum llmcost_ls_run_type {
	LLMCOST_LS_RT_NONE = 0,
	LLMCOST_LS_RT_TOOL,
	LLMCOST_LS_RT_CHAIN,
	LLMCOST_LS_RT_LLM,
	LLMCOST_LS_RT_RETRIEVER,
	LLMCOST_LS_RT_EMBEDDING,
	LLMCOST_LS_RT_PROMPT,
	LLMCOST_LS_RT_PARSER,
	LLMCOST_LS_RT_COUNT
} llmcost_ls_run_type;

// The lowercase name of a run type ("llm"), or NULL for NONE or out of
// range; the type for a name (case-sensitive), or NONE.
const char *llmcost_ls_run_type_name(int rt);
llmcost_ls_run_type llmcost_ls_run_type_parse(const char *s);

typedef struct llmcost_ls_detail {
	char key[LLMCOST_LS_DETAIL_KEY_MAX];
	int64_t n;
} llmcost_ls_detail;

// Where a run's usage_metadata was found.
enum llmcost_ls_usage_src {
	LLMCOST_LS_USAGE_NONE = 0,
	LLMCOST_LS_USAGE_OUTPUTS = 1,  // outputs.usage_metadata
	LLMCOST_LS_USAGE_METADATA = 2, // extra.metadata.usage_metadata
};

// Bits of llmcost_ls_usage.has.
#define LLMCOST_LS_U_INPUT       0x01u // input_tokens given
#define LLMCOST_LS_U_OUTPUT      0x02u
#define LLMCOST_LS_U_TOTAL       0x04u
#define LLMCOST_LS_U_INPUT_COST  0x08u // client-supplied costs
#define LLMCOST_LS_U_OUTPUT_COST 0x10u
#define LLMCOST_LS_U_TOTAL_COST  0x20u

typedef struct llmcost_ls_usage {
	int src; // enum llmcost_ls_usage_src
	unsigned has;
	int64_t input_tokens;
	int64_t output_tokens;
	int64_t total_tokens; // as given, else input + output
	uint32_t n_input_details;
	uint32_t n_output_details;
	llmcost_ls_detail input_details[LLMCOST_LS_DETAILS_MAX];
	llmcost_ls_detail output_details[LLMCOST_LS_DETAILS_MAX];
	int64_t input_cost;  // pico-USD, client-supplied
	int64_t output_cost; // pico-USD
	int64_t total_cost;  // pico-USD
} llmcost_ls_usage;

// Read the usage of a run object (outputs.usage_metadata first, then
// extra.metadata.usage_metadata).  Returns 0 with out->src NONE when there
// is none; LLMCOST_EINVAL with err (status 422) when it is malformed.
int llmcost_ls_usage_extract(
    const json_t *run, llmcost_ls_usage *out, llmcost_ls_error *err);

// Parse one usage_metadata object (exposed for callers that hold one).
int llmcost_ls_usage_parse(
    const json_t *um, llmcost_ls_usage *out, llmcost_ls_error *err);

typedef enum llmcost_ls_op_kind {
	LLMCOST_LS_POST = 1,  // create
	LLMCOST_LS_PATCH = 2, // update
} llmcost_ls_op_kind;

// Bits of llmcost_ls_run.has: which fields the run object carries.
#define LLMCOST_LS_H_TRACE      0x0001u
#define LLMCOST_LS_H_PARENT     0x0002u
#define LLMCOST_LS_H_DOTTED     0x0004u
#define LLMCOST_LS_H_NAME       0x0008u
#define LLMCOST_LS_H_RUN_TYPE   0x0010u
#define LLMCOST_LS_H_START      0x0020u
#define LLMCOST_LS_H_END        0x0040u
#define LLMCOST_LS_H_ERROR      0x0080u
#define LLMCOST_LS_H_SESSION    0x0100u // session_name
#define LLMCOST_LS_H_SESSION_ID 0x0200u
#define LLMCOST_LS_H_OUTPUTS    0x0400u

// The checked, typed view of one run object.  Strings point into the run
// object and live as long as it does.
typedef struct llmcost_ls_run {
	unsigned has;
	uint8_t id[16];
	uint8_t trace_id[16];
	uint8_t parent_run_id[16];
	uint8_t session_id[16];
	llmcost_ls_run_type run_type;
	int64_t start_us;
	int64_t end_us;
	const char *name;
	const char *session_name;
	const char *dotted_order;
	const char *error;
	const char *status;        // "success", "error", ... or NULL
	const char *ls_provider;   // extra.metadata.ls_provider, or NULL
	const char *ls_model_name; // extra.metadata.ls_model_name (or the
	                           // invocation_params fallbacks), or NULL
	llmcost_ls_dotted dotted;  // valid when has & LLMCOST_LS_H_DOTTED
	llmcost_ls_usage usage;
} llmcost_ls_run;

// Flags for checking runs:
// - LLMCOST_LS_F_TRACE_OPTIONAL: trace_id and dotted_order may be omitted
//   (POST /runs, PATCH /runs/{id});
// - LLMCOST_LS_F_STRICT_START: start_time must equal the time of the
//   dotted_order's last segment (the SDKs keep them equal; LangSmith does
//   not insist, so this is off unless a test asks for it).
#define LLMCOST_LS_F_TRACE_OPTIONAL 0x1u
#define LLMCOST_LS_F_STRICT_START   0x2u

// Check one run object for an operation and fill *out.  Returns 0;
// LLMCOST_EINVAL (422) or LLMCOST_EPROTO (400, dotted_order) with err.
int llmcost_ls_run_check(const json_t *run, llmcost_ls_op_kind kind,
    unsigned flags, llmcost_ls_run *out, llmcost_ls_error *err);

typedef struct llmcost_ls_op {
	llmcost_ls_op_kind kind;
	json_t *run; // the merged run object, owned by the batch
	llmcost_ls_run info;
} llmcost_ls_op;

typedef struct llmcost_ls_batch {
	llmcost_ls_op *ops;
	size_t n_ops;
	size_t n_feedback;    // feedback.<id> parts (not interpreted)
	size_t n_attachments; // attachment.<id>.<name> parts
	uint64_t attachment_bytes;
} llmcost_ls_batch;

// The body of POST /runs/multipart with its Content-Type header.
// Returns 0 and *out (free it with llmcost_ls_batch_free); on failure *out
// is empty and err says why (LLMCOST_EPROTO 400, LLMCOST_ETOOBIG 413,
// LLMCOST_EINVAL 422, LLMCOST_ENOMEM 500).  Every run is checked: a body is
// taken whole or refused whole.
int llmcost_ls_batch_from_multipart(const char *content_type,
    const uint8_t *body, size_t len, const llmcost_ls_limits *lim,
    unsigned flags, llmcost_ls_batch *out, llmcost_ls_error *err);

// The body of POST /runs/batch: {"post": [run...], "patch": [run...]}.
int llmcost_ls_batch_from_json(const uint8_t *body, size_t len,
    const llmcost_ls_limits *lim, unsigned flags, llmcost_ls_batch *out,
    llmcost_ls_error *err);

// The body of POST /runs (kind POST, path_id NULL) or of
// PATCH /runs/{path_id} (kind PATCH: the id comes from the path, and an id
// in the body must agree): a batch of one.
int llmcost_ls_batch_from_run(const uint8_t *body, size_t len,
    llmcost_ls_op_kind kind, const char *path_id, const llmcost_ls_limits *lim,
    unsigned flags, llmcost_ls_batch *out, llmcost_ls_error *err);

// Free a batch's runs and array; the batch is left empty.  NULL is fine.
void llmcost_ls_batch_free(llmcost_ls_batch *b);

#endif // LLMCOST_LANGSMITH_H
