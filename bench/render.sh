#!/usr/bin/env bash
# bench/render.sh times the built `modelgit render --cluster gpu` (which
# renders the releases committed at HEAD, then builds the cluster) against
# `kustomize build clusters/gpu` over the same files, in a committed
# synthetic modelgit repository of N models; it checks that both print the
# same bytes, and writes the result, with the command that produced it,
# into docs/benchmarks.md (the section between <!-- render:begin --> and
# <!-- render:end -->). It also times render.BuildCluster alone, over the
# files on disk (`rendergen -build`), to show what rendering from git adds.
#
# Usage (from anywhere in the repository):
#
#   bench/render.sh
#   BENCH_MODELS=200 BENCH_RUNS=1 BENCH_DOC=/tmp/benchmarks.md bench/render.sh
#
# Environment:
#   BENCH_MODELS  models in the tree (default 1000): a quarter blue-green
#                 with one version (Service, Deployment, HTTPRoute), the
#                 rest KServe InferenceServices
#   BENCH_RUNS    timed runs per tool after one warm-up (default 3); the
#                 table reports the median
#   BENCH_DOC     the Markdown file to write (default docs/benchmarks.md)
#   BENCH_BEFORE  path to an older modelgit binary: its `render --cluster
#                 gpu` is timed too, its runs alternating with the new
#                 one's, for a before/after row in the same run
#
# kustomize is the CLI at the version matching the kustomize/api module
# (installed into ./.bin when missing). Nothing passes or fails on timing;
# output that differs from kustomize's by one byte fails the script
# before the doc is written.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
models=${BENCH_MODELS:-1000}
runs=${BENCH_RUNS:-3}
doc=${BENCH_DOC:-$root/docs/benchmarks.md}
export GOBIN="$root/.bin" PATH="$root/.bin:$PATH"
command -v kustomize >/dev/null || go install sigs.k8s.io/kustomize/kustomize/v5@v5.8.2

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/rendergen" ./bench/rendergen
go build -o "$work/modelgit" ./cmd/modelgit
"$work/rendergen" -n "$models" -out "$work/tree"
# Render reads HEAD: commit the tree with plain git (render checks no
# signatures).
git -C "$work/tree" init -q -b main
git -C "$work/tree" add -A
git -C "$work/tree" -c user.name=bench -c user.email=bench@example.com -c commit.gpgsign=false \
  commit -q -m "synthetic modelgit repository of $models models"

# median of the wall-clock seconds of $runs runs of "$@", after a warm-up
time_median() {
  "$@" >/dev/null
  local times=()
  for _ in $(seq "$runs"); do
    local s e
    s=$(date +%s.%N)
    "$@" >/dev/null
    e=$(date +%s.%N)
    times+=("$(awk -v s="$s" -v e="$e" 'BEGIN { print e - s }')")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}'
}

"$work/modelgit" -C "$work/tree" render --cluster gpu >"$work/render.yaml"
kustomize build "$work/tree/clusters/gpu" >"$work/kustomize.yaml"
"$work/rendergen" -build gpu -out "$work/tree" >"$work/build.yaml"
for out in render build; do
  if ! cmp -s "$work/$out.yaml" "$work/kustomize.yaml"; then
    echo "bench/render.sh: $out.yaml differs from kustomize build's output:" >&2
    diff "$work/$out.yaml" "$work/kustomize.yaml" | head -20 >&2
    exit 1
  fi
done
same="identical bytes"
"$work/modelgit" -C "$work/tree" render --check >/dev/null
objects=$(grep -c '^kind:' "$work/render.yaml")

