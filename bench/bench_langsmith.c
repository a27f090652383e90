// The LangSmith exporter's cost: the call-site latency of a fully tagged
// call with LangSmith export on and off (the same client otherwise, a
// live llmcostd child behind it), export on to two servers: a
// discard-only sink (discard_sink.h), which reads and acknowledges each
// request without parsing it, so that the row shows the library's cost
// on the calling thread rather than the stand-in's competing for the
// CPUs, and the stand-in; and the export itself: runs per second
// to the LangSmith stand-in (tests/langsmith/, run as its own process,
// so that its CPU time is not ours) and CPU microseconds per exported
// run, read from the exporter thread's own counters in /proc.  With
// --sdk-script, the same number of runs goes through the official
// langsmith JS SDK (bench/langsmith_sdk.mjs, run by node) to the same
// stand-in, and the CPU per run of both is compared, once with each
// compressing as the stand-in's GET /info offers (the default of both:
// gzip) and once with compression off in both.  -n 0 leaves out the
// call-site rows.  It prints numbers and asserts nothing about time; it
// fails when a run is lost.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "discard_sink.h"
#include "harness.h"
#include "llmcost.h"

#define KEY "lsv2_bench_key"

static char standin_url[128];
static pid_t standin_pid = -1;
static char sink_url[128]; // the discard-only sink (discard_sink.h)
static const char *ls_url = standin_url; // where new clients export to

// Starts the stand-in program and reads its URL from its first line.
static int
standin_spawn(const char *bin)
{
	int fd[2];
	if (pipe(fd) != 0) {
		return (-1);
	}
	if ((standin_pid = fork()) == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		setenv("LLMCOST_STANDIN_API_KEY", KEY, 1);
		execl(
		    bin, bin, "--port", "0", "--drop-payloads", (char *) NULL);
		_exit(127);
	}
	close(fd[1]);
	FILE *f = fdopen(fd[0], "r");
	if (f == NULL || fgets(standin_url, sizeof(standin_url), f) == NULL) {
		fprintf(stderr, "the stand-in did not start (%s)\n", bin);
		return (-1);
	}
	standin_url[strcspn(standin_url, "\n")] = '\0';
	return (0);
}

// CPU time of this process's thread named name, in µs, from the
// scheduler's run time in nanoseconds (/proc/self/task/TID/schedstat):
// the clock-tick counts of .../stat move in 10 ms steps, as large as a
// whole row of a few thousand runs.
static double
thread_cpu_us(const char *name)
{
	FILE *f = bench_thread_file(name, "schedstat");
	unsigned long long ns;

	if (f == NULL) {
		return (-1);
	}
	double us = fscanf(f, "%llu", &ns) == 1 ? (double) ns / 1e3 : -1;
	fclose(f);
	return (us);
}

// Voluntary context switches (each a wait that slept) of this process's
// thread named name, or -1.
static double
thread_switches(const char *name)
{
	double n = -1;
	unsigned long v;
	char line[256];
	FILE *f = bench_thread_file(name, "status");

	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "voluntary_ctxt_switches: %lu", &v) == 1) {
			n = (double) v;
		}
	}
	if (f != NULL) {
		fclose(f);
	}
	return (n);
}

static int gzip_opt; // llmcost_options.langsmith_gzip for new clients

static llmcost_client *
client(const char *url, int langsmith)
{
	llmcost_options o;
	llmcost_client *c = NULL;
	bench_langsmith_options(
	    &o, url, ls_url, KEY, "bench", langsmith ? 1 : -1);
	o.langsmith_queue_batches = 16;
	o.langsmith_gzip = gzip_opt;
	if (llmcost_init(&c, &o) != 0) {
		return (NULL);
	}
	return (c);
}

// Waits while more than max calls are queued or (with LangSmith on) not
// yet settled by LangSmith, so that nothing is dropped.
static void
pace(llmcost_client *c, uint64_t max, int langsmith)
{
	for (;;) {
		llmcost_stats s;
		llmcost_stats_get(c, &s);
		uint64_t behind = s.queue_depth;
		if (langsmith) {
			uint64_t done = s.langsmith_runs_acked
			    + s.langsmith_dropped_queue
			    + s.langsmith_dropped_rejected
			    + s.langsmith_dropped_auth
			    + s.langsmith_dropped_retries;
			uint64_t lag = s.calls_ended - done;
			behind = lag > behind ? lag : behind;
		}
		if (behind <= max) {
			return;
		}
		bench_sleep_ns(200000);
	}
}

