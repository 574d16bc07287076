#!/usr/bin/env bash
# Measures xlogtool against Tarantool's own reader on one WAL, side by side:
#
#   (a) printing every row as JSON:  xlogtool cat --format json FILE
#       vs what `tt cat --format json` runs: for each row of
#       require('xlog').pairs(FILE), print(require('json').encode(row))
#   (b) reading every row, checksums checked: xlogtool stats FILE
#       vs require('xlog').pairs(FILE) iterated without doing anything
#   (c) peak RSS of (a), from /usr/bin/time
#
# Usage, from the repository root:
#   bench/compare.sh [FILE] [RUNS]
# Without FILE, a WAL of a million rows is made once with bench/genxlog.lua
# in ${XLOGTOOL_BENCH_DIR:-/tmp/xlogtool-bench}. Every command runs RUNS
# times (default 5); the fastest run counts (the machine may be busy with
# other work). Output goes to /dev/null.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
file=${1:-}
runs=${2:-5}
tarantool=${XLOGTOOL_TARANTOOL:-tarantool}
command -v "$tarantool" >/dev/null || { echo "compare.sh: no tarantool" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "compare.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }

if [ -z "$file" ]; then
  dir=${XLOGTOOL_BENCH_DIR:-/tmp/xlogtool-bench}
  file=$dir/00000000000000000000.xlog
  if [ ! -f "$file" ]; then
    echo "making $file with Tarantool ..." >&2
    (cd /tmp && "$tarantool" "$here/genxlog.lua" "$dir" >&2)
  fi
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
(cd "$root" && go build -o "$work/xlogtool" ./cmd/xlogtool)
cat >"$work/json.lua" <<'EOF'
local json = require('json')
for _, row in require('xlog').pairs(arg[1]) do print(json.encode(row)) end
os.exit(0)
EOF
cat >"$work/iterate.lua" <<'EOF'
for _ in require('xlog').pairs(arg[1]) do end
os.exit(0)
EOF

rows=$("$work/xlogtool" meta --json "$file" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["rows"])')
size=$(stat -c %s "$file")

# best NAME CMD...: runs CMD $runs times, prints "wall cpu rss" of the
# fastest run (seconds, seconds of user+system CPU, KB).
best() {
  local i out bw="" bc="" br=""
  for ((i = 0; i < runs; i++)); do
    /usr/bin/time -f '%e %U %S %M' -o "$work/t" "$@" >/dev/null 2>"$work/err" ||
      { echo "failed: $*" >&2; cat "$work/err" >&2; exit 1; }
    read -r w u s m <"$work/t"
    if [ -z "$bw" ] || awk "BEGIN{exit !($w < $bw)}"; then
      bw=$w bc=$(awk "BEGIN{print $u + $s}") br=$m
    fi
  done
  echo "$bw $bc $br"
}

echo "file: $file ($rows rows, $size bytes); $(nproc) CPUs; best of $runs runs"
echo "xlogtool $(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo '?'); $("$tarantool" --version | head -1)"
printf '%-44s %8s %8s %12s %9s\n' "" "wall s" "cpu s" "rows/s" "peak RSS"
line() { # label wall cpu rss
  printf '%-44s %8.2f %8.2f %12.0f %6d MB\n' "$1" "$2" "$3" "$(awk "BEGIN{print $rows / $2}")" $(($4 / 1024))
}
read -r xw xc xr < <(best "$work/xlogtool" cat --format json "$file")
line "xlogtool cat --format json" "$xw" "$xc" "$xr"
read -r sw sc sr < <(best "$work/xlogtool" cat --format json --show-system "$file")
line "xlogtool cat --format json --show-system" "$sw" "$sc" "$sr"
read -r tw tc tr < <(best "$tarantool" "$work/json.lua" "$file")
line "tarantool: xlog.pairs + json.encode + print" "$tw" "$tc" "$tr"
read -r aw ac ar < <(best "$work/xlogtool" stats "$file")
line "xlogtool stats" "$aw" "$ac" "$ar"
read -r iw ic ir < <(best "$tarantool" "$work/iterate.lua" "$file")
line "tarantool: xlog.pairs, iterate only" "$iw" "$ic" "$ir"
echo
awk "BEGIN{printf \"(a) cat --format json: %.1fx faster (wall), %.1fx less CPU\n\", $tw / $xw, $tc / $xc}"
awk "BEGIN{printf \"(b) full decode (stats) vs iterate: %.1fx faster (wall), %.1fx less CPU\n\", $iw / $aw, $ic / $ac}"
echo "(c) peak RSS of cat --format json: $((xr / 1024)) MB"
