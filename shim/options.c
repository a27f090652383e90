// DESIGN: options are resolved once, in llmcost_init: an explicit field
// beats the LLMCOST_* variable, which beats the built-in default.  Values
// are validated and clamped (as libuv does with UV_THREADPOOL_SIZE) and
// every correction is logged, so a typo in the environment never stops
// the host application.  Nothing here runs on the call path.
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#include "llmcost_proto.h"
#include "shim.h"

#define DEFAULT_QUEUE_MAX      8192u
#define DEFAULT_FLUSH_MS       200
#define DEFAULT_ACK_TIMEOUT_MS 5000
// The largest batch: each message to the collector costs both processes
// a few thread wake-ups (about 30 context switches at 2 to 3 us of CPU
// each on a 2-vCPU guest) whatever it carries, so calls per message set
// much of the CPU per call (bench_ingest; bench/README.md, round 9).
#define DEFAULT_BATCH_MAX   2048u
#define DEFAULT_LS_ENDPOINT "https://api.smith.langchain.com"
#define DEFAULT_LS_PROJECT  "default"
// 4 batches of 2048 calls: the 8192 calls of 8 batches of 1024 before.
#define DEFAULT_LS_BATCHES 4u
#define LS_BATCHES_MAX     16u
#define TEXT_MIN           256u
#define TEXT_MAX           262144u
#define DEFAULT_SPOOL_MAX  ((uint64_t) 64 << 20)
#define SPOOL_MAX_MIN      ((uint64_t) 64 << 10)
#define SPOOL_MAX_MAX      ((uint64_t) 1 << 40)
// A record of the largest call (every cap reached) encodes to under 2 KiB,
// so this many always fit in one message.
#define BATCH_MAX (LLMCOST_PROTO_MAX_MSG / 2048u)

static uint32_t
round_pow2(uint32_t v)
{
	uint32_t p = 1;
	while (p < v) {
		p <<= 1;
	}
	return (p);
}

// Reads an integer variable; returns 1 and *out when set and valid.
static int
env_long(llmcost_client *c, const char *name, long lo, long hi, long *out)
{
	const char *s = getenv(name);
	if (s == NULL || *s == '\0') {
		return (0);
	}
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0') {
		llmcost__log(c, LLMCOST_LOG_WARNING,
		    "%s=%s is not a number; using the default", name, s);
		return (0);
	}
	if (v < lo || v > hi) {
		long clamped = v < lo ? lo : hi;
		llmcost__log(c, LLMCOST_LOG_WARNING,
		    "%s=%ld is outside %ld..%ld; using %ld", name, v, lo, hi,
		    clamped);
		v = clamped;
	}
	*out = v;
	return (1);
}

// An unset or empty LLMCOST_LOG keeps the shim silent; an unknown name
// turns on warnings, so that the typo is seen.
static int
parse_level(const char *s)
{
	if (s == NULL || *s == '\0') {
		return (0);
	}
	int level = llmcost__log_level_parse(s);
	return (level < 0 ? LLMCOST_LOG_WARNING : level);
}

static uint32_t
clamp_u32(
    llmcost_client *c, const char *what, uint32_t v, uint32_t lo, uint32_t hi)
{
	if (v < lo || v > hi) {
		uint32_t n = v < lo ? lo : hi;
		llmcost__log(c, LLMCOST_LOG_WARNING,
		    "%s=%u is outside %u..%u; using %u", what, v, lo, hi, n);
		return (n);
	}
	return (v);
}

// The first non-empty value of the option and the variables names[] (a
// NULL-terminated list, in the SDKs' order of precedence), or NULL.
static const char *
first_set(const char *opt, const char *const *names)
{
	if (opt != NULL && *opt != '\0') {
		return (opt);
	}
	for (size_t i = 0; names[i] != NULL; i++) {
		const char *v = getenv(names[i]);
		if (v != NULL && *v != '\0') {
			return (v);
		}
	}
	return (NULL);
}

