#!/usr/bin/env bash
# bench/audit.sh builds a repository of BENCH_COMMITS commits with
# bench/auditgen and times `modelgit audit -o json` against
# `git log --format='%H %(trailers)'`, and `modelgit which --env production
# --at T`, then writes the section between <!-- audit:begin --> and
# <!-- audit:end --> of docs/benchmarks.md. Nothing passes or fails on timing.
#
#   bench/audit.sh
#   BENCH_COMMITS=20000 BENCH_RUNS=1 BENCH_DOC=/tmp/b.md bench/audit.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
commits=${BENCH_COMMITS:-100000}
runs=${BENCH_RUNS:-3}
doc=${BENCH_DOC:-$root/docs/benchmarks.md}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/auditgen" ./bench/auditgen
go build -o "$work/modelgit" ./cmd/modelgit
"$work/auditgen" -out "$work/repo" -commits "$commits" >&2
cd "$work/repo"

# median wall seconds and mean CPU seconds (user+sys, children included)
measure() {
  local walls=() cpus=()
  "$@" >/dev/null 2>&1
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %U %S" -o "$work/t" "$@" >/dev/null 2>&1
    read -r e u s <"$work/t"
    walls+=("$e"); cpus+=("$(echo "$u + $s" | bc)")
  done
  printf '%s\n' "${walls[@]}" | sort -n | awk '{a[NR]=$1} END{printf "%.2f ", a[int((NR+1)/2)]}'
  printf '%s\n' "${cpus[@]}" | awk '{s+=$1} END{printf "%.2f\n", s/NR}'
}
read -r base_w base_c < <(measure git log --format='%H %(trailers)')
read -r audit_w audit_c < <(measure "$work/modelgit" audit -o json)
mid=$(git log --first-parent --format=%cI -1 --skip=$(( $(git rev-list --first-parent --count HEAD) / 2 )))
read -r which_w which_c < <(measure "$work/modelgit" which --env production --at "$mid" -o json)
read -r whichnow_w whichnow_c < <(measure "$work/modelgit" which --env production -o json)
events=$("$work/modelgit" audit -o csv | tail -n +2 | wc -l)
ratio_w=$(echo "scale=2; $audit_w / $base_w" | bc)
ratio_c=$(echo "scale=2; $audit_c / $base_c" | bc)
met() { if [ "$(echo "$1 <= $2" | bc)" = 1 ]; then echo met; else echo "**not met**"; fi; }
section=$(cat <<MD
<!-- audit:begin -->
## audit and which over a long history

Written by \`bench/audit.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'); run it again rather than editing:

\`\`\`
BENCH_COMMITS=$commits BENCH_RUNS=$runs bench/audit.sh
\`\`\`

- Repository: \`bench/auditgen -commits $commits\` (200 models, 3 environments; registrations, promotions on a branch merged into main, canaries, blue-green, rollbacks, reverts, hand edits), packed by \`git gc\`; $events release changes on $(git rev-list --first-parent --count HEAD) first-parent commits. Commits are unsigned (fast-import cannot sign), so signature verification costs nothing here.
- Machine: $(nproc) cores, shared (load average $(cut -d' ' -f1-3 /proc/loadavg)); $(git --version); $(go version | cut -d' ' -f3).
- Median wall time of $runs runs after a warm-up; CPU is user + system including git child processes. Cold: no cache (modelgit keeps none).

| command | wall s | CPU s |
| --- | ---: | ---: |
| \`git log --format='%H %(trailers)'\` | $base_w | $base_c |
| \`modelgit audit -o json\` | $audit_w | $audit_c |
| \`modelgit which --env production --at $mid -o json\` | $which_w | $which_c |
| \`modelgit which --env production -o json\` (now) | $whichnow_w | $whichnow_c |

| target | measured | limit | |
| --- | ---: | ---: | --- |
| audit ÷ git log, wall | $ratio_w | ≤ 1.5 | $(met "$ratio_w" 1.5) |
| audit ÷ git log, CPU | $ratio_c | ≤ 1.5 | $(met "$ratio_c" 1.5) |
| which, middle of history | $which_w s | ≤ 1 s | $(met "$which_w" 1) |
| which, now | $whichnow_w s | ≤ 1 s | $(met "$whichnow_w" 1) |
<!-- audit:end -->
MD
)
if grep -q '<!-- audit:begin -->' "$doc"; then
  SECTION="$section" perl -0pi -e 's/<!-- audit:begin -->.*?<!-- audit:end -->/$ENV{SECTION}/s' "$doc"
else
  printf '\n%s\n' "$section" >>"$doc"
fi
echo "$section"
