// DESIGN: a local stand-in for the LLM providers, for the end-to-end
// tests and the demo: a plain HTTP/1.1 server on 127.0.0.1 (port 0 by
// default: the kernel picks one, printed on the first line of stdout)
// that answers each provider's API with the realistic bodies of
// providers/tests/data, streamed or not, as the real services send them:
// server-sent events and Bedrock's binary event stream in chunked
// transfer encoding, written in small uneven pieces so that the client
// sees chunk boundaries inside "data:" lines and UTF-8 sequences.  It
// checks what a real service would (a key, a JSON body, the path) and
// answers OpenAI's streamed requests without stream_options.include_usage
// the way OpenAI does: with no usage at all.  Two model names script
// failures: "standin-error" gets a 429 with the provider's error body,
// "standin-cut" a stream cut off in the middle.  Two more pick other
// bodies of the same API: "standin-web-search" one with server-side web
// searches (Anthropic, Responses API), "standin-openrouter" OpenRouter's
// chat body with its own cost.
//
// With --count, the routes answer with usage of each request's own,
// worked out from its body (counted.c: prompt size, output cap, cache
// and reasoning options), instead of the golden bodies' numbers; with
// --log FILE, every response that carried its usage in full appends a
// line "served MODEL input_uncached=N ... output_reasoning=N" (the
// exclusive buckets of llmcost.h, as the response defines them) for the
// tests to compare with what was stored.  One request per
// connection (Connection: close), one connection at a time: the clients
// it serves make their calls one after another.
//
// Routes (POST):
//   /v1/chat/completions                      OpenAI chat (and compatible)
//   /v1/responses                             OpenAI Responses API
//   /v1/messages                              Anthropic Messages
//   /v1beta/models/M:generateContent          Gemini
//   /v1beta/models/M:streamGenerateContent    (alt=sse: SSE, else array)
//   /model/M/converse, /model/M/converse-stream   Bedrock
//
// Usage: llmcost-provider-standin [--data DIR] [--port N] [--count]
//                                 [--log FILE]
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "counted.h"
#include "evs_encode.h"

#define HEAD_MAX (16u << 10)
#define BODY_MAX (1u << 20)
#define FILE_MAX (1u << 20)

static const char *data_dir = LLMCOST_STANDIN_DATA;
static int count_mode;   // --count
static FILE *served_log; // --log, or NULL

static int
write_all(int fd, const void *p, size_t n)
{
	const char *b = p;
	while (n > 0) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w <= 0) {
			return (-1);
		}
		b += w;
		n -= (size_t) w;
	}
	return (0);
}

static char *
load(const char *name, size_t *lenp)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", data_dir, name);
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		return (NULL);
	}
	char *buf = malloc(FILE_MAX + 1);
	size_t n = buf != NULL ? fread(buf, 1, FILE_MAX, f) : 0;
	fclose(f);
	if (buf == NULL) {
		return (NULL);
	}
	buf[n] = '\0';
	*lenp = n;
	return (buf);
}

static void
reply(int fd, int code, const char *reason, const char *type, const char *body,
    size_t len)
{
	char head[512];
	int n = snprintf(head, sizeof(head),
	    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	    "x-request-id: req_standin_%d\r\nConnection: close\r\n\r\n",
	    code, reason, type, len, getpid());
	if (write_all(fd, head, (size_t) n) == 0) {
		(void) write_all(fd, body, len);
	}
}

static void
reply_text(int fd, int code, const char *reason, const char *body)
{
	reply(fd, code, reason, "application/json", body, strlen(body));
}

// A stream in chunked transfer encoding, in pieces of uneven sizes; with
// cut, only the first half is sent and the connection is closed without
// the final chunk.
static void
reply_stream(int fd, const char *type, const char *body, size_t len, int cut)
{
	static const size_t sizes[] = { 1, 7, 13, 64, 3, 200, 31, 2 };
	char head[256];
	int n = snprintf(head, sizeof(head),
	    "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nTransfer-Encoding: "
	    "chunked\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n",
	    type);
	if (write_all(fd, head, (size_t) n) != 0) {
		return;
	}
	size_t end = cut ? len / 2 : len;
	for (size_t off = 0, i = 0; off < end; i++) {
		size_t piece = sizes[i % (sizeof(sizes) / sizeof(sizes[0]))];
		if (piece > end - off) {
			piece = end - off;
		}
		n = snprintf(head, sizeof(head), "%zx\r\n", piece);
		if (write_all(fd, head, (size_t) n) != 0
		    || write_all(fd, body + off, piece) != 0
		    || write_all(fd, "\r\n", 2) != 0) {
			return;
		}
		off += piece;
	}
	if (!cut) {
		(void) write_all(fd, "0\r\n\r\n", 5);
	}
}

