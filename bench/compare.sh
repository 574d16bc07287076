#!/usr/bin/env bash
# Measures xlogtool against Tarantool's own reader and, when given, the
# pure-Go peer tarantool/go-xlog, on one WAL, side by side:
#
#   stats      xlogtool stats FILE (every block's CRC, zstd, every header)
#              vs Tarantool: for _ in require('xlog').pairs(FILE) do end
#              vs the peer iterating (and decoding every DML body)
#   cat json   xlogtool cat --format json FILE
#              vs what `tt cat --format json` runs in Tarantool: each row of
#              xlog.pairs printed with json.encode
#              vs the peer printing every row with encoding/json
#   cat yaml, cat lua   xlogtool's other output formats
#   filter     xlogtool filter --show-system (every row kept), and
#              filter --verbatim (blocks copied as stored, rows not read)
#              vs the peer copying blocks verbatim (pipe.CopyRaw)
#              vs cp of the file
#
# Usage, from the repository root:
#   bench/compare.sh [-p PEER] [FILE] [RUNS]
#
# PEER is a program built from tarantool/go-xlog's sources outside this
# repository (docs/performance.md says what it does), run as
#   PEER iterate FILE | PEER dml FILE | PEER json FILE | PEER copyraw FILE OUT
# Without FILE, a WAL of a million rows is made once with bench/genxlog.lua
# in ${XLOGTOOL_BENCH_DIR:-/tmp/xlogtool-bench}. The commands run RUNS times
# each (default 5), alternating, output to /dev/null; the table shows the
# median wall time, the median CPU time (user + system) and the median peak
# RSS, and in brackets the fastest wall time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
peer=""
if [ "${1:-}" = "-p" ]; then
  peer=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
  shift 2
fi
file=${1:-}
runs=${2:-5}
tarantool=${XLOGTOOL_TARANTOOL:-tarantool}
command -v "$tarantool" >/dev/null || { echo "compare.sh: no tarantool" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "compare.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
[ -z "$peer" ] || [ -x "$peer" ] || { echo "compare.sh: $peer is not an executable" >&2; exit 2; }

if [ -z "$file" ]; then
  dir=${XLOGTOOL_BENCH_DIR:-/tmp/xlogtool-bench}
  file=$dir/00000000000000000000.xlog
  if [ ! -f "$file" ]; then
    echo "making $file with Tarantool ..." >&2
    (cd /tmp && "$tarantool" "$here/genxlog.lua" "$dir" >&2)
  fi
fi
file=$(cd "$(dirname "$file")" && pwd)/$(basename "$file")

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
# The copying commands write into a fresh directory each run.
cat >"$work/into" <<'EOF'
#!/usr/bin/env bash
# into WORK CMD...: runs CMD with @OUT@ replaced by a new directory under WORK
work=$1; shift
out=$(mktemp -d "$work/out.XXXXXX")
args=()
for a in "$@"; do args+=("${a//@OUT@/$out}"); done
"${args[@]}"; rc=$?
rm -rf "$out"
exit $rc
EOF
chmod +x "$work/into"

rows=$("$work/xlogtool" meta --json "$file" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["rows"])')
size=$(stat -c %s "$file")

names=() cmds=()
add() { names+=("$1"); shift; cmds+=("$*"); }
add "xlogtool stats" "$work/xlogtool" stats "$file"
add "tarantool: xlog.pairs, iterate" "$tarantool" "$work/iterate.lua" "$file"
[ -z "$peer" ] || add "go-xlog: Scan (WithAliasBodies)" "$peer" iterate "$file"
[ -z "$peer" ] || add "go-xlog: Scan + DML bodies" "$peer" dml "$file"
add "xlogtool cat --format json" "$work/xlogtool" cat --format json "$file"
add "tarantool: xlog.pairs + json.encode" "$tarantool" "$work/json.lua" "$file"
[ -z "$peer" ] || add "go-xlog: Scan + encoding/json" "$peer" json "$file"
add "xlogtool cat (yaml)" "$work/xlogtool" cat "$file"
add "xlogtool cat --format lua" "$work/xlogtool" cat --format lua "$file"
add "xlogtool filter --show-system" "$work/into" "$work" "$work/xlogtool" filter --show-system --out @OUT@ "$file"
add "xlogtool filter --verbatim" "$work/into" "$work" "$work/xlogtool" filter --verbatim --out @OUT@ "$file"
[ -z "$peer" ] || add "go-xlog: pipe.CopyRaw" "$work/into" "$work" "$peer" copyraw "$file" @OUT@/00000000000000000000.xlog
add "cp" "$work/into" "$work" cp "$file" @OUT@/

# Alternating runs: run i of every command before run i+1 of any.
for ((i = 0; i < runs; i++)); do
  for j in "${!cmds[@]}"; do
    # shellcheck disable=SC2086
    /usr/bin/time -f '%e %U %S %M' -o "$work/t" ${cmds[$j]} >/dev/null 2>"$work/err" ||
      { echo "failed: ${cmds[$j]}" >&2; cat "$work/err" >&2; exit 1; }
    cat "$work/t" >>"$work/times.$j"
  done
done

median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
echo "file: $file ($rows rows, $size bytes); $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg); $runs runs each, alternating"
echo "xlogtool $(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo '?'); $("$tarantool" --version | head -1)"
printf '%-36s %9s %7s %7s %11s %8s\n' "" "wall s" "(best)" "cpu s" "rows/s" "peak RSS"
for j in "${!cmds[@]}"; do
  w=$(awk '{print $1}' "$work/times.$j" | median)
  b=$(awk '{print $1}' "$work/times.$j" | sort -g | head -1)
  c=$(awk '{print $2 + $3}' "$work/times.$j" | median)
  m=$(awk '{print $4}' "$work/times.$j" | median)
  printf '%-36s %9.2f %7.2f %7.2f %11.0f %5d MB\n' "${names[$j]}" "$w" "$b" "$c" "$(awk "BEGIN{print $rows / $w}")" $((m / 1024))
done
