#!/usr/bin/env bash
# bench/audit.sh builds a repository of BENCH_COMMITS commits with
# bench/auditgen and times `modelgit audit -o json` against
# `git log --format='%H %(trailers)'` (cold: no audit cache; warm: the
# cache at the tip), and `modelgit which --env production --at T` (cold
# and warm), then writes the section between <!-- audit:begin --> and
# <!-- audit:end --> of docs/benchmarks.md. Nothing passes or fails on
# timing. BENCH_REPO reuses a repository auditgen made before;
# BENCH_BEFORE=path/to/an/older/modelgit times that binary too, in the
# same run, for a before/after row.
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
if [ -n "${BENCH_REPO:-}" ]; then
  cd "$BENCH_REPO"
  commits=$(git rev-list --count HEAD)
else
  "$work/auditgen" -out "$work/repo" -commits "$commits" >&2
  cd "$work/repo"
fi
cache=$(git rev-parse --path-format=absolute --git-common-dir)/modelgit/audit-cache
nocache() { rm -f "$cache"; }
keep() { :; }

# PREP COMMAND...: median wall seconds and mean CPU seconds (user+sys,
# children included) of COMMAND, PREP run before each run.
measure() {
  local prep=$1 walls=() cpus=()
  shift
  $prep
  "$@" >/dev/null 2>&1
  for _ in $(seq "$runs"); do
    $prep
    /usr/bin/time -f "%e %U %S" -o "$work/t" "$@" >/dev/null 2>&1
    read -r e u s <"$work/t"
    walls+=("$e"); cpus+=("$(echo "$u + $s" | bc)")
  done
  printf '%s\n' "${walls[@]}" | sort -n | awk '{a[NR]=$1} END{printf "%.2f ", a[int((NR+1)/2)]}'
  printf '%s\n' "${cpus[@]}" | awk '{s+=$1} END{printf "%.2f\n", s/NR}'
}
read -r base_w base_c < <(measure keep git log --format='%H %(trailers)')
read -r audit_w audit_c < <(measure nocache "$work/modelgit" audit -o json)
"$work/modelgit" audit -o json >/dev/null 2>&1
read -r auditw_w auditw_c < <(measure keep "$work/modelgit" audit -o json)
mid=$(git log --first-parent --format=%cI -1 --skip=$(( $(git rev-list --first-parent --count HEAD) / 2 )))
read -r which_w which_c < <(measure nocache "$work/modelgit" which --env production --at "$mid" -o json)
read -r whichnow_w whichnow_c < <(measure nocache "$work/modelgit" which --env production -o json)
"$work/modelgit" audit -o json >/dev/null 2>&1
read -r whichw_w whichw_c < <(measure keep "$work/modelgit" which --env production --at "$mid" -o json)
before_rows=""
if [ -n "${BENCH_BEFORE:-}" ]; then
  read -r ba_w ba_c < <(measure nocache "$BENCH_BEFORE" audit -o json)
  read -r bw_w bw_c < <(measure nocache "$BENCH_BEFORE" which --env production --at "$mid" -o json)
  read -r bn_w bn_c < <(measure nocache "$BENCH_BEFORE" which --env production -o json)
  before_rows="| before (\`BENCH_BEFORE\`): \`modelgit audit -o json\` | $ba_w | $ba_c |
| before: \`modelgit which --env production --at $mid -o json\` | $bw_w | $bw_c |
| before: \`modelgit which --env production -o json\` (now) | $bn_w | $bn_c |
"
fi
read -r base2_w base2_c < <(measure keep git log --format='%H %(trailers)')
events=$("$work/modelgit" audit -o csv | tail -n +2 | wc -l)
ratio_w=$(printf "%.2f" "$(echo "scale=4; $audit_w / $base_w" | bc)")
ratio_c=$(printf "%.2f" "$(echo "scale=4; $audit_c / $base_c" | bc)")
ratiow_w=$(printf "%.2f" "$(echo "scale=4; $auditw_w / $base_w" | bc)")
ratiow_c=$(printf "%.2f" "$(echo "scale=4; $auditw_c / $base_c" | bc)")
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
- Median wall time of $runs runs after a warm-up run; CPU is user + system including git child processes. The machine is shared, so compare within a run: the baseline was timed again at the end (wall $base2_w s, CPU $base2_c s).
- Cold: \`.git/modelgit/audit-cache\` deleted before every run, so audit scans the whole history (and writes the cache), and which walks the history back. Warm: the cache is at the tip, so audit reads it and scans nothing, and which walks back through the cached events. The OS page cache is warm in every row. Why a cold audit stays above the limit: docs/audit.md, "How it is fast".

| command | wall s | CPU s |
| --- | ---: | ---: |
| \`git log --format='%H %(trailers)'\` | $base_w | $base_c |
| \`modelgit audit -o json\`, cold | $audit_w | $audit_c |
| \`modelgit audit -o json\`, warm | $auditw_w | $auditw_c |
| \`modelgit which --env production --at $mid -o json\`, cold | $which_w | $which_c |
| \`modelgit which --env production --at $mid -o json\`, warm | $whichw_w | $whichw_c |
| \`modelgit which --env production -o json\` (now), cold | $whichnow_w | $whichnow_c |
$before_rows
| target | measured | limit | |
| --- | ---: | ---: | --- |
| audit cold ÷ git log, wall | $ratio_w | ≤ 1.5 | $(met "$ratio_w" 1.5) |
| audit cold ÷ git log, CPU | $ratio_c | ≤ 1.5 | $(met "$ratio_c" 1.5) |
| audit warm ÷ git log, wall | $ratiow_w | ≤ 1.5 | $(met "$ratiow_w" 1.5) |
| audit warm ÷ git log, CPU | $ratiow_c | ≤ 1.5 | $(met "$ratiow_c" 1.5) |
| which, middle of history, cold | $which_w s | ≤ 1 s | $(met "$which_w" 1) |
| which, middle of history, warm | $whichw_w s | ≤ 1 s | $(met "$whichw_w" 1) |
| which, now, cold | $whichnow_w s | ≤ 1 s | $(met "$whichnow_w" 1) |
<!-- audit:end -->
MD
)
if grep -q '<!-- audit:begin -->' "$doc"; then
  SECTION="$section" perl -0pi -e 's/<!-- audit:begin -->.*?<!-- audit:end -->/$ENV{SECTION}/s' "$doc"
else
  printf '\n%s\n' "$section" >>"$doc"
fi
echo "$section"
