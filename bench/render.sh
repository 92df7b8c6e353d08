#!/usr/bin/env bash
# bench/render.sh times BuildCluster (what `modelgit render --cluster`
# prints) against `kustomize build clusters/<cluster>` on the same
# synthetic tree of N models, checks that both print the same bytes, and
# writes the result into docs/benchmarks.md (the section between
# <!-- render:begin --> and <!-- render:end -->).
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
#
# kustomize is the CLI at the version matching the kustomize/api module
# (installed into ./.bin when missing). Nothing passes or fails on timing.
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
"$work/rendergen" -n "$models" -out "$work/tree"

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

"$work/rendergen" -build gpu -out "$work/tree" >"$work/render.yaml"
kustomize build "$work/tree/clusters/gpu" >"$work/kustomize.yaml"
if cmp -s "$work/render.yaml" "$work/kustomize.yaml"; then same="identical bytes"; else same="DIFFERENT output"; fi
objects=$(grep -c '^kind:' "$work/render.yaml")

t_render=$(time_median "$work/rendergen" -build gpu -out "$work/tree")
t_kustomize=$(time_median kustomize build "$work/tree/clusters/gpu")
ratio=$(awk -v k="$t_kustomize" -v r="$t_render" 'BEGIN { printf "%.1f", k / r }')

section=$(cat <<MD
## render: BuildCluster vs kustomize build

\`bench/render.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores, $(go env GOVERSION), kustomize $(kustomize version 2>/dev/null | head -1).
Tree: $models models (rendered/production + clusters/gpu with GPU patches), $objects objects; outputs: $same.
Median of $runs runs after a warm-up, wall clock, whole process.

| command | seconds |
| --- | ---: |
| BuildCluster (\`rendergen -build gpu\`, what \`modelgit render --cluster gpu\` prints) | $t_render |
| \`kustomize build clusters/gpu\` | $t_kustomize |
| ratio kustomize / BuildCluster | ${ratio}× |
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
