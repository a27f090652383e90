// DESIGN: redis's static_configs[] idea, small: CONFIG_MAP (config.h)
// becomes one row per setting {option, variable, type, storage, default,
// bounds, help}, and everything about a setting comes from its row:
// parsing, the range or length check and its error, --help and the
// banner.  Defaults go through the same parser as user values, so a bad
// default cannot slip in (the unit test loads them).  Precedence is
// default < environment < command line; derived defaults (the data
// directory from the shared resolver in common/paths.c, the listen URL
// from the data directory) are filled last, only where nothing was set.
// Every string is bounded by its field (LLMCOST__PATH_MAX,
// LLMCOST__URL_MAX) and an over-long value is an error, never a silent
// truncation that would point somewhere else.
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "llmcost.h"

enum { T_PATH, T_URL, T_LEVEL, T_U64 };

typedef struct setting {
	const char *name; // --name
	const char *env;
	int type;
	size_t off, size;
	const char *dflt;     // the default value, or NULL: derived
	const char *dflt_doc; // how a derived default is found
	uint64_t min, max;    // T_U64
	const char *help;
} setting;

#define VALUE(v)   (v), NULL
#define DERIVED(d) NULL, (d)

static const setting settings[] = {
#define ROW(field, name, type, env, dflt, min, max, help)                     \
	{ name, env, T_##type, offsetof(config, field),                       \
		sizeof(((config *) 0)->field), dflt, min, max, help },
	CONFIG_MAP(ROW)
#undef ROW
};
#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

// "error, warn, notice, info or debug", from the header's level table.
static const char *
level_choices(char *buf, size_t bufsz)
{
	static const char *const names[] = {
#define LEVEL_NAME(name, num, text) text,
		LLMCOST_LOG_LEVEL_MAP(LEVEL_NAME)
#undef LEVEL_NAME
	};
	const size_t n = sizeof(names) / sizeof(names[0]);
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && o < bufsz; i++) {
		int k = snprintf(buf + o, bufsz - o, "%s%s",
		    i == 0 ? "" : (i == n - 1 ? " or " : ", "), names[i]);
		if (k < 0) {
			break;
		}
		o += (size_t) k;
	}
	return (buf);
}

// Where a value came from, for errors: "--contexts 0",
// "LLMCOSTD_CONTEXTS=0" or "the default of --contexts (0)"; without the
// value when val is NULL (long strings are not echoed back).
typedef enum { FROM_DEFAULT, FROM_ENV, FROM_OPTION } origin;

static const char *
origin_name(
    const setting *s, origin o, const char *val, char *buf, size_t bufsz)
{
	size_t n;

	switch (o) {
	case FROM_ENV:
		snprintf(buf, bufsz, "%s", s->env);
		break;
	case FROM_OPTION:
		snprintf(buf, bufsz, "--%s", s->name);
		break;
	default:
		snprintf(buf, bufsz, "the default of --%s", s->name);
		break;
	}
	if (val != NULL) {
		n = strlen(buf);
		if (o == FROM_DEFAULT) {
			snprintf(buf + n, bufsz - n, " (%.64s)", val);
		} else {
			snprintf(buf + n, bufsz - n, "%c%.64s",
			    o == FROM_ENV ? '=' : ' ', val);
		}
	}
	return (buf);
}

