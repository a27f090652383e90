// llmcostd settings: one table gives defaults, environment variables,
// command-line options, validation, --help and the start-up banner.
#ifndef LLMCOSTD_CONFIG_H
#define LLMCOSTD_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_PATH_MAX 1024

typedef struct config {
	char data_dir[CONFIG_PATH_MAX];
	char listen[CONFIG_PATH_MAX];
	char log_level[16];
	uint64_t map_size_mb;
	uint64_t contexts;
	uint64_t txn_records;
} config;

// Fills cfg from defaults, then the environment, then argv.  Returns 0,
// 1 when --help or --version was printed (exit 0), or -1 after printing
// an error to stderr (exit 2).
int config_load(config *cfg, int argc, char **argv);
void config_usage(FILE *f, const char *prog);
// One line "name=value ..." for the banner.
void config_describe(const config *cfg, char *buf, size_t bufsz);

#endif // LLMCOSTD_CONFIG_H
