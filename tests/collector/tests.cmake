llmcost_add_test(prices collector/prices_test.c unit 60 llmcost_core)
