// The built-in price files, compiled in (the build generates
// prices_data.c from data/prices/*.txt with cmake/LlmcostEmbed.cmake).
#ifndef LLMCOST_CORE_PRICES_DATA_H
#define LLMCOST_CORE_PRICES_DATA_H

#include <stddef.h>

#include "prices.h"

extern const prices_source prices_data_sources[];
extern const size_t prices_data_count;

#endif // LLMCOST_CORE_PRICES_DATA_H
