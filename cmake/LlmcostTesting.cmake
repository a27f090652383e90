# Test registration shared by every folder: one cmocka executable per
# module, registered as llmcost.<name> with a label and a timeout (nng's
# nng_test()).  Sources are required, never OPTIONAL: a renamed or
# missing test file fails the configure step instead of silently dropping
# the test.
find_library(CMOCKA_LIB cmocka REQUIRED)
find_path(CMOCKA_INCLUDE cmocka.h REQUIRED)

# llmcost_add_test(<name> <source> <label> <timeout> [libraries...])
# Every test runs with LANGSMITH_TRACING=false, so that a LangSmith API key
# in the developer's environment never sends test calls to LangSmith; the
# tests of the exporter set what they need themselves.
function(llmcost_add_test name source label timeout)
  if(NOT EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${source})
    message(FATAL_ERROR "test llmcost.${name}: no source ${source}")
  endif()
  add_executable(${name}_test ${source})
  target_include_directories(${name}_test PRIVATE ${CMOCKA_INCLUDE}
    ${PROJECT_SOURCE_DIR}/tests ${PROJECT_SOURCE_DIR}/include
    ${LLMCOST_GENERATED_INCLUDE})
  target_link_libraries(${name}_test PRIVATE ${CMOCKA_LIB} ${ARGN})
  add_test(NAME llmcost.${name} COMMAND ${name}_test)
  set_tests_properties(llmcost.${name} PROPERTIES LABELS ${label}
    TIMEOUT ${timeout}
    ENVIRONMENT "LLMCOSTD_BIN=$<TARGET_FILE:llmcostd>;LLMCOST_CLI_BIN=$<TARGET_FILE:llmcost_cli>;LLMCOST_SOURCE_DIR=${PROJECT_SOURCE_DIR};LANGSMITH_TRACING=false")
endfunction()
