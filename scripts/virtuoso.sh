#!/usr/bin/env bash
# Install, start or stop a private Virtuoso 7 instance (Debian `virtuoso-opensource-7`) on
# 127.0.0.1, for the remote back end's tests and for local trials:
#
#   scripts/virtuoso.sh install                       # apt-get install when missing (root)
#   scripts/virtuoso.sh start DIR HTTPPORT [SQLPORT]  # database, ini, log and pid under DIR
#   scripts/virtuoso.sh stop  DIR
#
# `start` writes DIR/virtuoso.ini (ports on loopback, DirsAllowed, ResultSetMaxRows raised from
# Debian's 10000, MaxQueryExecutionTime), starts `virtuoso-t`, waits until /sparql answers, then
# grants the anonymous SPARQL account the right to update (loopback tests only: a deployment
# keeps that account read-only and writes through /sparql-auth). Endpoints: query and update
# at http://127.0.0.1:HTTPPORT/sparql, the Graph Store protocol at /sparql-graph-crud.
set -euo pipefail

usage() { echo "usage: $0 install | start DIR HTTPPORT [SQLPORT] | stop DIR" >&2; exit 2; }
[ $# -ge 1 ] || usage
action=$1

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

install() {
  command -v virtuoso-t >/dev/null 2>&1 && command -v isql-vt >/dev/null 2>&1 && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "virtuoso: not installed; as root: apt-get install -y virtuoso-opensource-7" >&2
    exit 1
  fi
  echo "virtuoso: installing virtuoso-opensource-7" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends virtuoso-opensource-7 >/dev/null 2>&1 || {
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends virtuoso-opensource-7 >/dev/null
  }
  # The package starts a system-wide service on ports 1111/8890; ours does not need it.
  if command -v systemctl >/dev/null 2>&1; then
    systemctl stop virtuoso-opensource-7 >/dev/null 2>&1 || true
  fi
}

write_ini() {  # DIR HTTPPORT SQLPORT
  local dir=$1 http=$2 sql=$3
  cat >"$dir/virtuoso.ini" <<EOF
[Database]
DatabaseFile       = $dir/virtuoso.db
ErrorLogFile       = $dir/virtuoso.log
LockFile           = $dir/virtuoso.lck
TransactionFile    = $dir/virtuoso.trx
xa_persistent_file = $dir/virtuoso.pxa
ErrorLogLevel      = 7
FileExtend         = 200
MaxCheckpointRemap = 2000
Striping           = 0
TempStorage        = TempDatabase

[TempDatabase]
DatabaseFile       = $dir/virtuoso-temp.db
TransactionFile    = $dir/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping           = 0

[Parameters]
ServerPort               = 127.0.0.1:$sql
LiteMode                 = 0
DisableUnixSocket        = 1
DisableTcpSocket         = 0
MaxClientConnections     = 20
CheckpointInterval       = 60
O_DIRECT                 = 0
CaseMode                 = 2
MaxStaticCursorRows      = 5000
CheckpointAuditTrail     = 0
AllowOSCalls             = 0
SchedulerInterval        = 10
DirsAllowed              = ., $dir, /usr/share/virtuoso-opensource-7/vad
ThreadCleanupInterval    = 0
ThreadThreshold          = 10
ResourcesCleanupInterval = 0
FreeTextBatchSize        = 100000
SingleCPU                = 0
PrefixResultNames        = 0
RdfFreeTextRulesSize     = 100
IndexTreeMaps            = 64
MaxMemPoolSize           = 200000000
MaxQueryMem              = 512M
VectorSize               = 1000
MaxVectorSize            = 1000000
AdjustVectorSize         = 0
ThreadsPerQuery          = 2
AsyncQueueMaxThreads     = 10
NumberOfBuffers          = 40000
MaxDirtyBuffers          = 30000

[HTTPServer]
ServerPort                  = 127.0.0.1:$http
ServerRoot                  = /var/lib/virtuoso-opensource-7/vsp
MaxClientConnections        = 20
DavRoot                     = DAV
EnabledDavVSP               = 0
HTTPProxyEnabled            = 0
TempASPXDir                 = 0
ServerThreads               = 20
MaxKeepAlives               = 20
KeepAliveTimeout            = 10
MaxCachedProxyConnections   = 10
ProxyConnectionCacheTimeout = 15
HTTPThreadSize              = 280000
HttpPrintWarningsInOutput   = 0
Charset                     = UTF-8
EnabledGzipContent          = 0

[Client]
SQL_PREFETCH_ROWS  = 100
SQL_PREFETCH_BYTES = 16000
SQL_QUERY_TIMEOUT  = 0
SQL_TXN_TIMEOUT    = 0

[SPARQL]
ResultSetMaxRows           = 1000000
MaxQueryCostEstimationTime = 400
MaxQueryExecutionTime      = 120
DeferInferenceRulesInit    = 0
EOF
}

grants() {  # the SQL giving the anonymous SPARQL account the right to update (loopback only)
  echo 'GRANT SPARQL_UPDATE TO "SPARQL";'
  for proc in SPARQL_INSERT_DICT_CONTENT SPARQL_DELETE_DICT_CONTENT \
      SPARQL_INSERT_QUAD_DICT_CONTENT SPARQL_MODIFY_BY_DICT_CONTENTS SPARQL_INSERT_DATA \
      SPARQL_DELETE_DATA RDF_OBJ_ADD_KEYWORD_FOR_GRAPH L_O_LOOK SPARUL_RUN SPARUL_CLEAR \
      SPARUL_DROP SPARUL_CREATE SPARUL_LOAD SPARQL_SD_PROBE TTLP RDF_TTL2HASH \
      RDF_GRAPH_GROUP_INS SPARQL_UPDATE; do
    echo "GRANT EXECUTE ON DB.DBA.$proc TO \"SPARQL\";"
  done
  echo "DB.DBA.RDF_DEFAULT_USER_PERMS_SET ('nobody', 7);"
}

start() {  # DIR HTTPPORT [SQLPORT]
  local dir http sql pid
  dir=$(mkdir -p "$1" && cd "$1" && pwd)
  http=$2
  sql=${3:-$(free_port)}
  install
  if [ -f "$dir/virtuoso.pid" ] && kill -0 "$(cat "$dir/virtuoso.pid")" 2>/dev/null; then
    echo "virtuoso already running (pid $(cat "$dir/virtuoso.pid"))" >&2; exit 1
  fi
  write_ini "$dir" "$http" "$sql"
  (cd "$dir" && exec virtuoso-t +foreground +configfile "$dir/virtuoso.ini" \
     >"$dir/stdout.log" 2>&1) &
  pid=$!
  echo "$pid" >"$dir/virtuoso.pid"
  for _ in $(seq 1 600); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "virtuoso exited; see $dir/virtuoso.log:" >&2
      tail -n 20 "$dir/virtuoso.log" "$dir/stdout.log" >&2 || true
      rm -f "$dir/virtuoso.pid"; exit 1
    fi
    if curl -fsS -o /dev/null --max-time 2 --data-urlencode 'query=ASK {}' \
         "http://127.0.0.1:$http/sparql" 2>/dev/null; then
      grants >"$dir/grants.sql"
      isql-vt "127.0.0.1:$sql" dba dba "$dir/grants.sql" >"$dir/grants.log" 2>&1 || {
        echo "virtuoso: the grants failed; see $dir/grants.log" >&2
        kill "$pid"; rm -f "$dir/virtuoso.pid"; exit 1
      }
      echo "virtuoso serving $dir at http://127.0.0.1:$http/sparql (pid $pid, SQL port $sql)"
      return 0
    fi
    sleep 0.1
  done
  echo "virtuoso not ready after 60 s; see $dir/virtuoso.log" >&2
  kill "$pid" 2>/dev/null || true
  rm -f "$dir/virtuoso.pid"
  exit 1
}

stop() {  # DIR
  local dir=${1%/} pid
  [ -f "$dir/virtuoso.pid" ] || { echo "virtuoso not running (no $dir/virtuoso.pid)" >&2; return 0; }
  pid=$(cat "$dir/virtuoso.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 300); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$dir/virtuoso.pid"
  echo "virtuoso stopped (pid $pid)"
}

case "$action" in
  install) install ;;
  start) [ $# -ge 3 ] || usage; start "$2" "$3" "${4:-}" ;;
  stop) [ $# -eq 2 ] || usage; stop "$2" ;;
  *) usage ;;
esac