static int
apply(config *cfg, const setting *s, const char *val, origin o, char *err,
    size_t errsz)
{
	char *dst = (char *) cfg + s->off;
	char from[128], choices[128];

	switch (s->type) {
	case T_PATH:
	case T_URL: {
		size_t len = strlen(val);
		origin_name(s, o, NULL, from, sizeof(from));
		if (len == 0) {
			snprintf(err, errsz, "%s: must not be empty", from);
			return (CONFIG_ERROR);
		}
		if (len >= s->size) {
			snprintf(err, errsz,
			    "%s: %zu bytes is too long (at most %zu)", from,
			    len, s->size - 1);
			return (CONFIG_ERROR);
		}
		memcpy(dst, val, len + 1);
		return (CONFIG_RUN);
	}
	case T_LEVEL: {
		int level = llmcost__log_level_parse(val);
		if (level < 0) {
			snprintf(err, errsz, "%s: want one of %s",
			    origin_name(s, o, val, from, sizeof(from)),
			    level_choices(choices, sizeof(choices)));
			return (CONFIG_ERROR);
		}
		memcpy(dst, &level, sizeof(level));
		return (CONFIG_RUN);
	}
	default: {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(val, &end, 10);
		if (errno != 0 || end == val || *end != '\0' || val[0] == '-'
		    || v < s->min || v > s->max) {
			snprintf(err, errsz,
			    "%s: want an integer in %llu..%llu",
			    origin_name(s, o, val, from, sizeof(from)),
			    (unsigned long long) s->min,
			    (unsigned long long) s->max);
			return (CONFIG_ERROR);
		}
		uint64_t u = v;
		memcpy(dst, &u, sizeof(u));
		return (CONFIG_RUN);
	}
	}
}

void
config_usage(FILE *f, const char *prog)
{
	char choices[128];

	fprintf(f,
	    "Usage: %s [OPTION]...\n"
	    "The llmcost collector: receives LLM call records from "
	    "libllmcost,\nstores them in LMDB, prices them and keeps "
	    "hourly rollups.\nRuns in the foreground.  On SIGTERM or SIGINT "
	    "it commits and answers what\nit has received, closes the store "
	    "and exits within --stop-bound-ms.\n\nOptions (each also read "
	    "from its environment variable):\n",
	    prog);
	for (size_t i = 0; i < NSETTINGS; i++) {
		const setting *s = &settings[i];
		fprintf(f, "  --%-14s %-22s %s", s->name, s->env, s->help);
		switch (s->type) {
		case T_PATH:
		case T_URL:
			fprintf(f, ", at most %zu bytes", s->size - 1);
			break;
		case T_LEVEL:
			fprintf(f, ": %s",
			    level_choices(choices, sizeof(choices)));
			break;
		default:
			fprintf(f, ", %llu..%llu", (unsigned long long) s->min,
			    (unsigned long long) s->max);
			break;
		}
		fprintf(f, "; default %s\n",
		    s->dflt != NULL ? s->dflt : s->dflt_doc);
	}
	fprintf(f, "  %-39s %s\n", "-h, --help", "show this help");
	fprintf(f, "  %-39s %s\n", "-V, --version", "show the version");
}

int
config_describe(const config *cfg, char *buf, size_t bufsz)
{
	size_t o = 0;

	if (bufsz == 0) {
		return (LLMCOST_ETOOBIG);
	}
	buf[0] = '\0';
	for (size_t i = 0; i < NSETTINGS; i++) {
		const setting *s = &settings[i];
		const char *p = (const char *) cfg + s->off;
		const char *sep = i == 0 ? "" : " ";
		size_t room = o < bufsz ? bufsz - o : 0;
		int n;
		int level;
		uint64_t u;

		switch (s->type) {
		case T_PATH:
		case T_URL:
			// An empty path is an unset optional file.
			n = snprintf(buf + o, room, "%s%s=%s", sep, s->name,
			    p[0] != '\0' ? p : "-");
			break;
		case T_LEVEL:
			memcpy(&level, p, sizeof(level));
			n = snprintf(buf + o, room, "%s%s=%s", sep, s->name,
			    llmcost__log_level_name(level));
			break;
		default:
			memcpy(&u, p, sizeof(u));
			n = snprintf(buf + o, room, "%s%s=%llu", sep, s->name,
			    (unsigned long long) u);
			break;
		}
		if (n < 0 || (size_t) n >= room) {
			return (LLMCOST_ETOOBIG);
		}
		o += (size_t) n;
	}
	return (0);
}

// Fills budgets-file, after data-dir, where nothing set it.
static int
derive_budgets(config *cfg, char *err, size_t errsz)
{
	if (cfg->budgets_file[0] == '\0') {
		int n = snprintf(cfg->budgets_file, sizeof(cfg->budgets_file),
		    "%s/budgets.conf", cfg->data_dir);
		if (n < 0 || (size_t) n >= sizeof(cfg->budgets_file)) {
			cfg->budgets_file[0] = '\0';
			snprintf(err, errsz,
			    "the data directory is too long for the default "
			    "budgets file DATA_DIR/budgets.conf: pass "
			    "--budgets-file");
			return (CONFIG_ERROR);
		}
	}
	return (CONFIG_RUN);
}

