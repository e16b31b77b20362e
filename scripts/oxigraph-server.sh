#!/usr/bin/env bash
# Start or stop an Oxigraph SPARQL server (PyPI package `oxigraph`) on 127.0.0.1, for the
# remote back end's tests and for local trials:
#
#   scripts/oxigraph-server.sh start DIR PORT   # data in DIR, pid in DIR.pid, log in DIR.log
#   scripts/oxigraph-server.sh stop  DIR [PORT]
#
# `start` returns once the server answers on http://127.0.0.1:PORT/query (at most 30 s).
# The endpoints are then /query, /update and /store (Graph Store HTTP Protocol).
set -euo pipefail

usage() { echo "usage: $0 start DIR PORT | stop DIR [PORT]" >&2; exit 2; }
[ $# -ge 2 ] || usage
action=$1
dir=${2%/}
pidfile="$dir.pid"
logfile="$dir.log"
here=$(cd "$(dirname "$0")/.." && pwd)
oxigraph=${OXIGRAPH:-$here/.venv/bin/oxigraph}
[ -x "$oxigraph" ] || oxigraph=$(command -v oxigraph || true)

case "$action" in
  start)
    [ $# -eq 3 ] || usage
    port=$3
    [ -n "$oxigraph" ] || { echo "oxigraph not found: pip install oxigraph" >&2; exit 1; }
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "already running (pid $(cat "$pidfile"))" >&2; exit 1
    fi
    mkdir -p "$dir"
    "$oxigraph" serve --location "$dir" --bind "127.0.0.1:$port" >"$logfile" 2>&1 &
    pid=$!
    echo "$pid" >"$pidfile"
    for _ in $(seq 1 300); do
      if ! kill -0 "$pid" 2>/dev/null; then
        echo "oxigraph exited; see $logfile:" >&2; tail -n 20 "$logfile" >&2
        rm -f "$pidfile"; exit 1
      fi
      # An ASK over the empty default graph: 200 once the server is up.
      if curl -fsS -o /dev/null --max-time 2 \
           --data-urlencode 'query=ASK {}' "http://127.0.0.1:$port/query" 2>/dev/null; then
        echo "oxigraph serving $dir at http://127.0.0.1:$port (pid $pid)"
        exit 0
      fi
      sleep 0.1
    done
    echo "oxigraph not ready after 30 s; see $logfile" >&2
    kill "$pid" 2>/dev/null || true
    rm -f "$pidfile"
    exit 1
    ;;
  stop)
    [ -f "$pidfile" ] || { echo "not running (no $pidfile)" >&2; exit 0; }
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    fi
    rm -f "$pidfile"
    echo "oxigraph stopped (pid $pid)"
    ;;
  *) usage ;;
esac
