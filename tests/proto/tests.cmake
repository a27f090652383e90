# Tests for proto/, included from tests/CMakeLists.txt (so source paths are
# relative to tests/).
llmcost_add_test(codec proto/codec_test.c unit 60 llmcost_proto)
llmcost_add_test(util proto/util_test.c unit 60 llmcost_proto)