// The string value of "key" in a JSON body.
static int
json_string(const char *body, const char *key, char *out, size_t n)
{
	const char *p = counted_json_value(body, key);
	if (p == NULL || *p != '"') {
		return (-1);
	}
	p++;
	size_t i = 0;
	while (*p != '\0' && *p != '"' && i + 1 < n) {
		out[i++] = *p++;
	}
	out[i] = '\0';
	return (0);
}

static int
json_true(const char *body, const char *key)
{
	const char *p = counted_json_value(body, key);
	return (p != NULL && strncmp(p, "true", 4) == 0);
}

static const char *
header(const char *head, const char *name, char *out, size_t n)
{
	size_t nl = strlen(name);
	for (const char *p = strstr(head, "\r\n"); p != NULL;
	     p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, name, nl) == 0 && p[2 + nl] == ':') {
			const char *v = p + 3 + nl;
			while (*v == ' ') {
				v++;
			}
			size_t i = 0;
			while (v[i] != '\r' && v[i] != '\0' && i + 1 < n) {
				out[i] = v[i];
				i++;
			}
			out[i] = '\0';
			return (out);
		}
	}
	return (NULL);
}

typedef struct route {
	const char *path;   // prefix of the request path
	const char *suffix; // required end of the path, or NULL
	const char *query;  // required in the query string, or NULL
	const char *body, *stream_file, *stream_nousage;
	const char *error; // the provider's error body for a 429
	int always_stream; // the path itself asks for a stream
	const char *stream_type;
	counted_api api; // the API, for --count
} route;

static const char openai_error[]
    = "{\"error\":{\"message\":\"Rate limit reached for gpt-4o-mini in "
      "organization org-standin on tokens per min (TPM): Limit 200000, "
      "Used 199980, Requested 350.\",\"type\":\"tokens\",\"param\":null,"
      "\"code\":\"rate_limit_exceeded\"}}";
static const char anthropic_error[]
    = "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\","
      "\"message\":\"Number of request tokens has exceeded your per-minute "
      "rate limit\"},\"request_id\":\"req_011Standin429\"}";

static const route routes[] = {
	{ "/v1/chat/completions", NULL, NULL, "openai_chat.json",
	    "openai_chat_stream.sse", "openai_chat_stream_nousage.sse",
	    openai_error, 0, "text/event-stream", COUNTED_CHAT },
	{ "/v1/responses", NULL, NULL, "openai_responses.json",
	    "openai_responses_stream.sse", NULL, openai_error, 0,
	    "text/event-stream", COUNTED_RESPONSES },
	{ "/v1/messages", NULL, NULL, "anthropic_cache_5m_1h.json",
	    "anthropic_stream.sse", NULL, anthropic_error, 0,
	    "text/event-stream", COUNTED_ANTHROPIC },
	{ "/v1beta/models/", ":streamGenerateContent", "alt=sse", NULL,
	    "gemini_stream.sse", NULL, NULL, 1, "text/event-stream",
	    COUNTED_GEMINI },
	{ "/v1beta/models/", ":streamGenerateContent", NULL, NULL,
	    "gemini_stream.json", NULL, NULL, 1, "application/json",
	    COUNTED_GEMINI },
	{ "/v1beta/models/", ":generateContent", NULL, "gemini.json", NULL,
	    NULL, NULL, 0, NULL, COUNTED_GEMINI },
	{ "/model/", "/converse-stream", NULL, NULL,
	    "bedrock_converse_stream.events", NULL, NULL, 1,
	    "application/vnd.amazon.eventstream", COUNTED_BEDROCK },
	{ "/model/", "/converse", NULL, "bedrock_converse.json", NULL, NULL,
	    NULL, 0, NULL, COUNTED_BEDROCK },
};

// Model names that ask a route for another of its provider's bodies.
static const struct scripted {
	const char *path, *model;
	const char *body, *stream_file; // NULL: the route's own
} scripted[] = {
	{ "/v1/messages", "standin-web-search", "anthropic_web_search.json",
	    "anthropic_stream_server_tools.sse" },
	{ "/v1/responses", "standin-web-search",
	    "openai_responses_web_search.json", NULL },
	{ "/v1/chat/completions", "standin-openrouter", "openrouter.json",
	    NULL },
};

static const route *
find_route(const char *target)
{
	const char *q = strchr(target, '?');
	size_t pl = q != NULL ? (size_t) (q - target) : strlen(target);
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const route *r = &routes[i];
		size_t rl = strlen(r->path);
		if (pl < rl || strncmp(target, r->path, rl) != 0) {
			continue;
		}
		if (r->query != NULL
		    && (q == NULL || strstr(q, r->query) == NULL)) {
			continue;
		}
		if (r->suffix == NULL) {
			if (pl == rl) {
				return (r);
			}
			continue;
		}
		size_t sl = strlen(r->suffix);
		if (pl > sl && strncmp(target + pl - sl, r->suffix, sl) == 0) {
			return (r);
		}
	}
	return (NULL);
}

