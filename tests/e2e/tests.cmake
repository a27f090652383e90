# End-to-end tests: the real llmcostd and llmcost binaries, real sockets,
# real LMDB files.
add_library(llmcost_harness STATIC e2e/harness.c)
target_include_directories(llmcost_harness PUBLIC e2e)
llmcost_add_test(e2e_report e2e/report_test.c integration 180
  llmcost_harness llmcost PkgConfig::JANSSON)
llmcost_add_test(e2e_crash e2e/crash_test.c integration 300
  llmcost_harness llmcost PkgConfig::JANSSON Threads::Threads)
llmcost_add_test(e2e_malformed e2e/malformed_test.c integration 180
  llmcost_harness llmcost_proto nng::nng)
llmcost_add_test(e2e_cli e2e/cli_test.c integration 120 llmcost_harness)
foreach(t e2e_report e2e_crash e2e_malformed e2e_cli)
  add_dependencies(${t}_test llmcostd llmcost_cli)
endforeach()
if(LLMCOST_BUILD_EXAMPLES)
  add_dependencies(e2e_cli_test demo_app quickstart)
endif()
