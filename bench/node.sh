#!/usr/bin/env bash
# Measures xlogtool node against Tarantool 2.6.0 on this machine, with the
# same client (bench/nodeload) and the same load:
#
#   (a) REPLACE of [k, "payload"] into a memtx TREE space, wal_mode write,
#       with 1, 10 and 100 connections, DEPTH requests in flight on each:
#       requests per second, p50 and p99 latency;
#   (b) a snapshot of 1M such tuples (box.snapshot) and the recovery of
#       that snapshot at start-up, and the memory per tuple (RSS growth
#       over the load of 1M tuples).
#
# Usage, from the repository root: bench/node.sh [SECONDS] [DEPTH]
# Each server is started in a new directory under ${XLOGTOOL_BENCH_DIR:-/tmp/xlogtool-nodebench}
# on 127.0.0.1 and stopped by its PID.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
secs=${1:-5}
depth=${2:-16}
base=${XLOGTOOL_BENCH_DIR:-/tmp/xlogtool-nodebench}
tarantool=${XLOGTOOL_TARANTOOL:-tarantool}
port=${XLOGTOOL_BENCH_PORT:-$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")}
addr=127.0.0.1:$port
rm -rf "$base"; mkdir -p "$base"
(cd "$root" && go build -o "$base/xlogtool" ./cmd/xlogtool && go build -o "$base/nodeload" ./bench/nodeload)

pid=
stop() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; pid=; }
trap stop EXIT
waitup() {
  for _ in $(seq 1 600); do
    "$tarantool" -e "local c = require('net.box').connect('bench:bench@$addr') os.exit(c:is_connected() and 0 or 1)" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "server did not come up" >&2; exit 1
}
rss() { awk '/VmRSS/ {print $2}' /proc/"$pid"/status; }
lua() { "$tarantool" -e "local c = require('net.box').connect('bench:bench@$addr') $1 os.exit(0)"; }
setup="pcall(c.call, c, 'box.schema.space.create', {'b', {if_not_exists = true}}) pcall(c.call, c, 'box.space.b:create_index', {'pk', {if_not_exists = true}})"

start_tarantool() {
  mkdir -p "$1"
  cat > "$1/init.lua" <<LUA
box.cfg{listen = '$addr', wal_mode = 'write', memtx_memory = 2 * 1024^3, log = 'tarantool.log', checkpoint_interval = 0}
box.once('bench', function()
  box.schema.user.create('bench', {password = 'bench'})
  box.schema.user.grant('bench', 'super')
end)
LUA
  (cd "$1" && exec "$tarantool" init.lua) & pid=$!
  waitup
}
start_node() {
  mkdir -p "$(dirname "$1")"
  "$base/xlogtool" node --dir "$1" --listen "$addr" --wal-mode write --memtx-memory $((2 * 1024 * 1024 * 1024)) \
    --checkpoint-interval 0 --bootstrap-user bench:bench --log "$1.log" & pid=$!
  waitup
}

run() { # name start-function
  local dir=$base/$1
  echo "== $1"
  $2 "$dir/a"
  lua "$setup"
  for n in 1 10 100; do
    "$base/nodeload" -addr "$addr" -user bench -password bench -clients "$n" -depth "$depth" -duration "${secs}s"
  done
  stop
  $2 "$dir/b"
  lua "$setup"
  local before; before=$(rss)
  local t0; t0=$(date +%s.%N)
  "$base/nodeload" -addr "$addr" -user bench -password bench -clients 10 -depth 64 -count 1000000 >/dev/null
  local t1; t1=$(date +%s.%N)
  local after; after=$(rss)
  echo "load 1M: $(echo "$t1 - $t0" | bc) s, RSS +$(( (after - before) )) KiB = $(( (after - before) * 1024 / 1000000 )) bytes/tuple"
  lua "local clock = require('clock') local t = clock.monotonic() c:call('box.snapshot') print(string.format('snapshot 1M: %.2f s', clock.monotonic() - t))"
  stop
  rm -f "$dir"/b/*.xlog
  t0=$(date +%s.%N)
  $2 "$dir/b"
  t1=$(date +%s.%N)
  echo "recovery of the 1M snapshot (start to first connection): $(echo "$t1 - $t0" | bc) s"
  stop
}
run tarantool start_tarantool
run node start_node