// The model a Gemini or Bedrock path names (between the route's prefix
// and its suffix), into out.
static void
path_model(const route *r, const char *path, char *out, size_t n)
{
	const char *m = path + strlen(r->path);
	const char *end = strstr(m, r->suffix != NULL ? r->suffix : "?");
	size_t len = end != NULL ? (size_t) (end - m) : strlen(m);
	snprintf(out, n, "%.*s", (int) (len < n ? len : n - 1), m);
}

// The buckets of a --log line, in the order of counted_usage.
static const char *const served_keys[]
    = { "input_uncached", "input_cache_read", "input_cache_write_5m",
	      "input_cache_write_1h", "output_text", "output_reasoning" };

// --count: the route's API answered with usage worked out from the body.
static void
serve_counted(int fd, const route *r, const char *path, const char *body,
    const char *model, int stream)
{
	static char text[64 << 10];
	static uint8_t bin[64 << 10];
	char name[128];
	counted_usage u;
	uint64_t h;
	int cut = strcmp(model, "standin-cut") == 0;
	int with_usage = r->api != COUNTED_CHAT || !stream
	    || json_true(body, "include_usage");

	if (r->api == COUNTED_GEMINI || r->api == COUNTED_BEDROCK) {
		path_model(r, path, name, sizeof(name));
	} else {
		snprintf(name, sizeof(name), "%s", model);
	}
	counted_derive(r->api, body, strlen(body), &u, &h);
	size_t len = stream
	    ? counted_stream(r->api, r->query != NULL, with_usage, name, h, &u,
	        text, sizeof(text))
	    : counted_body(r->api, name, h, &u, text, sizeof(text));
	if (len == 0) {
		reply_text(fd, 500, "Internal Server Error",
		    "{\"error\":{\"message\":\"response too large\"}}");
		return;
	}
	if (!stream) {
		reply(fd, 200, "OK", "application/json", text, len);
	} else if (r->api == COUNTED_BEDROCK) {
		size_t bn = evs_encode_lines(bin, sizeof(bin), text);
		reply_stream(fd, r->stream_type, (const char *) bin, bn, cut);
	} else {
		reply_stream(fd, r->stream_type, text, len, cut);
	}
	if (served_log != NULL && with_usage && !cut) {
		const uint64_t *v[] = { &u.uncached, &u.cache_read,
			&u.write_5m, &u.write_1h, &u.text, &u.reasoning };
		fprintf(served_log, "served %s", name);
		for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
			fprintf(served_log, " %s=%llu", served_keys[i],
			    (unsigned long long) *v[i]);
		}
		fputc('\n', served_log);
		fflush(served_log);
	}
}

static void
serve(int fd, const char *method, const char *path, const char *head,
    const char *body)
{
	char auth[256], model[128] = "";
	const route *r = find_route(path);

	if (strcmp(method, "POST") != 0) {
		reply_text(fd, 405, "Method Not Allowed", "{}");
		return;
	}
	if (r == NULL) {
		reply_text(fd, 404, "Not Found",
		    "{\"error\":{\"message\":\"no such route\"}}");
		return;
	}
	// Each provider wants a key; the stand-in takes any.
	if (header(head, "authorization", auth, sizeof(auth)) == NULL
	    && header(head, "x-api-key", auth, sizeof(auth)) == NULL
	    && header(head, "x-goog-api-key", auth, sizeof(auth)) == NULL
	    && strstr(path, "key=") == NULL && strncmp(path, "/model/", 7)) {
		reply_text(fd, 401, "Unauthorized",
		    "{\"error\":{\"message\":\"Missing API key\"}}");
		return;
	}
	(void) json_string(body, "model", model, sizeof(model));
	int stream = r->always_stream || json_true(body, "stream");
	fprintf(stderr, "standin: POST %s model=%s stream=%d\n", path, model,
	    stream);
	if (strcmp(model, "standin-error") == 0 && r->error != NULL) {
		reply_text(fd, 429, "Too Many Requests", r->error);
		return;
	}
	if (count_mode) {
		serve_counted(fd, r, path, body, model, stream);
		return;
	}
	const char *file = stream ? r->stream_file : r->body;
	if (stream && r->stream_nousage != NULL
	    && !json_true(body, "include_usage")) {
		file = r->stream_nousage; // as OpenAI: no usage unless asked
	}
	for (size_t i = 0; i < sizeof(scripted) / sizeof(scripted[0]); i++) {
		const struct scripted *sc = &scripted[i];
		if (strcmp(sc->path, r->path) == 0
		    && strcmp(sc->model, model) == 0) {
			const char *alt = stream ? sc->stream_file : sc->body;
			file = alt != NULL ? alt : file;
		}
	}
	if (file == NULL) {
		reply_text(fd, 400, "Bad Request",
		    "{\"error\":{\"message\":\"not available here\"}}");
		return;
	}
	size_t len;
	char *text = load(file, &len);
	if (text == NULL) {
		reply_text(fd, 500, "Internal Server Error",
		    "{\"error\":{\"message\":\"fixture missing\"}}");
		return;
	}
	if (!stream) {
		reply(fd, 200, "OK", "application/json", text, len);
	} else if (strstr(file, ".events") != NULL) {
		uint8_t *bin = malloc(FILE_MAX);
		size_t bn
		    = bin != NULL ? evs_encode_lines(bin, FILE_MAX, text) : 0;
		reply_stream(fd, r->stream_type, (const char *) bin, bn,
		    strcmp(model, "standin-cut") == 0);
		free(bin);
	} else {
		reply_stream(fd, r->stream_type, text, len,
		    strcmp(model, "standin-cut") == 0);
	}
	free(text);
}

