#!/usr/bin/env bash
# Fails when a C or C++ source of the project differs from what clang-format
# (with the repository's .clang-format) makes of it; names each such file.
set -euo pipefail
cd "$(dirname "$0")/../.."
bad=0
while IFS= read -r -d '' f; do
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "not formatted: $f (clang-format -i $f)"
    bad=1
  fi
done < <(git ls-files -z -- '*.c' '*.cc' '*.h' '*.hpp' 2>/dev/null ||
         find . -path ./build\* -prune -o \( -name '*.cc' -o -name '*.h' -o -name '*.hpp' -o -name '*.c' \) -print0)
exit $bad
