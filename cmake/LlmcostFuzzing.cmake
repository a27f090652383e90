# Fuzz target registration shared by proto/fuzz/ and langsmith/fuzz/:
# one libFuzzer executable per target, registered as llmcost.fuzz_<name>
# with the fuzz label, a bounded run and the checked-in seeds.  Included
# only with -DLLMCOST_FUZZ=ON (the top-level CMakeLists.txt then compiles
# everything with -fsanitize=fuzzer-no-link,address,undefined); run by
# proto/fuzz/run.sh.
include_guard(GLOBAL)

set(LLMCOST_FUZZ_RUNS 200000 CACHE STRING
  "libFuzzer -runs for each llmcost.fuzz_* test")
set(LLMCOST_FUZZ_SECONDS 45 CACHE STRING
  "libFuzzer -max_total_time for each llmcost.fuzz_* test")

# llmcost_add_fuzz(<name> <source> [libraries...]): the executable is the
# source's name without .c; the seeds are in corpus/ beside the source.
function(llmcost_add_fuzz name source)
  get_filename_component(exe ${source} NAME_WE)
  add_executable(${exe} ${source})
  target_link_libraries(${exe} PRIVATE ${ARGN})
  target_link_options(${exe} PRIVATE -fsanitize=fuzzer)
  # libFuzzer writes the inputs it finds into the first corpus directory:
  # give it one in the build tree, so the checked-in seeds are only read.
  set(work ${CMAKE_CURRENT_BINARY_DIR}/corpus-work)
  file(MAKE_DIRECTORY ${work})
  add_test(NAME llmcost.fuzz_${name}
    COMMAND ${exe} -runs=${LLMCOST_FUZZ_RUNS}
      -max_total_time=${LLMCOST_FUZZ_SECONDS} -max_len=65536 -timeout=10
      -rss_limit_mb=2048 -print_final_stats=1
      ${work} ${CMAKE_CURRENT_SOURCE_DIR}/corpus)
  set_tests_properties(llmcost.fuzz_${name} PROPERTIES LABELS fuzz
    TIMEOUT 120)
endfunction()