// Copies v (or def when v is NULL) into out[outsz].  Returns 0, or -1
// when it does not fit; what is logged names the setting, never the value
// (it may be the API key).
static int
copy_setting(llmcost_client *c, const char *what, const char *v,
    const char *def, char *out, size_t outsz)
{
	if (v == NULL) {
		v = def;
	}
	size_t n = strlen(v);
	if (n >= outsz) {
		llmcost__log(c, LLMCOST_LOG_ERR,
		    "%s is longer than %zu bytes; LangSmith export is off",
		    what, outsz - 1);
		return (-1);
	}
	memcpy(out, v, n + 1);
	return (0);
}

// LangSmith export: on with an API key unless tracing is turned off, with
// the variable names the SDKs read (LANGSMITH_* first, then LANGCHAIN_*).
static void
langsmith_load(
    llmcost__config *cfg, const llmcost_options *o, llmcost_client *c)
{
	static const char *const key_vars[]
	    = { "LANGSMITH_API_KEY", "LANGCHAIN_API_KEY", NULL };
	static const char *const tracing_vars[]
	    = { "LANGSMITH_TRACING", "LANGSMITH_TRACING_V2",
		      "LANGCHAIN_TRACING_V2", "LANGCHAIN_TRACING", NULL };
	static const char *const endpoint_vars[]
	    = { "LANGSMITH_ENDPOINT", "LANGCHAIN_ENDPOINT", NULL };
	static const char *const project_vars[]
	    = { "LANGSMITH_PROJECT", "LANGCHAIN_PROJECT", "LANGCHAIN_SESSION",
		      NULL }; // the last: the JS SDK's legacy name
	static const char *const workspace_vars[]
	    = { "LANGSMITH_WORKSPACE_ID", "LANGCHAIN_WORKSPACE_ID", NULL };
	long v;

	cfg->ls_on = 0;
	const char *key = first_set(o->langsmith_api_key, key_vars);
	if (key == NULL || o->langsmith_tracing < 0) {
		return;
	}
	if (o->langsmith_tracing == 0) {
		const char *t = first_set(NULL, tracing_vars);
		if (t != NULL
		    && (strcasecmp(t, "false") == 0 || strcmp(t, "0") == 0)) {
			return;
		}
	}
	if (copy_setting(c, "the LangSmith API key", key, NULL, cfg->ls_key,
	        sizeof(cfg->ls_key))
	        != 0
	    || copy_setting(c, "the LangSmith endpoint",
	           first_set(o->langsmith_endpoint, endpoint_vars),
	           DEFAULT_LS_ENDPOINT, cfg->ls_endpoint,
	           sizeof(cfg->ls_endpoint))
	        != 0
	    || copy_setting(c, "the LangSmith project",
	           first_set(o->langsmith_project, project_vars),
	           DEFAULT_LS_PROJECT, cfg->ls_project,
	           sizeof(cfg->ls_project))
	        != 0
	    || copy_setting(c, "the LangSmith workspace id",
	           first_set(o->langsmith_workspace_id, workspace_vars), "",
	           cfg->ls_workspace, sizeof(cfg->ls_workspace))
	        != 0) {
		return;
	}
	// Trailing slashes go: paths are appended with one.
	size_t n = strlen(cfg->ls_endpoint);
	while (n > 0 && cfg->ls_endpoint[n - 1] == '/') {
		cfg->ls_endpoint[--n] = '\0';
	}
	cfg->ls_queue_batches = o->langsmith_queue_batches;
	if (cfg->ls_queue_batches == 0) {
		cfg->ls_queue_batches
		    = env_long(c, "LLMCOST_LANGSMITH_QUEUE_BATCHES", 1,
		          LS_BATCHES_MAX, &v)
		    ? (uint32_t) v
		    : DEFAULT_LS_BATCHES;
	}
	cfg->ls_queue_batches = clamp_u32(c, "langsmith_queue_batches",
	    cfg->ls_queue_batches, 1, LS_BATCHES_MAX);
	cfg->ls_gzip = o->langsmith_gzip < 0 ? -1 : o->langsmith_gzip > 0;
	const char *nz = getenv("LANGSMITH_DISABLE_RUN_COMPRESSION");
	if (cfg->ls_gzip == 0 && nz != NULL
	    && (strcasecmp(nz, "true") == 0 || strcmp(nz, "1") == 0)) {
		cfg->ls_gzip = -1;
	}
	cfg->ls_on = 1;
}