// Ends a timed row: every call delivered to both destinations (nothing
// dropped, every run acknowledged by LangSmith when export is on), then
// the percentiles of the row's latencies.  Frees lat and the client.
static int
finish_row(
    llmcost_client *c, int langsmith, uint32_t *lat, size_t n, bench_pct *out)
{
	int rv = llmcost_flush(c, 300000);
	llmcost_stats s;
	llmcost_stats_get(c, &s);
	llmcost_shutdown(c, 10000);
	if (rv != 0 || s.calls_dropped != 0
	    || (langsmith && s.langsmith_runs_acked != s.calls_ended)) {
		fprintf(stderr,
		    "calls lost: flush %d, dropped %llu, LangSmith acked %llu "
		    "of %llu (queue %llu rejected %llu auth %llu retries %llu "
		    "sent %llu retried %llu)\n",
		    rv, (unsigned long long) s.calls_dropped,
		    (unsigned long long) s.langsmith_runs_acked,
		    (unsigned long long) s.calls_ended,
		    (unsigned long long) s.langsmith_dropped_queue,
		    (unsigned long long) s.langsmith_dropped_rejected,
		    (unsigned long long) s.langsmith_dropped_auth,
		    (unsigned long long) s.langsmith_dropped_retries,
		    (unsigned long long) s.langsmith_runs_sent,
		    (unsigned long long) s.langsmith_requests_retried);
		free(lat);
		return (-1);
	}
	bench_percentiles(lat, n, out);
	free(lat);
	return (0);
}

static int
callsite_row(const char *url, int langsmith, size_t n, uint32_t overhead,
    bench_pct *out)
{
	llmcost_client *c = client(url, langsmith);
	uint32_t *lat = calloc(n, sizeof(*lat));
	if (c == NULL || lat == NULL) {
		return (-1);
	}
	for (int i = 0; i < 4096; i++) {
		(void) bench_tagged_call(c);
	}
	if (llmcost_flush(c, 120000) != 0) {
		return (-1);
	}
	for (size_t i = 0; i < n; i++) {
		if ((i & 1023) == 0) {
			pace(c, 8192, langsmith);
		}
		if (bench_timed_call(c, overhead, &lat[i]) != 0) {
			return (-1);
		}
	}
	return (finish_row(c, langsmith, lat, n, out));
}

// Calls at a fixed offered rate (one every 1e9 / rate ns, the producer
// sleeping in between), timed one by one: the exporter keeps up, so this
// is the overhead an application below LangSmith's pace sees.
static int
paced_row(const char *url, int langsmith, size_t n, uint32_t rate,
    uint32_t overhead, bench_pct *out, double *wakes_per_k)
{
	llmcost_client *c = client(url, langsmith);
	uint32_t *lat = calloc(n, sizeof(*lat));
	if (c == NULL || lat == NULL) {
		return (-1);
	}
	for (int i = 0; i < 4096; i++) {
		if ((i & 1023) == 0) {
			pace(c, 0, langsmith);
		}
		(void) bench_tagged_call(c);
	}
	if (llmcost_flush(c, 120000) != 0) {
		return (-1);
	}
	double sw0 = thread_switches("llmcost-langsmi");
	uint64_t period = 1000000000ull / rate, next = bench_now_ns();
	for (size_t i = 0; i < n; i++) {
		uint64_t now = bench_now_ns();
		if (next > now) {
			bench_sleep_ns(next - now);
		}
		next += period;
		if (bench_timed_call(c, overhead, &lat[i]) != 0) {
			return (-1);
		}
	}
	// The exporter's sleeps during the row (before the flush, which
	// wakes it on purpose): how often it woke per 1000 calls.
	*wakes_per_k
	    = (thread_switches("llmcost-langsmi") - sw0) * 1000.0 / (double) n;
	return (finish_row(c, langsmith, lat, n, out));
}

