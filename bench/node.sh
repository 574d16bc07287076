#!/usr/bin/env bash
# Measures xlogtool node against Tarantool 2.6.0 on this machine, with the
# same client (bench/nodeload) and the same load:
#
#   (a) REPLACE of [k, "payload"] into a memtx TREE space, wal_mode write,
#       with 1, 10 and 100 connections, DEPTH requests in flight on each:
#       requests per second, p50 and p99 latency, and the server's CPU
#       time per request. Both servers run side by side and the runs
#       alternate (Tarantool, node, Tarantool, node, ...) REPS times per
#       load, so that both see the same machine; the medians are printed
#       at the end with the ratio node / Tarantool;
#   (b) a snapshot of 1M such tuples (box.snapshot) and the recovery of
#       that snapshot at start-up, and the memory per tuple (RSS growth
#       over the load of 1M tuples).
#
# Usage, from the repository root: bench/node.sh [SECONDS] [DEPTH] [REPS]
#   XLOGTOOL_BENCH_ONLY=rps      runs (a) only
#   XLOGTOOL_BENCH_NODES="old=/path/to/xlogtool new=/path/to/xlogtool"
#                                compares node binaries too (default: the
#                                one built from this tree, named node)
# Each server is started in a new directory under ${XLOGTOOL_BENCH_DIR:-/tmp/xlogtool-nodebench}
# on 127.0.0.1 and stopped by its PID.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
secs=${1:-5}
depth=${2:-16}
reps=${3:-3}
base=${XLOGTOOL_BENCH_DIR:-/tmp/xlogtool-nodebench}
tarantool=${XLOGTOOL_TARANTOOL:-tarantool}
rm -rf "$base"; mkdir -p "$base"
(cd "$root" && go build -o "$base/xlogtool" ./cmd/xlogtool && go build -o "$base/nodeload" ./bench/nodeload)
nodes=${XLOGTOOL_BENCH_NODES:-node=$base/xlogtool}

freeport() { python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"; }
pids=()
stopall() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done; pids=(); }
trap stopall EXIT
waitup() { # addr
  for _ in $(seq 1 600); do
    "$tarantool" -e "local c = require('net.box').connect('bench:bench@$1') os.exit(c:is_connected() and 0 or 1)" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "server at $1 did not come up" >&2; exit 1
}
lua() { "$tarantool" -e "local c = require('net.box').connect('bench:bench@$1') $2 os.exit(0)"; }
setup="pcall(c.call, c, 'box.schema.space.create', {'b', {if_not_exists = true}}) pcall(c.call, c, 'box.space.b:create_index', {'pk', {if_not_exists = true}})"
cputicks() { awk '{print $14 + $15}' /proc/"$1"/stat; }
rss() { awk '/VmRSS/ {print $2}' /proc/"$1"/status; }

start_tarantool() { # dir addr
  mkdir -p "$1"
  cat > "$1/init.lua" <<LUA
box.cfg{listen = '$2', wal_mode = 'write', memtx_memory = 2 * 1024^3, log = 'tarantool.log', checkpoint_interval = 0}
box.once('bench', function()
  box.schema.user.create('bench', {password = 'bench'})
  box.schema.user.grant('bench', 'super')
end)
LUA
  (cd "$1" && exec "$tarantool" init.lua) & pid=$!
  pids+=("$pid")
  waitup "$2"
}
start_node() { # dir addr [binary]
  mkdir -p "$(dirname "$1")"
  "${3:-$base/xlogtool}" node --dir "$1" --listen "$2" --wal-mode write --memtx-memory $((2 * 1024 * 1024 * 1024)) \
    --checkpoint-interval 0 --bootstrap-user bench:bench --log "$1.log" & pid=$!
  pids+=("$pid")
  waitup "$2"
}

# (a) throughput and latency, alternating runs.
names=(tarantool); addrs=(); spids=()
addr=127.0.0.1:$(freeport); start_tarantool "$base/tarantool/a" "$addr"; addrs+=("$addr"); spids+=("$pid")
for nb in $nodes; do
  names+=("${nb%%=*}")
  addr=127.0.0.1:$(freeport); start_node "$base/${nb%%=*}/a" "$addr" "${nb#*=}"; addrs+=("$addr"); spids+=("$pid")
done
for a in "${addrs[@]}"; do lua "$a" "$setup"; done
results=$base/results.txt; : > "$results"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$reps"); do
  for n in 1 10 100; do
    for i in "${!names[@]}"; do
      t0=$(cputicks "${spids[$i]}")
      line=$("$base/nodeload" -addr "${addrs[$i]}" -user bench -password bench -clients "$n" -depth "$depth" -duration "${secs}s")
      t1=$(cputicks "${spids[$i]}")
      req=$(echo "$line" | sed 's/.*requests=\([0-9]*\).*/\1/')
      echo "${names[$i]} load=$(cut -d' ' -f1 /proc/loadavg) $line cpu_us_per_req=$(echo "scale=2; ($t1 - $t0) * 1000000 / $(getconf CLK_TCK) / $req" | bc)" | tee -a "$results"
    done
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$results" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    f = line.split()
    kv = dict(x.split('=', 1) for x in f[1:] if '=' in x)
    runs[(int(kv['clients']), f[0])].append((float(kv['rps']), float(kv['p50'][:-2]), float(kv['p99'][:-2]), float(kv['cpu_us_per_req'])))
print('medians: clients server req/s p50 p99 (ms) server-CPU-us/req  [/ tarantool]')
for (n, name) in sorted(runs, key=lambda k: (k[0], k[1] != 'tarantool', k[1])):
    m = [statistics.median(r[i] for r in runs[(n, name)]) for i in range(4)]
    ratio = ''
    if name != 'tarantool':
        t = statistics.median(r[0] for r in runs[(n, 'tarantool')])
        ratio = '  %.2fx' % (m[0] / t)
    print('%4d %-10s %8.0f %7.3f %8.3f %6.2f%s' % (n, name, m[0], m[1], m[2], m[3], ratio))
PY
stopall
[ "${XLOGTOOL_BENCH_ONLY:-}" = rps ] && exit 0

# (b) 1M tuples: load, memory, snapshot, recovery.
run1m() { # name start-function
  local dir=$base/$1 addr
  addr=127.0.0.1:$(freeport)
  echo "== $1"
  $2 "$dir/b" "$addr"
  lua "$addr" "$setup"
  local before; before=$(rss "$pid")
  local t0; t0=$(date +%s.%N)
  "$base/nodeload" -addr "$addr" -user bench -password bench -clients 10 -depth 64 -count 1000000 >/dev/null
  local t1; t1=$(date +%s.%N)
  local after; after=$(rss "$pid")
  echo "load 1M: $(echo "$t1 - $t0" | bc) s, RSS +$(( (after - before) )) KiB = $(( (after - before) * 1024 / 1000000 )) bytes/tuple"
  lua "$addr" "local clock = require('clock') local t = clock.monotonic() c:call('box.snapshot') print(string.format('snapshot 1M: %.2f s', clock.monotonic() - t))"
  stopall
  rm -f "$dir"/b/*.xlog
  t0=$(date +%s.%N)
  $2 "$dir/b" "$addr"
  t1=$(date +%s.%N)
  echo "recovery of the 1M snapshot (start to first connection): $(echo "$t1 - $t0" | bc) s"
  stopall
}
run1m tarantool start_tarantool
run1m node start_node
