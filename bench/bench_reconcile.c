// `llmcost reconcile` on a million runs: libllmcost sends N calls (default
// 1,000,000) to a live llmcostd and, through its LangSmith exporter, to
// the LangSmith stand-in (in this process, keeping only what queries
// need), in rounds of 4096 flushed to both (so that the
// exporter's queue never overflows); then the real `llmcost`
// binary reconciles the window run by run and group by group, and its
// wall time, CPU time and peak RSS (VmHWM, and its anonymous and
// file-backed parts, sampled from /proc every 10 ms) are printed.
// It fails unless every run matched and the exit status is 0; it asserts
// nothing about time.
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "harness.h"
#include "llmcost.h"
#include "standin.h"

#define KEY     "lsv2_bench_reconcile"
#define PROJECT "bench-reconcile"
extern char **environ;

#define ROUND 4096 // calls between flushes: LangSmith's queue never fills

static int
send_calls(const char *url, const char *ls_url, size_t n)
{
	static const char *const feats[]
	    = { "summarize", "chat", "search", "classify", "extract" };
	llmcost_options o;
	llmcost_client *c = NULL;

	bench_langsmith_options(&o, url, ls_url, KEY, PROJECT, 1);
	o.langsmith_queue_batches = 64;
	if (llmcost_init(&c, &o) != 0) {
		return (-1);
	}
	for (size_t i = 0; i < n; i++) {
		llmcost_call *k;
		llmcost_usage u;
		memset(&u, 0, sizeof(u));
		u.tokens[LLMCOST_IN_UNCACHED] = 500 + i % 1000;
		u.tokens[LLMCOST_OUT_TEXT] = 50 + i % 100;
		if (llmcost_call_begin(c, "openai", "gpt-4o-mini", &k) != 0
		    || llmcost_call_set_meta(k, "feature", feats[i % 5]) != 0
		    || llmcost_call_set_usage(k, &u) != 0
		    || llmcost_call_end(k) != 0) {
			fprintf(stderr, "call %zu failed\n", i);
			return (-1);
		}
		if ((i + 1) % ROUND == 0 && llmcost_flush(c, 600000) != 0) {
			return (-1);
		}
	}
	int rv = llmcost_flush(c, 600000);
	llmcost_stats s;
	llmcost_stats_get(c, &s);
	llmcost_shutdown(c, 10000);
	if (rv != 0 || s.calls_acked != n || s.langsmith_runs_acked != n) {
		fprintf(stderr, "%llu stored, %llu in LangSmith, of %zu\n",
		    (unsigned long long) s.calls_acked,
		    (unsigned long long) s.langsmith_runs_acked, n);
		return (-1);
	}
	return (0);
}

int
main(int argc, char **argv)
{
	size_t n = 1000000;
	const char *cli = LLMCOST_CLI_PATH;
	standin_options so = { .api_key = KEY, .drop_payloads = 1 };
	standin *s;
	char *dir = NULL, url[600];

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
			n = strtoul(argv[++i], NULL, 10);
		} else if (strcmp(argv[i], "--cli") == 0 && i + 1 < argc) {
			cli = argv[++i];
		} else {
			fprintf(stderr,
			    "usage: bench_reconcile [-n RUNS] [--cli PATH]\n");
			return (2);
		}
	}
	setenv("LLMCOSTD_BIN", LLMCOSTD_PATH, 0);
	if (standin_start(&so, &s) != 0) {
		return (1);
	}
	pid_t d = harness_daemon_tmp(&dir, url, sizeof(url));
	if (d <= 0) {
		return (1);
	}
	uint64_t t0 = bench_now_ns();
	if (send_calls(url, standin_url(s), n) != 0) {
		return (1);
	}
	printf("loaded %zu runs into both sides in %.1f s\n", n,
	    (double) (bench_now_ns() - t0) / 1e9);

	char out[700];
	snprintf(out, sizeof(out), "%s/reconcile.json", dir);
	setenv("LANGSMITH_API_KEY", KEY, 1);
	setenv("LANGSMITH_ENDPOINT", standin_url(s), 1);
	fflush(stdout);
	t0 = bench_now_ns();
	// The child's peak RSS is read from /proc (VmHWM), not from wait4:
	// Linux carries ru_maxrss across exec, so a child spawned from this
	// process (the stand-in holds a million runs) would report ours.
	const char *const args[]
	    = { cli, "reconcile", "--project", PROJECT, "--since", "1d",
		      "--settle", "0", "--data-dir", dir, "--json", NULL };
	posix_spawn_file_actions_t fa;
	pid_t p;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(
	    &fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (posix_spawn(&p, cli, &fa, NULL, (char *const *) args, environ)
	    != 0) {
		return (1);
	}
	posix_spawn_file_actions_destroy(&fa);
	// Peak RSS counts the store's pages that LMDB maps (file-backed,
	// shared with the page cache); the child's anonymous memory (heap,
	// stacks: what it allocates) and file-backed pages are sampled apart
	// from /proc every 10 ms.
	int st;
	struct rusage ru;
	long anon_kib = 0, file_kib = 0, hwm_kib = 0;
	for (;;) {
		pid_t w = wait4(p, &st, WNOHANG, &ru);
		if (w == p) {
			break;
		}
		if (w != 0) {
			return (1);
		}
		char path[64], line[128];
		snprintf(path, sizeof(path), "/proc/%d/status", (int) p);
		FILE *f = fopen(path, "r");
		while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
			long v;
			if (sscanf(line, "RssAnon: %ld", &v) == 1
			    && v > anon_kib) {
				anon_kib = v;
			}
			if (sscanf(line, "RssFile: %ld", &v) == 1
			    && v > file_kib) {
				file_kib = v;
			}
			if (sscanf(line, "VmHWM: %ld", &v) == 1
			    && v > hwm_kib) {
				hwm_kib = v;
			}
		}
		if (f != NULL) {
			fclose(f);
		}
		bench_sleep_ns(10000000);
	}
	double secs = (double) (bench_now_ns() - t0) / 1e9;
	char cmd[800];
	snprintf(cmd, sizeof(cmd),
	    "grep -E '\"(matched|local|langsmith|unexplained)\"' %s | "
	    "grep -v '{' | tr -d ' ,' | tr '\\n' ' '",
	    out);
	printf("reconcile: exit %d, ", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	fflush(stdout);
	if (system(cmd) != 0) {
		printf("(no summary)");
	}
	printf("\n");
	bench_metric("reconcile_runs", (double) n);
	bench_metric("reconcile_seconds", secs);
	bench_metric("reconcile_runs_per_s", (double) n / secs);
	bench_metric("reconcile_peak_rss_mib", (double) hwm_kib / 1024.0);
	bench_metric("reconcile_peak_anon_mib", (double) anon_kib / 1024.0);
	bench_metric("reconcile_peak_file_mib", (double) file_kib / 1024.0);
	bench_metric("reconcile_cpu_s",
	    (double) ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
	        + (double) ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	(void) harness_daemon_stop(d, SIGTERM);
	harness_rmdir(dir);
	standin_stop(s);
	return (WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1);
}