// Exports n runs as fast as LangSmith takes them.  Fills runs/s and the
// exporter thread's CPU µs per run.
static int
export_row(const char *url, size_t n, double *rps, double *cpu_us)
{
	llmcost_client *c = client(url, 1);
	if (c == NULL) {
		return (-1);
	}
	// The thread names itself once it runs.
	double cpu0 = -1;
	for (int i = 0; i < 1000 && cpu0 < 0; i++) {
		if ((cpu0 = thread_cpu_us("llmcost-langsmi")) < 0) {
			bench_sleep_ns(1000000);
		}
	}
	uint64_t t0 = bench_now_ns();
	for (size_t i = 0; i < n; i++) {
		if ((i & 1023) == 0) {
			pace(c, 12000, 1);
		}
		if (bench_tagged_call(c) != 0) {
			return (-1);
		}
	}
	int rv = llmcost_flush(c, 300000);
	uint64_t dt = bench_now_ns() - t0;
	double cpu1 = thread_cpu_us("llmcost-langsmi");
	llmcost_stats s;
	llmcost_stats_get(c, &s);
	llmcost_shutdown(c, 10000);
	if (rv != 0 || s.langsmith_runs_acked != n + 0 || cpu0 < 0) {
		fprintf(stderr,
		    "export: flush %d, %llu of %zu runs acknowledged "
		    "(dropped: "
		    "queue %llu rejected %llu auth %llu retries %llu; "
		    "requests retried %llu)\n",
		    rv, (unsigned long long) s.langsmith_runs_acked, n,
		    (unsigned long long) s.langsmith_dropped_queue,
		    (unsigned long long) s.langsmith_dropped_rejected,
		    (unsigned long long) s.langsmith_dropped_auth,
		    (unsigned long long) s.langsmith_dropped_retries,
		    (unsigned long long) s.langsmith_requests_retried);
		return (-1);
	}
	*rps = (double) n / ((double) dt / 1e9);
	*cpu_us = (cpu1 - cpu0) / (double) n;
	return (0);
}

// Runs the SDK script; reads "cpu_us_per_run X" from its output.  gzip
// 0: the SDK's default (it compresses when /info offers it, as the
// stand-in's does); -1: compression off
// (LANGSMITH_DISABLE_RUN_COMPRESSION=true).
static int
sdk_row(const char *script, size_t n, int gzip, double *cpu_us, double *rps)
{
	char cmd[1024];
	snprintf(
	    cmd, sizeof(cmd), "node '%s' '%s' %zu", script, standin_url, n);
	setenv("LANGSMITH_API_KEY", KEY, 1);
	if (gzip < 0) {
		setenv("LANGSMITH_DISABLE_RUN_COMPRESSION", "true", 1);
	}
	FILE *p = popen(cmd, "r");
	char line[256];
	int got = 0;
	while (p != NULL && fgets(line, sizeof(line), p) != NULL) {
		got += sscanf(line, "cpu_us_per_run %lf", cpu_us) == 1;
		got += sscanf(line, "runs_per_s %lf", rps) == 1;
		fputs(line, stdout);
	}
	int st = p != NULL ? pclose(p) : -1;
	unsetenv("LANGSMITH_API_KEY");
	unsetenv("LANGSMITH_DISABLE_RUN_COMPRESSION");
	return (st == 0 && got == 2 ? 0 : -1);
}

// One export setting: our exporter, then (with script) the SDK with the
// same compression setting, and the ratio.  gzip: 0 the default (as
// /info says: on with the stand-in), -1 off.  Prints metrics named
// <name>_*.
static int
export_and_sdk(const char *url, size_t n, const char *script, size_t sdk_n,
    int gzip, const char *name)
{
	double rps = 0, cpu = 0, sdk_cpu = 0, sdk_rps = 0;
	char m[96];

	gzip_opt = gzip;
	if (export_row(url, n, &rps, &cpu) != 0) {
		return (-1);
	}
	printf("exported %zu runs, %s: %.0f runs/s, %.2f CPU us/run "
	       "(exporter thread)\n",
	    n, name, rps, cpu);
	snprintf(m, sizeof(m), "%s_runs_per_s", name);
	bench_metric(m, rps);
	snprintf(m, sizeof(m), "%s_cpu_us_per_run", name);
	bench_metric(m, cpu);
	if (script == NULL) {
		return (0);
	}
	if (sdk_row(script, sdk_n, gzip, &sdk_cpu, &sdk_rps) != 0
	    || cpu <= 0) {
		fprintf(stderr, "the SDK run failed\n");
		return (-1);
	}
	printf("langsmith JS SDK, %zu runs, %s: %.0f runs/s, %.1f CPU us/run "
	       "(whole process): %.0fx ours\n",
	    sdk_n, name, sdk_rps, sdk_cpu, sdk_cpu / cpu);
	snprintf(m, sizeof(m), "%s_sdk_cpu_us_per_run", name);
	bench_metric(m, sdk_cpu);
	snprintf(m, sizeof(m), "%s_sdk_runs_per_s", name);
	bench_metric(m, sdk_rps);
	snprintf(m, sizeof(m), "%s_sdk_cpu_ratio", name);
	bench_metric(m, sdk_cpu / cpu);
	return (0);
}

