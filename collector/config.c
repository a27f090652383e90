// DESIGN: redis's static_configs[] idea, small: each setting is one row
// {option, variable, type, offset, size, min, max, help}; defaults are set
// in config_load.  Precedence
// is default < environment < command line.  Numbers are parsed with
// strtoull and range-checked; errors name the setting and the accepted
// range.  data-dir and listen derive their defaults from the shared
// default directory so the shim, the daemon and the CLI agree.
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "llmcost_proto.h"
#include "log.h"

enum { T_STR, T_U64 };

typedef struct setting {
	const char *name; // --name
	const char *env;
	int type;
	size_t off, size;
	uint64_t min, max;
	const char *help;
} setting;

#define STR(f) T_STR, offsetof(config, f), sizeof(((config *) 0)->f), 0, 0
#define U64(f) T_U64, offsetof(config, f), sizeof(uint64_t)

static const setting settings[] = {
	{ "data-dir", "LLMCOSTD_DATA_DIR", STR(data_dir),
	    "directory of the LMDB store and the socket (created 0700); "
	    "default $XDG_STATE_HOME/llmcost or ~/.local/state/llmcost" },
	{ "listen", "LLMCOSTD_LISTEN", STR(listen),
	    "ingest URL; default ipc://DATA_DIR/" LLMCOST_SOCKET_NAME
	    " (tcp://127.0.0.1:PORT for other hosts)" },
	{ "log-level", "LLMCOSTD_LOG", STR(log_level),
	    "debug, info, notice, warn or error; default info" },
	{ "map-size-mb", "LLMCOSTD_MAP_SIZE_MB", U64(map_size_mb), 16,
	    1ull << 24,
	    "initial LMDB map size in MiB (grows when full); default 4096" },
	{ "contexts", "LLMCOSTD_CONTEXTS", U64(contexts), 1, 256,
	    "batches received concurrently; default 16" },
	{ "txn-records", "LLMCOSTD_TXN_RECORDS", U64(txn_records), 1, 1u << 20,
	    "most calls committed in one transaction; default 65536" },
};
#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

static int
apply(config *cfg, const setting *s, const char *val, const char *origin)
{
	char *dst = (char *) cfg + s->off;
	if (s->type == T_STR) {
		size_t len = strlen(val);
		if (len == 0 || len >= s->size) {
			fprintf(stderr,
			    "llmcostd: %s %s must be 1..%zu characters\n",
			    origin, s->name, s->size - 1);
			return (-1);
		}
		memcpy(dst, val, len + 1);
		return (0);
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(val, &end, 10);
	if (errno != 0 || end == val || *end != '\0' || val[0] == '-'
	    || v < s->min || v > s->max) {
		fprintf(stderr,
		    "llmcostd: %s %s=%s: want an integer in %llu..%llu\n",
		    origin, s->name, val, (unsigned long long) s->min,
		    (unsigned long long) s->max);
		return (-1);
	}
	uint64_t u = v;
	memcpy(dst, &u, sizeof(u));
	return (0);
}

void
config_usage(FILE *f, const char *prog)
{
	fprintf(f,
	    "Usage: %s [OPTION]...\n"
	    "The llmcost collector: receives LLM call records from "
	    "libllmcost,\nstores them in LMDB, prices them and keeps "
	    "hourly rollups.\nRuns in the foreground; stops cleanly on "
	    "SIGTERM or SIGINT.\n\nOptions (each also read from its "
	    "environment variable):\n",
	    prog);
	for (size_t i = 0; i < NSETTINGS; i++) {
		fprintf(f, "  --%-14s %-22s %s\n", settings[i].name,
		    settings[i].env, settings[i].help);
	}
	fprintf(f,
	    "  -h, --help                            show this help\n"
	    "  -V, --version                         show the version\n");
}

void
config_describe(const config *cfg, char *buf, size_t bufsz)
{
	snprintf(buf, bufsz,
	    "data-dir=%s listen=%s map-size-mb=%llu contexts=%llu "
	    "txn-records=%llu log-level=%s",
	    cfg->data_dir, cfg->listen, (unsigned long long) cfg->map_size_mb,
	    (unsigned long long) cfg->contexts,
	    (unsigned long long) cfg->txn_records, cfg->log_level);
}

int
config_load(config *cfg, int argc, char **argv)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->map_size_mb = 4096;
	cfg->contexts = 16;
	cfg->txn_records = 65536;
	memcpy(cfg->log_level, "info", 5);

	for (size_t i = 0; i < NSETTINGS; i++) {
		const char *v = getenv(settings[i].env);
		if (v != NULL && *v != '\0'
		    && apply(cfg, &settings[i], v, "environment") != 0) {
			return (-1);
		}
	}
	for (int a = 1; a < argc; a++) {
		const char *arg = argv[a];
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			config_usage(stdout, argv[0]);
			return (1);
		}
		if (strcmp(arg, "-V") == 0 || strcmp(arg, "--version") == 0) {
			printf("llmcostd %s\n", llmcost_version());
			return (1);
		}
		if (strncmp(arg, "--", 2) != 0) {
			fprintf(stderr,
			    "llmcostd: unexpected argument '%s' (see "
			    "--help)\n",
			    arg);
			return (-1);
		}
		const char *name = arg + 2;
		const char *eq = strchr(name, '=');
		size_t nlen = eq ? (size_t) (eq - name) : strlen(name);
		const setting *s = NULL;
		for (size_t i = 0; i < NSETTINGS; i++) {
			if (strlen(settings[i].name) == nlen
			    && strncmp(settings[i].name, name, nlen) == 0) {
				s = &settings[i];
			}
		}
		if (s == NULL) {
			fprintf(stderr,
			    "llmcostd: unknown option '%s' (see --help)\n",
			    arg);
			return (-1);
		}
		const char *val
		    = eq ? eq + 1 : (a + 1 < argc ? argv[++a] : NULL);
		if (val == NULL) {
			fprintf(
			    stderr, "llmcostd: --%s needs a value\n", s->name);
			return (-1);
		}
		if (apply(cfg, s, val, "option") != 0) {
			return (-1);
		}
	}
	if (cfg->data_dir[0] == '\0'
	    && llmcost__default_dir(cfg->data_dir, sizeof(cfg->data_dir))
	        != 0) {
		fprintf(stderr,
		    "llmcostd: no data directory: pass --data-dir or set "
		    "HOME\n");
		return (-1);
	}
	if (cfg->listen[0] == '\0') {
		int n = snprintf(cfg->listen, sizeof(cfg->listen),
		    "ipc://%s/" LLMCOST_SOCKET_NAME, cfg->data_dir);
		if (n < 0 || (size_t) n >= sizeof(cfg->listen)) {
			fprintf(stderr, "llmcostd: data-dir path too long\n");
			return (-1);
		}
	}
	if (log_parse_level(cfg->log_level) < 0) {
		fprintf(stderr,
		    "llmcostd: log-level '%s': want debug, info, notice, "
		    "warn or error\n",
		    cfg->log_level);
		return (-1);
	}
	return (0);
}