# alternate A... -- B...: median seconds of A and of B over $runs runs
# each after a warm-up of each, the two runs alternating.
alternate() {
  local a=() b=() ta=() tb=()
  while [ "$1" != -- ]; do a+=("$1"); shift; done
  shift
  b=("$@")
  "${a[@]}" >/dev/null
  "${b[@]}" >/dev/null
  for _ in $(seq "$runs"); do
    local s e
    s=$(date +%s.%N); "${a[@]}" >/dev/null; e=$(date +%s.%N)
    ta+=("$(awk -v s="$s" -v e="$e" 'BEGIN { print e - s }')")
    s=$(date +%s.%N); "${b[@]}" >/dev/null; e=$(date +%s.%N)
    tb+=("$(awk -v s="$s" -v e="$e" 'BEGIN { print e - s }')")
  done
  printf '%s\n' "${ta[@]}" | sort -g | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}'
  printf ' '
  printf '%s\n' "${tb[@]}" | sort -g | awk '{a[NR]=$1} END {printf "%.3f\n", a[int((NR+1)/2)]}'
}

before_row=""
if [ -n "${BENCH_BEFORE:-}" ]; then
  "$BENCH_BEFORE" -C "$work/tree" render --cluster gpu >"$work/before.yaml"
  before_same="the same bytes"
  cmp -s "$work/before.yaml" "$work/render.yaml" || before_same="other bytes ($( (diff "$work/before.yaml" "$work/render.yaml" || true) | grep -c '^[<>]') lines differ)"
  read -r t_render t_before < <(alternate "$work/modelgit" -C "$work/tree" render --cluster gpu -- "$BENCH_BEFORE" -C "$work/tree" render --cluster gpu)
  before_row="| before: \`$(basename "$BENCH_BEFORE")\` render --cluster gpu (\`BENCH_BEFORE\`, runs alternating with the row above; it prints $before_same) | $t_before |
"
else
  t_render=$(time_median "$work/modelgit" -C "$work/tree" render --cluster gpu)
fi
t_build=$(time_median "$work/rendergen" -build gpu -out "$work/tree")
t_kustomize=$(time_median kustomize build "$work/tree/clusters/gpu")
ratio=$(awk -v k="$t_kustomize" -v r="$t_render" 'BEGIN { printf "%.1f", k / r }')

cmdline="bench/render.sh"
[ "$runs" = 3 ] || cmdline="BENCH_RUNS=$runs $cmdline"
[ "$models" = 1000 ] || cmdline="BENCH_MODELS=$models $cmdline"
[ -z "${BENCH_BEFORE:-}" ] || cmdline="BENCH_BEFORE=$(basename "$BENCH_BEFORE") $cmdline"
section=$(cat <<MD
## render: modelgit render --cluster vs kustomize build

Command: \`$cmdline\` on $(date -u +%Y-%m-%d), $(nproc) cores, $(go env GOVERSION), kustomize $(kustomize version 2>/dev/null | head -1).
Tree: a committed modelgit repository of $models models released in production (modelgit.yaml, models/, environments/, rendered/production, clusters/gpu with GPU patches), $objects objects; outputs of the three commands: $same.
Median of $runs runs after a warm-up, wall clock, whole process.

| command | seconds |
| --- | ---: |
| \`modelgit render --cluster gpu\` (renders the releases at HEAD, then builds) | $t_render |
${before_row}| render.BuildCluster over the files on disk (\`rendergen -build gpu\`) | $t_build |
| \`kustomize build clusters/gpu\` | $t_kustomize |
| ratio kustomize / modelgit render --cluster | ${ratio}× |
MD
)

[ -f "$doc" ] || printf '# Benchmarks\n' >"$doc"
if ! grep -q '<!-- render:begin -->' "$doc"; then
  printf '\n<!-- render:begin -->\n<!-- render:end -->\n' >>"$doc"
fi
printf '%s\n' "$section" >"$work/section.md"
awk -v file="$work/section.md" '
  /<!-- render:begin -->/ { print; while ((getline l < file) > 0) print l; skip = 1; next }
  /<!-- render:end -->/   { skip = 0 }
  !skip { print }
' "$doc" >"$doc.tmp"
mv "$doc.tmp" "$doc"
echo "$section"