// A byte count with an optional K, M or G suffix (powers of 1024).
// Returns 0 and *out, or -1.
static int
parse_bytes(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || s[0] == '-') {
		return (-1);
	}
	unsigned shift = 0;
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	default:
		return (-1);
	}
	if (*end != '\0' && end[1] != '\0') {
		return (-1);
	}
	if (v > (UINT64_MAX >> shift)) {
		return (-1);
	}
	*out = (uint64_t) v << shift;
	return (0);
}

// The spool: a path (file or directory), the default directory, or off.
static void
spool_load(llmcost__config *cfg, const llmcost_options *o, llmcost_client *c)
{
	const char *p = o->spool_path;
	char def[LLMCOST__PATH_MAX];

	if (p == NULL || *p == '\0') {
		p = getenv("LLMCOST_SPOOL");
	}
	if (p == NULL || *p == '\0' || strcmp(p, "0") == 0
	    || strcasecmp(p, "off") == 0 || strcasecmp(p, "no") == 0
	    || strcasecmp(p, "false") == 0) {
		return;
	}
	if (strcmp(p, "1") == 0 || strcasecmp(p, "on") == 0
	    || strcasecmp(p, "yes") == 0 || strcasecmp(p, "true") == 0) {
		if (llmcost__default_dir(def, sizeof(def) - 16) != 0) {
			llmcost__log(c, LLMCOST_LOG_ERR,
			    "LLMCOST_SPOOL=%s needs XDG_STATE_HOME or HOME; "
			    "no spool",
			    p);
			return;
		}
		strcat(def, "/spool/");
		p = def;
	}
	if (strlen(p) >= sizeof(cfg->spool_path) - 64) {
		llmcost__log(c, LLMCOST_LOG_ERR,
		    "the spool path is too long; no spool");
		return;
	}
	memcpy(cfg->spool_path, p, strlen(p) + 1);
	cfg->spool_max = o->spool_max_bytes;
	const char *m = getenv("LLMCOST_SPOOL_MAX");
	if (cfg->spool_max == 0 && m != NULL && *m != '\0'
	    && parse_bytes(m, &cfg->spool_max) != 0) {
		llmcost__log(c, LLMCOST_LOG_WARNING,
		    "LLMCOST_SPOOL_MAX=%s is not a byte count; using the "
		    "default",
		    m);
		cfg->spool_max = 0;
	}
	if (cfg->spool_max == 0) {
		cfg->spool_max = DEFAULT_SPOOL_MAX;
	}
	if (cfg->spool_max < SPOOL_MAX_MIN || cfg->spool_max > SPOOL_MAX_MAX) {
		uint64_t n = cfg->spool_max < SPOOL_MAX_MIN ? SPOOL_MAX_MIN
		                                            : SPOOL_MAX_MAX;
		llmcost__log(c, LLMCOST_LOG_WARNING,
		    "spool_max_bytes=%llu is outside %llu..%llu; using %llu",
		    (unsigned long long) cfg->spool_max,
		    (unsigned long long) SPOOL_MAX_MIN,
		    (unsigned long long) SPOOL_MAX_MAX,
		    (unsigned long long) n);
		cfg->spool_max = n;
	}
}

