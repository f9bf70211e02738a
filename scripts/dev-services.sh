#!/usr/bin/env bash
# Brings up what the tests and the distributed shop need on this machine, idempotently:
#   - Debian packages when missing (nats-server, redis-server, postgresql, prometheus, chromium, h2load);
#   - NATS with JetStream on 127.0.0.1:4222, Redis on 6379, PostgreSQL on 5432 (database `weft`, trust
#     auth on loopback), each started only when nothing answers on its port;
#   - the pinned Go test peers in .tools/bin (Jaeger, the Connect conformance runner), built only when
#     missing. Builds are kept per version in ~/.cache/weft-tools, so a fresh clone copies instead of
#     rebuilding.
# Usage: scripts/dev-services.sh [--no-tools] [--help]   (also: npm run services)
set -euo pipefail
cd "$(dirname "$0")/.."

JAEGER_MODULE=github.com/jaegertracing/jaeger
JAEGER_VERSION=v1.76.0 # the commit of Jaeger v2.13.0; ./cmd/jaeger is the v2 binary
CONFORMANCE_MODULE=connectrpc.com/conformance
CONFORMANCE_VERSION=v1.0.5

build_tools=1
for arg in "$@"; do
  case "$arg" in
    --no-tools) build_tools=0 ;;
    -h|--help)
      sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
      echo
      echo "Environment: NATS_PORT (4222), REDIS_PORT (6379), PGPORT (5432), WEFT_TOOLS_CACHE (~/.cache/weft-tools)"
      exit 0 ;;
    *) echo "WEFT_ERR_DEV_SERVICES_USAGE: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done

NATS_PORT=${NATS_PORT:-4222}
REDIS_PORT=${REDIS_PORT:-6379}
PGPORT=${PGPORT:-5432}
STATE=/var/lib/weft-dev
TOOLS_CACHE=${WEFT_TOOLS_CACHE:-${HOME:-/root}/.cache/weft-tools}

log() { printf '== %s\n' "$*"; }
answers() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
wait_port() {
  for _ in $(seq 1 100); do answers "$1" && return 0; sleep 0.1; done
  echo "WEFT_ERR_DEV_SERVICES: $2 is not answering on 127.0.0.1:$1 (log: $3)" >&2
  exit 1
}

# --- Debian packages -------------------------------------------------------------------------------
need=()
command -v nats-server >/dev/null || need+=(nats-server)
command -v redis-server >/dev/null || need+=(redis-server)
[ -n "$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null)" ] || need+=(postgresql)
command -v prometheus >/dev/null || need+=(prometheus)
command -v chromium >/dev/null || need+=(chromium)
command -v h2load >/dev/null || need+=(nghttp2-client)
command -v tmux >/dev/null || need+=(tmux)
if [ ${#need[@]} -gt 0 ]; then
  log "apt-get install ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
mkdir -p "$STATE"

# --- NATS with JetStream ---------------------------------------------------------------------------
if ! answers "$NATS_PORT"; then
  log "starting nats-server (JetStream) on 127.0.0.1:$NATS_PORT"
  # A fresh store at each start: it holds test data only. Streams reserve their max_bytes (the event
  # bus's default is 1 GiB) and a test run creates many, so the store's cap is set above the disk's.
  rm -rf "$STATE/nats"
  mkdir -p "$STATE/nats"
  printf 'listen: 127.0.0.1:%s\njetstream { store_dir: "%s", max_file_store: 1T, max_memory_store: 2G }\n' \
    "$NATS_PORT" "$STATE/nats" > "$STATE/nats.conf"
  nohup nats-server -c "$STATE/nats.conf" -l "$STATE/nats.log" >/dev/null 2>&1 &
  wait_port "$NATS_PORT" nats-server "$STATE/nats.log"
fi

# --- Redis -----------------------------------------------------------------------------------------
if ! answers "$REDIS_PORT"; then
  log "starting redis-server on 127.0.0.1:$REDIS_PORT"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --logfile "$STATE/redis.log" --dir "$STATE"
  wait_port "$REDIS_PORT" redis-server "$STATE/redis.log"
fi

# --- PostgreSQL ------------------------------------------------------------------------------------
if ! answers "$PGPORT"; then
  pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  pgdata="$STATE/postgres"
  if [ ! -f "$pgdata/PG_VERSION" ]; then
    log "initdb $pgdata (trust auth on loopback)"
    mkdir -p "$pgdata" && chown postgres:postgres "$pgdata"
    su postgres -s /bin/sh -c "$pgbin/initdb -D $pgdata -A trust -U postgres -E UTF8 >/dev/null"
  fi
  log "starting postgresql on 127.0.0.1:$PGPORT"
  touch "$STATE/postgres.log" && chown postgres:postgres "$STATE/postgres.log"
  su postgres -s /bin/sh -c "$pgbin/pg_ctl -D $pgdata -l $STATE/postgres.log -w -o '-h 127.0.0.1 -p $PGPORT -k /tmp' start >/dev/null"
  wait_port "$PGPORT" postgresql "$STATE/postgres.log"
fi
if ! psql -h 127.0.0.1 -p "$PGPORT" -U postgres -tAc "select 1 from pg_database where datname='weft'" | grep -q 1; then
  psql -h 127.0.0.1 -p "$PGPORT" -U postgres -qc "create database weft" >/dev/null
fi

# --- Pinned Go test peers in .tools/bin ------------------------------------------------------------
# go_tool NAME MODULE VERSION PACKAGE: builds PACKAGE of MODULE@VERSION as the main module (Jaeger's
# go.mod has replace directives, which `go install pkg@version` refuses).
go_tool() {
  local name=$1 module=$2 version=$3 pkg=$4
  local cached="$TOOLS_CACHE/$name-$version"
  mkdir -p .tools/bin "$TOOLS_CACHE"
  if [ -x ".tools/bin/$name" ] && [ "$(cat ".tools/bin/$name.version" 2>/dev/null)" = "$version" ]; then return 0; fi
  if [ ! -x "$cached" ]; then
    command -v go >/dev/null || { echo "WEFT_ERR_DEV_SERVICES: go is needed to build $name ($module@$version)" >&2; exit 1; }
    log "building $name from $module@$version (once per machine)"
    local dir buildlog="$TOOLS_CACHE/$name-$version.log"
    dir=$(cd /tmp && go mod download -json "$module@$version" 2>"$buildlog" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    [ -n "$dir" ] || { tail -n 20 "$buildlog" >&2; echo "WEFT_ERR_DEV_SERVICES: go mod download $module@$version failed" >&2; exit 1; }
    if ! (cd "$dir" && CGO_ENABLED=0 go build -trimpath -o "$cached.tmp" "$pkg") >>"$buildlog" 2>&1; then
      tail -n 20 "$buildlog" >&2
      echo "WEFT_ERR_DEV_SERVICES: building $name failed (log: $buildlog)" >&2
      exit 1
    fi
    mv "$cached.tmp" "$cached"
  fi
  cp "$cached" ".tools/bin/$name"
  echo "$version" > ".tools/bin/$name.version"
}
if [ "$build_tools" = 1 ]; then
  go_tool jaeger "$JAEGER_MODULE" "$JAEGER_VERSION" ./cmd/jaeger
  go_tool connectconformance "$CONFORMANCE_MODULE" "$CONFORMANCE_VERSION" ./cmd/connectconformance
fi

log "services: nats 127.0.0.1:$NATS_PORT, redis 127.0.0.1:$REDIS_PORT, postgresql 127.0.0.1:$PGPORT (db weft)"
