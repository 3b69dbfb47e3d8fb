#!/usr/bin/env bash
# Usage: exported_symbols.sh <library> <the only symbol it may export>
# Fails when the library's dynamic table defines any other function or object.
set -euo pipefail
lib=$1 want=$2
[[ -f $lib ]] || { echo "no such library: $lib"; exit 1; }
defined=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TtDdBbRrVvWwuiG]$/ {print $3}' | sed 's/@.*//' | sort -u)
echo "defined dynamic symbols of $lib:"; echo "$defined" | sed 's/^/  /'
if [[ $defined != "$want" ]]; then
  echo "FAIL: expected only $want"; exit 1
fi
if nm -D --defined-only "$lib" | grep -q ' _Z'; then
  echo "FAIL: C++ symbols exported"; exit 1
fi
echo "ok: only $want"
