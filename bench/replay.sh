#!/usr/bin/env bash
# Measures `xlogtool replay` against Tarantool's own recovery of the same
# data directory, side by side: wall time and peak RSS of the whole
# process, runs alternating, medians; and the memory memtx gives the
# recovered tuples (arena and index sizes, per tuple).
#
# Usage, from the repository root:
#   bench/replay.sh DIR [RUNS] [-- REPLAY-FLAGS...]
# DIR holds a snapshot and xlogs (e.g. made by bench/genxlog.lua, or the
# files the replay benchmarks keep with XLOGTOOL_BENCH_DIR). Tarantool
# recovers from a copy made of hard links (it writes a new xlog). RUNS
# defaults to 5. REPLAY-FLAGS default to `--format json` (output to
# /dev/null).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
dir=${1:?usage: bench/replay.sh DIR [RUNS] [-- REPLAY-FLAGS...]}
runs=${2:-5}
shift $(( $# < 2 ? $# : 2 ))
[ "${1:-}" = "--" ] && shift
flags=("$@")
[ ${#flags[@]} -eq 0 ] && flags=(--format json)
tarantool=${XLOGTOOL_TARANTOOL:-tarantool}
command -v "$tarantool" >/dev/null || { echo "replay.sh: no tarantool" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "replay.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
(cd "$root" && go build -o "$work/xlogtool" ./cmd/xlogtool)
cat >"$work/recover.lua" <<'EOF'
box.cfg{work_dir = arg[1], log = 'tarantool.log', memtx_memory = 4 * 1024 * 1024 * 1024,
        checkpoint_interval = 0}
local tuples, bsize, isize = 0, 0, 0
for _, s in box.space._space:pairs({512}, {iterator = 'GE'}) do
    local sp = box.space[s[1]]
    if sp ~= nil and sp.engine == 'memtx' and sp.index[0] ~= nil then
        tuples = tuples + sp:len()
        bsize = bsize + sp:bsize()
        for k, ix in pairs(sp.index) do
            if type(k) == 'number' then isize = isize + ix:bsize() end
        end
    end
end
io.stderr:write(string.format('MEMTX %d %d %d %d\n', tonumber(tuples), tonumber(bsize), tonumber(isize), tonumber(box.slab.info().arena_used)))
os.exit(0)
EOF

one() { # label command...: prints "wall rss_kb"
  local label=$1; shift
  /usr/bin/time -f "TIME %e %M" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  grep '^TIME' "$work/err" | awk '{print $2, $3}'
  grep '^MEMTX' "$work/err" >"$work/memtx.$label" || true
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

: >"$work/x"; : >"$work/t"
for i in $(seq "$runs"); do
  one x "$work/xlogtool" replay "${flags[@]}" "$dir" >>"$work/x"
  rm -rf "$work/tdir"; mkdir "$work/tdir"
  for f in "$dir"/*.snap "$dir"/*.xlog; do [ -e "$f" ] && ln "$f" "$work/tdir/"; done
  one t "$tarantool" "$work/recover.lua" "$work/tdir" >>"$work/t"
done
xw=$(cut -d' ' -f1 "$work/x" | median); xm=$(cut -d' ' -f2 "$work/x" | median)
tw=$(cut -d' ' -f1 "$work/t" | median); tm=$(cut -d' ' -f2 "$work/t" | median)
read -r _ tuples bsize isize arena <"$work/memtx.t"
echo "data: $dir ($tuples user tuples)"
printf '%-28s %8s s %8d MB\n' "xlogtool replay ${flags[*]}" "$xw" $((xm / 1024))
printf '%-28s %8s s %8d MB\n' "tarantool recovery" "$tw" $((tm / 1024))
awk -v x="$xw" -v t="$tw" -v xm="$xm" -v tm="$tm" 'BEGIN {printf "time ratio (Tarantool/xlogtool) %.2f, peak RSS ratio (xlogtool/Tarantool) %.2f\n", t/x, xm/tm}'
if [ "$tuples" -gt 0 ]; then
  awk -v n="$tuples" -v b="$bsize" -v i="$isize" -v a="$arena" -v xm="$xm" -v tm="$tm" 'BEGIN {
    printf "memtx per tuple: %.0f B data (bsize) + %.0f B indexes; arena %.0f B; peak RSS per tuple: xlogtool %.0f B, Tarantool %.0f B\n",
      b/n, i/n, a/n, xm*1024/n, tm*1024/n }'
fi