// Fills data-dir and listen where nothing set them.
static int
derive(config *cfg, char *err, size_t errsz)
{
	int dir_defaulted = cfg->data_dir[0] == '\0';
	int rv;

	if (dir_defaulted
	    && (rv = llmcost__default_dir(
	            cfg->data_dir, sizeof(cfg->data_dir)))
	        != 0) {
		if (rv == LLMCOST_ETOOBIG) {
			snprintf(err, errsz,
			    "the default data directory is longer than %zu "
			    "bytes: pass --data-dir",
			    sizeof(cfg->data_dir) - 1);
		} else {
			snprintf(err, errsz,
			    "no data directory: pass --data-dir or set HOME");
		}
		return (CONFIG_ERROR);
	}
	if (cfg->listen[0] != '\0') {
		return (CONFIG_RUN);
	}
	if (dir_defaulted) {
		// The one resolver the shim and the CLI use as well.
		rv = llmcost__default_url(cfg->listen, sizeof(cfg->listen));
	} else {
		int n = snprintf(cfg->listen, sizeof(cfg->listen),
		    "ipc://%s/" LLMCOST_SOCKET_NAME, cfg->data_dir);
		rv = n < 0 || (size_t) n >= sizeof(cfg->listen)
		    ? LLMCOST_ETOOBIG
		    : 0;
	}
	if (rv != 0) {
		cfg->listen[0] = '\0';
		snprintf(err, errsz,
		    "the data directory is too long for the default listen "
		    "URL ipc://DATA_DIR/" LLMCOST_SOCKET_NAME
		    " (at most %zu bytes): pass --listen",
		    sizeof(cfg->listen) - 1);
		return (CONFIG_ERROR);
	}
	return (CONFIG_RUN);
}

int
config_load(config *cfg, int argc, char *const *argv, FILE *out, char *err,
    size_t errsz)
{
	memset(cfg, 0, sizeof(*cfg));
	err[0] = '\0';
	for (size_t i = 0; i < NSETTINGS; i++) {
		if (settings[i].dflt != NULL
		    && apply(cfg, &settings[i], settings[i].dflt, FROM_DEFAULT,
		           err, errsz)
		        != CONFIG_RUN) {
			return (CONFIG_ERROR);
		}
	}
	for (size_t i = 0; i < NSETTINGS; i++) {
		const char *v = getenv(settings[i].env);
		if (v != NULL && *v != '\0'
		    && apply(cfg, &settings[i], v, FROM_ENV, err, errsz)
		        != CONFIG_RUN) {
			return (CONFIG_ERROR);
		}
	}
	for (int a = 1; a < argc; a++) {
		const char *arg = argv[a];
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			config_usage(out, argv[0]);
			return (CONFIG_EXIT);
		}
		if (strcmp(arg, "-V") == 0 || strcmp(arg, "--version") == 0) {
			fprintf(out, "llmcostd %s\n", llmcost_version());
			return (CONFIG_EXIT);
		}
		if (strncmp(arg, "--", 2) != 0) {
			snprintf(err, errsz,
			    "unexpected argument '%.64s' (see --help)", arg);
			return (CONFIG_ERROR);
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
			snprintf(err, errsz,
			    "unknown option '%.64s' (see --help)", arg);
			return (CONFIG_ERROR);
		}
		const char *val
		    = eq ? eq + 1 : (a + 1 < argc ? argv[++a] : NULL);
		if (val == NULL) {
			snprintf(err, errsz, "--%s needs a value", s->name);
			return (CONFIG_ERROR);
		}
		if (apply(cfg, s, val, FROM_OPTION, err, errsz)
		    != CONFIG_RUN) {
			return (CONFIG_ERROR);
		}
	}
	if (derive(cfg, err, errsz) != CONFIG_RUN) {
		return (CONFIG_ERROR);
	}
	return (derive_budgets(cfg, err, errsz));
}
