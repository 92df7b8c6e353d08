#!/usr/bin/env bash
# bench/flux.sh times merge → object present in a real API server, applied
# by real Flux controllers with the GitRepository's reconcile triggered by
# annotation (reconcile.fluxcd.io/requestedAt): a promotion merged with
# `modelgit merge` through the Kustomization modelgit renders, against the
# same InferenceService in a hand-written Kustomization. It runs the Go
# benchmark BenchmarkMergeToApplied of the e2e module and writes the section
# between <!-- flux:begin --> and <!-- flux:end --> of docs/benchmarks.md.
#
# Usage (from anywhere in the repository):
#
#   bench/flux.sh                       # 5 merges each
#   BENCH_N=10 bench/flux.sh
#   BENCH_DOC=/tmp/benchmarks.md bench/flux.sh
#
# The parts (etcd, kube-apiserver, Flux's controllers) come from
# scripts/e2e-build.sh: ~30 minutes the first time, nothing when cached.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
doc=${BENCH_DOC:-$root/docs/benchmarks.md}
n=${BENCH_N:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

bin=$("$root/scripts/e2e-build.sh")
bin=${bin##*$'\n'}
(cd "$root/e2e" && MODELGIT_E2E_BIN=$bin go test -count=1 -run '^$' -bench '^BenchmarkMergeToApplied$' \
  -benchtime "${n}x" -timeout 30m .) | tee "$work/out.txt"

# BenchmarkMergeToApplied/modelgit-2  5  1234 ns/op  0.9 max-s  0.6 median-s  0.5 min-s
row() {
  awk -v name="$1" '$1 ~ "^BenchmarkMergeToApplied/" name "(-[0-9]+)?$" {
    for (i = 3; i < NF; i += 2) v[$(i + 1)] = $i
    printf "%.2f | %.2f | %.2f | %.2f", v["ns/op"] / 1e9, v["median-s"], v["min-s"], v["max-s"]
  }' "$work/out.txt"
}
modelgit=$(row modelgit)
hand=$(row handwritten)
[ -n "$modelgit" ] && [ -n "$hand" ] || { echo "bench/flux.sh: no benchmark results" >&2; exit 1; }

section=$(cat <<MD
<!-- flux:begin -->
## flux: merge → object in the API server, modelgit's Kustomization vs a hand-written one

Command: \`bench/flux.sh\` (BENCH_N=$n) on $(date -u +%Y-%m-%d), $(nproc) cores (shared), $(go env GOVERSION);
etcd v3.6.8, kube-apiserver v1.36.3, source-controller and kustomize-controller v1.9.6, all real, on 127.0.0.1.
Timed: from the merge (modelgit: \`modelgit merge\` of an approved promotion; hand-written: a signed commit pushed to main)
to the InferenceService carrying the new version in the API server, the GitRepository annotated with
\`reconcile.fluxcd.io/requestedAt\` right after the merge; polled every 50 ms. The hand-written Kustomization
has modelgit's prune/wait/timeout and follows the same GitRepository; its object is modelgit's rendered
InferenceService (GPU patches applied) under another name. $n merges each.

| Kustomization | mean s | median s | min s | max s |
| --- | ---: | ---: | ---: | ---: |
| modelgit's (clusters/<c> over rendered/<env>, GPU patches) | $modelgit |
| hand-written (one directory, the same object) | $hand |
<!-- flux:end -->
MD
)

[ -f "$doc" ] || printf '# Benchmarks\n' >"$doc"
if ! grep -q '<!-- flux:begin -->' "$doc"; then
  printf '\n<!-- flux:begin -->\n<!-- flux:end -->\n' >>"$doc"
fi
printf '%s\n' "$section" >"$work/section.md"
awk -v file="$work/section.md" '
  /<!-- flux:begin -->/ { while ((getline l < file) > 0) print l; skip = 1; next }
  /<!-- flux:end -->/   { skip = 0; next }
  !skip { print }
' "$doc" >"$doc.tmp"
mv "$doc.tmp" "$doc"
echo "$section"