// Reads one request: headers, then a Content-Length body.
static void
handle(int fd)
{
	static char buf[HEAD_MAX + BODY_MAX + 1];
	size_t got = 0;
	char *end = NULL;

	while (end == NULL) {
		if (got == HEAD_MAX) {
			reply_text(
			    fd, 431, "Request Header Fields Too Large", "{}");
			return;
		}
		ssize_t n = read(fd, buf + got, HEAD_MAX - got);
		if (n <= 0) {
			return;
		}
		got += (size_t) n;
		buf[got] = '\0';
		end = strstr(buf, "\r\n\r\n");
	}
	*end = '\0';
	char *body = end + 4;
	size_t have = got - (size_t) (body - buf);
	char method[16], path[1024], value[64];
	if (sscanf(buf, "%15s %1023s", method, path) != 2) {
		reply_text(fd, 400, "Bad Request", "{}");
		return;
	}
	if (header(buf, "transfer-encoding", value, sizeof(value)) != NULL) {
		reply_text(fd, 501, "Not Implemented", "{}");
		return;
	}
	size_t want = 0;
	if (header(buf, "content-length", value, sizeof(value)) != NULL) {
		want = strtoul(value, NULL, 10);
	}
	if (want > BODY_MAX) {
		reply_text(fd, 413, "Payload Too Large", "{}");
		return;
	}
	// The body may have arrived with the headers.
	memmove(buf + HEAD_MAX, body, have);
	body = buf + HEAD_MAX;
	while (have < want) {
		ssize_t n = read(fd, body + have, want - have);
		if (n <= 0) {
			return;
		}
		have += (size_t) n;
	}
	body[want] = '\0';
	serve(fd, method, path, buf, body);
}

int
main(int argc, char **argv)
{
	int port = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
			data_dir = argv[++i];
		} else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
			port = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--count") == 0) {
			count_mode = 1;
		} else if (strcmp(argv[i], "--log") == 0 && i + 1 < argc) {
			if ((served_log = fopen(argv[++i], "a")) == NULL) {
				perror(argv[i]);
				return (1);
			}
		} else {
			fprintf(stderr,
			    "Usage: llmcost-provider-standin [--data DIR] "
			    "[--port N] [--count] [--log FILE]\n"
			    "Answers LLM provider APIs on 127.0.0.1 with the "
			    "bodies in DIR;\nprints \"listening on "
			    "127.0.0.1:PORT\" first.\n"
			    "--count: usage worked out from each request "
			    "body\n"
			    "--log FILE: a line per response served with its "
			    "usage\n");
			return (strcmp(argv[i], "--help") == 0 ? 0 : 2);
		}
	}
	signal(SIGPIPE, SIG_IGN);
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t) port);
	socklen_t sl = sizeof(sa);
	if (ls < 0 || bind(ls, (struct sockaddr *) &sa, sizeof(sa)) != 0
	    || listen(ls, 16) != 0
	    || getsockname(ls, (struct sockaddr *) &sa, &sl) != 0) {
		perror("llmcost-provider-standin");
		return (1);
	}
	printf("listening on 127.0.0.1:%d\n", ntohs(sa.sin_port));
	fflush(stdout);
	for (;;) {
		int fd = accept(ls, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR) {
				continue;
			}
			perror("llmcost-provider-standin: accept");
			return (1);
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		handle(fd);
		shutdown(fd, SHUT_WR);
		close(fd);
	}
}
