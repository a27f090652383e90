#!/usr/bin/env bash
# Checks that every C source follows .clang-format (nng's style).  Exits
# 77 (skipped) when clang-format is not installed.
set -euo pipefail
src=${1:?source directory}
command -v clang-format >/dev/null 2>&1 || { echo "clang-format not installed: skipped"; exit 77; }
cd "$src"
files=$(find include common proto langsmith providers shim core collector cli examples bench tests -name '*.[ch]' | sort)
if ! out=$(clang-format --dry-run -Werror $files 2>&1); then
  echo "$out" | grep -E '^[^ ]+:[0-9]+:[0-9]+: error' | cut -d: -f1 | sort | uniq -c
  echo "run: clang-format -i <file> (see .clang-format)"
  exit 1
fi
echo "$(echo "$files" | wc -l) files formatted"