// Checks the host:port part of a tcp URL.  Returns NULL or what is wrong.
static const char *
tcp_check(const char *hp, int family)
{
	const char *colon;
	size_t hlen;

	if (hp[0] == '[') {
		const char *close = strchr(hp, ']');
		if (close == NULL || close[1] != ':') {
			return (
			    "an IPv6 address must be written [address]:port");
		}
		char addr[INET6_ADDRSTRLEN];
		struct in6_addr a6;
		hlen = (size_t) (close - hp - 1);
		if (hlen == 0 || hlen >= sizeof(addr)) {
			return ("the IPv6 address is empty or too long");
		}
		memcpy(addr, hp + 1, hlen);
		addr[hlen] = '\0';
		if (family == 4 || inet_pton(AF_INET6, addr, &a6) != 1) {
			return ("not a valid IPv6 address");
		}
		colon = close + 1;
	} else {
		if ((colon = strrchr(hp, ':')) == NULL) {
			return ("no port (want tcp://host:port)");
		}
		hlen = (size_t) (colon - hp);
		if (hlen == 0) {
			return ("empty host (want tcp://host:port)");
		}
		if (memchr(hp, ':', hlen) != NULL) {
			return (
			    "an IPv6 address must be written [address]:port");
		}
		// A host made of digits and dots is an IPv4 address and must
		// be a valid one (256.1.1.1 is not).
		if (strspn(hp, "0123456789.") >= hlen) {
			char addr[INET_ADDRSTRLEN];
			struct in_addr a4;
			if (hlen >= sizeof(addr)) {
				return ("not a valid IPv4 address");
			}
			memcpy(addr, hp, hlen);
			addr[hlen] = '\0';
			if (family == 6
			    || inet_pton(AF_INET, addr, &a4) != 1) {
				return ("not a valid IPv4 address");
			}
		} else if (strspn(hp,
		               "abcdefghijklmnopqrstuvwxyz"
		               "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")
		    < hlen) {
			return ("the host name has characters a host name "
			        "cannot have");
		}
	}
	const char *port = colon + 1;
	char *end;
	if (*port == '\0' || strspn(port, "0123456789") != strlen(port)) {
		return ("the port is not a number");
	}
	errno = 0;
	unsigned long v = strtoul(port, &end, 10);
	if (errno != 0 || v < 1 || v > 65535) {
		return ("the port is outside 1..65535");
	}
	return (NULL);
}

const char *
llmcost__url_check(const char *url)
{
	struct sockaddr_un sun;

	if (strncmp(url, "ipc://", 6) == 0) {
		const char *path = url + 6;
		if (*path == '\0') {
			return ("empty socket path (want ipc:///path)");
		}
		if (strlen(path) >= sizeof(sun.sun_path)) {
			return ("the socket path is longer than a Unix socket "
			        "path may be (107 bytes)");
		}
		return (NULL);
	}
	if (strncmp(url, "tcp://", 6) == 0) {
		return (tcp_check(url + 6, 0));
	}
	if (strncmp(url, "tcp4://", 7) == 0) {
		return (tcp_check(url + 7, 4));
	}
	if (strncmp(url, "tcp6://", 7) == 0) {
		return (tcp_check(url + 7, 6));
	}
	return ("unknown scheme (want ipc:// or tcp://)");
}

