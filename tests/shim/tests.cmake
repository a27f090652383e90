# Tests for shim/, included from tests/CMakeLists.txt (so source paths are
# relative to tests/).  They link llmcost_testing, the shim built as a
# static library, so that they can reach internals.
llmcost_add_test(ring shim/ring_test.c unit 120 llmcost_testing)
llmcost_add_test(uuid7 shim/uuid7_test.c unit 60 llmcost_testing)
# client_test also opens the live collector's store read-only, to check
# that acknowledged calls were stored.
llmcost_add_test(client shim/client_test.c unit 120 llmcost_testing
  llmcost_core)
add_dependencies(client_test llmcostd)
