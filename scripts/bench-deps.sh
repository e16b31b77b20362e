#!/usr/bin/env bash
# Install the system packages the benchmark needs when they are missing:
#   - wrk, the native HTTP load generator that measures throughput (`python -m bench --native`,
#     bench/wrk.py); the Python client cannot drive Oxigraph's server to its limit;
#   - valgrind, whose callgrind counts the instructions of a light lookup
#     (`python -m bench.instructions`), a measure that does not move with the machine's load.
# Needs root (CI runs as root); elsewhere it only says what is missing.
set -euo pipefail
missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "bench-deps: missing ${missing[*]}; install them (as root: apt-get install -y ${missing[*]})." >&2
  exit 0
fi
echo "bench-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
