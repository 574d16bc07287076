#!/usr/bin/env bash
# Measures `xlogtool tail` on a live Tarantool (docs/tail.md):
#
#   (a) live: a master writes ROWS rows (REPLACE, transactions of BATCH
#       rows, as bench/genxlog.lua) while a real anonymous replica and
#       `xlogtool tail -f --format json` (output to a file) follow it; how
#       long after the master's last commit each has the last row;
#   (b) catch-up: `xlogtool tail --format json --from-vclock '{}'` of the
#       whole WAL afterwards, rows/s received and printed;
#   (c) the peak RSS of tail in (a) and (b), from /usr/bin/time.
#
# Usage, from the repository root: bench/tail.sh [ROWS] [BATCH]
# (defaults 1000000 and 100). Tarantool listens on 127.0.0.1 only; every
# process started is stopped by its pid.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
rows=${1:-1000000}
batch=${2:-100}
tarantool=${XLOGTOOL_TARANTOOL:-tarantool}
command -v "$tarantool" >/dev/null || { echo "tail.sh: no tarantool" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "tail.sh: needs /usr/bin/time" >&2; exit 2; }

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
(cd "$root" && go build -o "$work/xlogtool" ./cmd/xlogtool)

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
mport=$(port)
rport=$(port)
now() { date +%s.%N; }

mkdir -p "$work/master" "$work/replica"
cat >"$work/master.lua" <<EOF
local fio, fiber, clock = require('fio'), require('fiber'), require('clock')
box.cfg{listen = '127.0.0.1:$mport', work_dir = '$work/master', wal_mode = 'write',
  memtx_memory = 1024 * 1024 * 1024, checkpoint_interval = 0, log = 'tarantool.log'}
box.schema.user.create('repl', {password = 'secret', if_not_exists = true})
box.schema.user.grant('repl', 'replication', nil, nil, {if_not_exists = true})
local s = box.schema.space.create('bench', {if_not_exists = true})
s:create_index('pk', {if_not_exists = true})
math.randomseed(42)
local hex = '0123456789abcdef'
local function token()
  local t = {}
  for i = 1, 84 do local k = math.random(16) t[i] = hex:sub(k, k) end
  return table.concat(t)
end
fiber.create(function()
  while not fio.path.exists('$work/go') do fiber.sleep(0.01) end
  local t0 = clock.time()
  local id = 0
  while id < $rows do
    box.begin()
    for _ = 1, $batch do
      id = id + 1
      if id > $rows then break end
      s:replace{id, 'user-' .. id, id % 1000, id / 7, token()}
    end
    box.commit()
  end
  local f = io.open('$work/master.done', 'w')
  f:write(string.format('%.6f %.6f\n', t0, clock.time()))
  f:close()
end)
EOF
cat >"$work/replica.lua" <<EOF
local fio, fiber, clock = require('fio'), require('fiber'), require('clock')
box.cfg{listen = '127.0.0.1:$rport', work_dir = '$work/replica', replication = 'repl:secret@127.0.0.1:$mport',
  replication_anon = true, read_only = true, memtx_memory = 1024 * 1024 * 1024, log = 'tarantool.log'}
local f = io.open('$work/replica.ready', 'w') f:close()
fiber.create(function()
  while box.space.bench == nil or box.space.bench:len() < $rows do fiber.sleep(0.005) end
  local f = io.open('$work/replica.done', 'w')
  f:write(string.format('%.6f\n', clock.time()))
  f:close()
end)
EOF
(cd "$work" && exec "$tarantool" master.lua) & pids+=($!)
until "$work/xlogtool" tail --timeout 1s "repl:secret@127.0.0.1:$mport" >/dev/null 2>&1; do sleep 0.2; done
(cd "$work" && exec "$tarantool" replica.lua) & pids+=($!)
until [ -f "$work/replica.ready" ]; do sleep 0.1; done
/usr/bin/time -f '%e %U %S %M' -o "$work/tail.time" \
  "$work/xlogtool" tail -f --format json "repl:secret@127.0.0.1:$mport" >"$work/tail.json" 2>"$work/tail.err" &
tailpid=$!
pids+=($tailpid)
sleep 1
touch "$work/go"
until [ -f "$work/master.done" ]; do sleep 0.01; done
# tail has the last row once its JSON holds the tuple with id ROWS.
until tail -c 4096 "$work/tail.json" | grep -q "\"tuple\":\[$rows,"; do sleep 0.005; done
tail_done=$(now)
until [ -f "$work/replica.done" ]; do sleep 0.01; done
kill -INT "$(pgrep -P "$tailpid" || echo "$tailpid")" 2>/dev/null || true
wait "$tailpid" || true
read -r t0 t1 <"$work/master.done"
read -r rdone <"$work/replica.done"
read -r _ lu ls lrss <"$work/tail.time"
printed=$(wc -l <"$work/tail.json")

/usr/bin/time -f '%e %U %S %M' -o "$work/catch.time" \
  "$work/xlogtool" tail --format json --show-system --from-vclock '{}' "repl:secret@127.0.0.1:$mport" >/dev/null
read -r cw cu cs crss <"$work/catch.time"

awk -v rows="$rows" -v batch="$batch" -v t0="$t0" -v t1="$t1" -v rd="$rdone" -v td="$tail_done" \
  -v printed="$printed" -v lu="$lu" -v ls="$ls" -v lrss="$lrss" -v cw="$cw" -v cu="$cu" -v cs="$cs" -v crss="$crss" 'BEGIN {
  w = t1 - t0
  printf "rows %d in transactions of %d; tail -f printed %d rows\n", rows, batch, printed
  printf "(a) master wrote in %.2f s: %.0f rows/s\n", w, rows / w
  printf "    2.6.0 anonymous replica had the last row %.3f s after the last commit (%.0f rows/s overall)\n", rd - t1, rows / (rd - t0)
  printf "    xlogtool tail -f --format json had it %.3f s after (%.0f rows/s overall), CPU %.2f s, peak RSS %.1f MB\n", td - t1, rows / (td - t0), lu + ls, lrss / 1024
  printf "(b) catch-up from {}: %.2f s, %.0f rows/s, CPU %.2f s, peak RSS %.1f MB\n", cw, rows / cw, cu + cs, crss / 1024
}'