int
main(int argc, char **argv)
{
	size_t n = 100000, export_n = 100000, sdk_n = 20000;
	const char *daemon = LLMCOSTD_PATH, *standin = STANDIN_PATH;
	const char *sdk = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
			n = strtoul(argv[++i], NULL, 10);
		} else if (strcmp(argv[i], "-e") == 0 && i + 1 < argc) {
			export_n = strtoul(argv[++i], NULL, 10);
		} else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
			sdk_n = strtoul(argv[++i], NULL, 10);
		} else if (strcmp(argv[i], "--sdk-script") == 0
		    && i + 1 < argc) {
			sdk = argv[++i];
		} else {
			fprintf(stderr,
			    "usage: bench_langsmith [-n CALLS] [-e EXPORTED] "
			    "[-s SDK_RUNS] [--sdk-script FILE]\n");
			return (2);
		}
	}
	char *dir = harness_tmpdir();
	char data[512], url[600];
	snprintf(data, sizeof(data), "%s/data", dir);
	harness_url(data, url, sizeof(url));
	static const char *const args[] = { "--map-size-mb", "2048", NULL };
	pid_t dpid = harness_daemon_start_bin(daemon, data, args);
	if (dpid <= 0 || standin_spawn(standin) != 0) {
		return (1);
	}
	uint32_t overhead, op99;
	bench_timer_overhead(&overhead, &op99);
	int fail = 0;

	bench_pct off, on, ons, poff, pon, pons;
	double wakes = 0, wakes_s = 0;
	uint32_t rate = 5000;
	size_t pn = n / 5;
	pid_t sink_pid = -1;
	if (n > 0
	    && (sink_pid
	           = bench_discard_sink_spawn(sink_url, sizeof(sink_url)))
	        < 0) {
		fprintf(stderr, "the discard sink did not start\n");
		fail = 1;
	}
	// Export on: first to the discard sink, then to the stand-in.
	if (n == 0 || fail) {
		// -n 0: the export rows only.
	} else if (callsite_row(url, 0, n, overhead, &off) != 0
	    || (ls_url = sink_url, callsite_row(url, 1, n, overhead, &on)) != 0
	    || (ls_url = standin_url, callsite_row(url, 1, n, overhead, &ons))
	        != 0
	    || paced_row(url, 0, pn, rate, overhead, &poff, &wakes) != 0
	    || (ls_url = sink_url,
	           paced_row(url, 1, pn, rate, overhead, &pon, &wakes))
	        != 0
	    || (ls_url = standin_url,
	           paced_row(url, 1, pn, rate, overhead, &pons, &wakes_s))
	        != 0) {
		fail = 1;
	} else {
		const struct {
			const char *label, *metric;
			const bench_pct *p;
		} rows[] = {
			{ "LangSmith export off", "callsite_off", &off },
			{ "on, discard sink", "callsite_on", &on },
			{ "on, stand-in", "callsite_on_standin", &ons },
			{ "paced, off", "paced_off", &poff },
			{ "paced, on, discard sink", "paced_on", &pon },
			{ "paced, on, stand-in", "paced_on_standin", &pons },
		};
		printf("call site, ns (timer %u ns subtracted; paced: %u "
		       "calls/s)   p50    p99  p99.9\n",
		    overhead, rate);
		for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
			printf("%-44s %6u %6u %6u\n", rows[i].label,
			    rows[i].p->p50, rows[i].p->p99, rows[i].p->p999);
			bench_metric_pct(rows[i].metric, rows[i].p);
		}
		printf("paced, exporter thread sleeps per 1000 calls: %.1f "
		       "(discard sink), %.1f (stand-in)\n",
		    wakes, wakes_s);
		bench_metric("paced_exporter_sleeps_per_1k", wakes);
		bench_metric("paced_standin_exporter_sleeps_per_1k", wakes_s);
	}
	ls_url = standin_url;
	if (sink_pid > 0) {
		kill(sink_pid, SIGTERM);
		waitpid(sink_pid, NULL, 0);
	}
	// The default first (gzip, as the stand-in's /info offers it, which
	// is what the SDK does too), then the other setting, each against
	// the SDK set the same way.
	if (!fail
	    && (export_and_sdk(url, export_n, sdk, sdk_n, 0, "export_gzip")
	            != 0
	        || export_and_sdk(
	               url, export_n, sdk, sdk_n, -1, "export_plain")
	            != 0)) {
		fail = 1;
	}
	kill(standin_pid, SIGTERM);
	waitpid(standin_pid, NULL, 0);
	harness_daemon_stop(dpid, SIGTERM);
	harness_rmdir(dir);
	return (fail);
}
