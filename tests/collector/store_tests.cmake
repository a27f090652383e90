# Tests for the collector's store and reports, included from
# tests/CMakeLists.txt (so source paths are relative to tests/).
llmcost_add_test(store collector/store_test.c unit 120 llmcost_core)
llmcost_add_test(report collector/report_test.c unit 60 llmcost_core)
