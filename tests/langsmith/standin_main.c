// DESIGN: llmcost-langsmith-standin, the stand-in as a program, for
// benchmarks (the official SDKs and our exporter pointed at it with
// LANGSMITH_ENDPOINT) and for trying things by hand.  It prints its URL on
// the first line of standard output, so that a script can start it with
// --port 0 and read where it listens, then serves until SIGINT or SIGTERM
// (the handler only sets a flag) and prints its counters to standard
// error.  The accepted API key comes from the environment, never from
// argv, where any user of the machine could read it.

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "llmcost_common.h"
#include "standin.h"

static volatile sig_atomic_t stop_flag;

static void
on_signal(int sig)
{
	(void) sig;
	stop_flag = 1;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: llmcost-langsmith-standin [--port N] [--host ADDR] "
	    "[--prices FILE]\n"
	    "           [--max-body BYTES] [--drop-payloads] "
	    "[--strict-start]\n"
	    "  --port N         port to listen on (default 0: the kernel "
	    "chooses)\n"
	    "  --host ADDR      IPv4 address to bind (default 127.0.0.1)\n"
	    "  --prices FILE    the price map, JSON (default: built in)\n"
	    "  --max-body BYTES answer 413 above this (default 22020096)\n"
	    "  --drop-payloads  keep only what queries compute on\n"
	    "  --strict-start   refuse start_time != dotted_order time\n"
	    "Environment: LLMCOST_STANDIN_API_KEY, the only x-api-key "
	    "accepted\n(default: any non-empty key).  Prints its URL, then "
	    "serves until SIGINT/SIGTERM.\n");
	exit(1);
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0;
	size_t cap = 0;
	size_t n;

	if (f == NULL) {
		return (NULL);
	}
	do {
		if (len + 4096 + 1 > cap) {
			char *nb;

			cap = cap ? cap * 2 : 8192;
			if (cap > ((size_t) 16 << 20)
			    || (nb = realloc(buf, cap)) == NULL) {
				free(buf);
				fclose(f);
				return (NULL);
			}
			buf = nb;
		}
		n = fread(buf + len, 1, 4096, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	return (buf);
}

static long
number(const char *arg, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno != 0 || *arg == '\0' || *end != '\0' || v < 0 || v > max) {
		usage();
	}
	return (v);
}

int
main(int argc, char **argv)
{
	standin_options o = { 0 };
	standin *s;
	char *prices = NULL;
	struct sigaction sa;
	int rv;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--port") == 0 && i + 1 < argc) {
			o.port = (uint16_t) number(argv[++i], 65535);
		} else if (strcmp(a, "--host") == 0 && i + 1 < argc) {
			o.host = argv[++i];
		} else if (strcmp(a, "--prices") == 0 && i + 1 < argc) {
			if ((prices = slurp(argv[++i])) == NULL) {
				fprintf(stderr, "cannot read %s\n", argv[i]);
				return (1);
			}
			o.prices_json = prices;
		} else if (strcmp(a, "--max-body") == 0 && i + 1 < argc) {
			o.max_body = (size_t) number(argv[++i], 1L << 30);
		} else if (strcmp(a, "--drop-payloads") == 0) {
			o.drop_payloads = 1;
		} else if (strcmp(a, "--strict-start") == 0) {
			o.strict_start = 1;
		} else {
			usage();
		}
	}
	o.api_key = getenv("LLMCOST_STANDIN_API_KEY");
	if ((rv = standin_start(&o, &s)) != 0) {
		fprintf(stderr, "llmcost-langsmith-standin: %s\n",
		    llmcost_strerror(rv));
		free(prices);
		return (1);
	}
	free(prices);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	printf("%s\n", standin_url(s));
	fflush(stdout);
	while (!stop_flag) {
		struct timespec t = { 0, 200000000 };

		nanosleep(&t, NULL); // a signal cuts it short
	}
	fprintf(stderr,
	    "runs stored %llu, duplicates %llu, gzip requests %llu\n",
	    (unsigned long long) standin_runs(s),
	    (unsigned long long) standin_duplicates(s),
	    (unsigned long long) standin_gzipped(s));
	for (int ep = 0; ep < STANDIN_EP_COUNT; ep++) {
		uint64_t n = standin_count(s, ep, 0);

		if (n > 0) {
			fprintf(stderr, "%-10s %llu requests\n",
			    standin_ep_name(ep), (unsigned long long) n);
		}
	}
	standin_stop(s);
	return (0);
}
