// A discard-only LangSmith sink for the benchmarks (discard_sink.c): a
// child process with a minimal HTTP/1.1 server on 127.0.0.1 that reads
// each request whole and acknowledges it without looking at its body, so
// that a row measuring the calling thread is not sharing the CPUs with a
// server that parses, decompresses and validates every run (the
// stand-in, tests/langsmith/, does all of that).
#ifndef LLMCOST_BENCH_DISCARD_SINK_H
#define LLMCOST_BENCH_DISCARD_SINK_H

#include <stddef.h>
#include <sys/types.h>

// Starts the sink; writes its base URL ("http://127.0.0.1:PORT") into
// url[cap].  GET /info answers that gzip bodies are taken (as the
// stand-in's does, so that the exporter takes the same path); any other
// request with a Content-Length body is answered 202 {} once the body
// has been read; a chunked or malformed request is answered 400 and its
// connection closed.  Returns the child's pid (stop it with SIGTERM and
// waitpid), or -1.
pid_t bench_discard_sink_spawn(char *url, size_t cap);

#endif // LLMCOST_BENCH_DISCARD_SINK_H