void
llmcost__config_load(
    llmcost__config *cfg, const llmcost_options *o, llmcost_client *c)
{
	static const llmcost_options none;
	long v;

	if (o == NULL) {
		o = &none;
	}
	memset(cfg, 0, sizeof(*cfg));
	cfg->log_level = parse_level(getenv("LLMCOST_LOG"));
	if (cfg->log_level > 0) {
		c->log_fn = llmcost__stderr_logger;
		c->log_arg = cfg;
	}

	cfg->flags = o->flags;
	const char *dis = getenv("LLMCOST_DISABLE");
	if (dis != NULL && dis[0] != '\0' && strcmp(dis, "0") != 0) {
		cfg->flags |= LLMCOST_F_DISABLE;
	}
	const char *pre = getenv("LLMCOST_PREFAULT");
	if (pre != NULL && pre[0] != '\0' && strcmp(pre, "0") != 0) {
		cfg->flags |= LLMCOST_F_PREFAULT;
	}

	const char *url = o->collector_url;
	if (url == NULL || *url == '\0') {
		url = getenv("LLMCOST_COLLECTOR_URL");
	}
	if (url != NULL && *url != '\0') {
		const char *why = NULL;
		if (strlen(url) >= sizeof(cfg->url)) {
			llmcost__log(c, LLMCOST_LOG_ERR,
			    "collector URL longer than %zu bytes",
			    sizeof(cfg->url) - 1);
			cfg->url_bad = 1;
		} else if ((why = llmcost__url_check(url)) != NULL) {
			llmcost__log(c, LLMCOST_LOG_ERR,
			    "collector URL %s: %s", url, why);
			cfg->url_bad = 1;
		} else {
			memcpy(cfg->url, url, strlen(url) + 1);
		}
	} else if (llmcost__default_url(cfg->url, sizeof(cfg->url)) != 0) {
		cfg->url[0] = '\0';
	}

	cfg->queue_max = o->queue_max;
	if (cfg->queue_max == 0) {
		cfg->queue_max
		    = env_long(c, "LLMCOST_QUEUE_MAX", 64, 1 << 20, &v)
		    ? (uint32_t) v
		    : DEFAULT_QUEUE_MAX;
	}
	cfg->queue_max = round_pow2(
	    clamp_u32(c, "queue_max", cfg->queue_max, 64, 1u << 20));

	cfg->flush_ms = o->flush_ms;
	if (cfg->flush_ms <= 0) {
		cfg->flush_ms = env_long(c, "LLMCOST_FLUSH_MS", 1, 60000, &v)
		    ? (int32_t) v
		    : DEFAULT_FLUSH_MS;
	}
	cfg->flush_ms = (int32_t) clamp_u32(
	    c, "flush_ms", (uint32_t) cfg->flush_ms, 1, 60000);

	cfg->ack_timeout_ms = o->ack_timeout_ms;
	if (cfg->ack_timeout_ms <= 0) {
		cfg->ack_timeout_ms
		    = env_long(c, "LLMCOST_ACK_TIMEOUT_MS", 50, 600000, &v)
		    ? (int32_t) v
		    : DEFAULT_ACK_TIMEOUT_MS;
	}
	cfg->ack_timeout_ms = (int32_t) clamp_u32(
	    c, "ack_timeout_ms", (uint32_t) cfg->ack_timeout_ms, 50, 600000);

	cfg->batch_max = o->batch_max;
	if (cfg->batch_max == 0) {
		cfg->batch_max
		    = env_long(c, "LLMCOST_BATCH_MAX", 1, BATCH_MAX, &v)
		    ? (uint32_t) v
		    : DEFAULT_BATCH_MAX;
	}
	cfg->batch_max
	    = clamp_u32(c, "batch_max", cfg->batch_max, 1, BATCH_MAX);
	cfg->budget_poll_ms
	    = env_long(c, "LLMCOST_BUDGET_POLL_MS", 50, 60000, &v)
	    ? (uint32_t) v
	    : 1000;
	langsmith_load(cfg, o, c);
	spool_load(cfg, o, c);

	cfg->text_max = o->text_max_bytes;
	if (cfg->text_max == 0) {
		cfg->text_max
		    = env_long(c, "LLMCOST_TEXT_MAX", 0, TEXT_MAX, &v)
		    ? (uint32_t) v
		    : 0;
	}
	if (cfg->text_max != 0) {
		cfg->text_max = clamp_u32(
		    c, "text_max_bytes", cfg->text_max, TEXT_MIN, TEXT_MAX);
	}
}
