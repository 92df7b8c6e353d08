#!/usr/bin/env bash
# bench/audit.sh builds a repository of BENCH_COMMITS commits with
# bench/auditgen and times, in one run, `modelgit audit -o json` (cold: no
# audit cache nor registrations kept by which; warm: the cache at the tip) and `modelgit which --env
# production --at T` (cold and warm) against the floor, `git log
# --first-parent --format='%H %(trailers)' main` (the branch audit
# follows; the log of all commits is a second reference row, the
# first-parent log with the patches of environments/, which reads the
# trees and release files a cold audit reads, a third, and `git cat-file
# --batch` of exactly the objects a cold audit must read, a lower bound
# for it, a fourth), with the
# commit-graph with changed paths and without any commit-graph
# (core.commitGraph=false), with peak memory, then writes the section
# between <!-- audit:begin --> and <!-- audit:end --> of docs/benchmarks.md.
# Nothing passes or fails on timing. BENCH_REPO reuses a repository auditgen made before;
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
# The binaries are copied before they run: a binary just written by the
# linker maps about 18 MiB more of itself (the page cache's folios as
# the linker wrote them) than the same bytes copied, which would count in
# every peak below.
go build -o "$work/modelgit.built" ./cmd/modelgit
cp "$work/modelgit.built" "$work/modelgit"
if [ -n "${BENCH_BEFORE:-}" ]; then
  cp "$BENCH_BEFORE" "$work/modelgit.before"
  BENCH_BEFORE=$work/modelgit.before
fi
if [ -n "${BENCH_REPO:-}" ]; then
  cd "$BENCH_REPO"
  commits=$(git rev-list --count HEAD)
else
  "$work/auditgen" -out "$work/repo" -commits "$commits" >&2
  cd "$work/repo"
fi
cache=$(git rev-parse --path-format=absolute --git-common-dir)/modelgit/audit-cache
regs=$(dirname "$cache")/registrations
nocache() { rm -f "$cache" "$regs"; }
keep() { :; }

[ -x /usr/bin/time ] || { echo "bench/audit.sh needs GNU time: apt-get install -y time" >&2; exit 1; }

# PREP COMMAND...: median wall seconds, mean CPU seconds (user+sys,
# children included) and peak resident MiB (largest process) of COMMAND,
# PREP run before each run.
measure() {
  local prep=$1 walls=() cpus=() rss=0
  shift
  $prep
  "$@" >/dev/null 2>&1
  for _ in $(seq "$runs"); do
    $prep
    /usr/bin/time -f "%e %U %S %M" -o "$work/t" "$@" >/dev/null 2>&1
    read -r e u s m <"$work/t"
    walls+=("$e"); cpus+=("$(echo "$u + $s" | bc)")
    [ "$m" -gt "$rss" ] && rss=$m
  done
  printf '%s\n' "${walls[@]}" | sort -n | awk '{a[NR]=$1} END{printf "%.2f ", a[int((NR+1)/2)]}'
  printf '%s\n' "${cpus[@]}" | awk '{s+=$1} END{printf "%.2f ", s/NR}'
  echo $(( (rss + 1023) / 1024 ))
}
ratio() { printf "%.2f" "$(echo "scale=4; $1 / $2" | bc)"; }
met() { if [ "$(echo "$1 <= $2" | bc)" = 1 ]; then echo met; else echo "**not met**"; fi; }
fp=$(git rev-list --first-parent --count main)
mid=$(git log --first-parent --format=%cI -1 --skip=$((fp / 2)) main)
which_mid=("$work/modelgit" which --env production --at "$mid" -o json)

# One pass of every row; $1 names it ("graph": the commit-graph with
# changed paths, "nograph": core.commitGraph=false for every git).
pass() {
  local p=$1
  read -r "${p}_fp_w" "${p}_fp_c" "${p}_fp_m" < <(measure keep git log --first-parent --format='%H %(trailers)' main)
  read -r "${p}_all_w" "${p}_all_c" "${p}_all_m" < <(measure keep git log --format='%H %(trailers)' main)
  read -r "${p}_pat_w" "${p}_pat_c" "${p}_pat_m" < <(measure keep git log --first-parent --format='%H %(trailers)' -p main -- environments)
  read -r "${p}_lb_w" "${p}_lb_c" "${p}_lb_m" < <(measure keep sh -c 'git cat-file --batch <"$1" >/dev/null' - "$work/must-read")
  read -r "${p}_ac_w" "${p}_ac_c" "${p}_ac_m" < <(measure nocache "$work/modelgit" audit -o json)
  "$work/modelgit" audit -o json >/dev/null 2>&1
  read -r "${p}_aw_w" "${p}_aw_c" "${p}_aw_m" < <(measure keep "$work/modelgit" audit -o json)
  read -r "${p}_wc_w" "${p}_wc_c" "${p}_wc_m" < <(measure nocache "${which_mid[@]}")
  read -r "${p}_wn_w" "${p}_wn_c" "${p}_wn_m" < <(measure nocache "$work/modelgit" which --env production -o json)
  "$work/modelgit" audit -o json >/dev/null 2>&1
  read -r "${p}_ww_w" "${p}_ww_c" "${p}_ww_m" < <(measure keep "${which_mid[@]}")
}
rows() {
  local p=$1 name=$2 fpw fpc
  fpw=${p}_fp_w fpc=${p}_fp_c
  row() {
    local w=${p}_$1_w c=${p}_$1_c m=${p}_$1_m
    echo "| $name | $2 | ${!w} | ${!c} | $(ratio "${!w}" "${!fpw}") | $(ratio "${!c}" "${!fpc}") | ${!m} |"
  }
  row fp "\`git log --first-parent --format='%H %(trailers)' main\` (floor)"
  row all "\`git log --format='%H %(trailers)' main\` (all commits)"
  row pat "\`git log --first-parent --format='%H %(trailers)' -p main -- environments\` (reads what audit reads)"
  row lb "\`git cat-file --batch\` of the $(wc -l <"$work/must-read") objects a cold audit must read (lower bound)"
  row ac "\`modelgit audit -o json\`, no cache"
  row aw "\`modelgit audit -o json\`, cache at the tip"
  row wc "\`modelgit which --env production --at $mid -o json\`, cold"
  row ww "\`modelgit which --env production --at $mid -o json\`, warm"
  row wn "\`modelgit which --env production -o json\` (now), cold"
}

# The objects a cold audit must read, whatever reads them: for each
# first-parent commit that changes a release file, the commit (its
# trailers), its root tree, its environments/ tree, the environment trees
# it changes and the release blobs it writes; each once.
git log --first-parent --raw --no-abbrev --format='C %H %T' main -- environments |
  awk '$1 == "C" {c = $2; print $2; print $3; print c ":environments"; next}
       /^:/ {split($6, p, "/"); print c ":" p[1] "/" p[2]; if ($4 !~ /^0+$/) print $4}' |
  git cat-file --batch-check='%(objectname)' | awk '!seen[$1]++' >"$work/must-read"

# Without any commit-graph first: modelgit writes none then.
rm -rf "$(git rev-parse --git-path objects/info/commit-graph)" "$(git rev-parse --git-path objects/info/commit-graphs)"
export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=core.commitGraph GIT_CONFIG_VALUE_0=false
pass nograph
unset GIT_CONFIG_COUNT GIT_CONFIG_KEY_0 GIT_CONFIG_VALUE_0
/usr/bin/time -f "%e %U %S %M" -o "$work/t" git commit-graph write --reachable --changed-paths --no-progress
read -r cg_w cg_u cg_s cg_m <"$work/t"
pass graph
before_rows=""
if [ -n "${BENCH_BEFORE:-}" ]; then
  read -r ba_w ba_c ba_m < <(measure nocache "$BENCH_BEFORE" audit -o json)
  read -r bw_w bw_c bw_m < <(measure nocache "$BENCH_BEFORE" which --env production --at "$mid" -o json)
  before_rows="| commit-graph | before (\`BENCH_BEFORE\`): \`modelgit audit -o json\`, no cache | $ba_w | $ba_c | $(ratio "$ba_w" "$graph_fp_w") | $(ratio "$ba_c" "$graph_fp_c") | $ba_m |
| commit-graph | before: \`modelgit which --env production --at $mid -o json\`, cold | $bw_w | $bw_c | | | $bw_m |
"
fi
events=$("$work/modelgit" audit -o csv | tail -n +2 | wc -l)
peak=0
for v in graph_ac_m graph_aw_m graph_wc_m graph_ww_m graph_wn_m nograph_ac_m nograph_aw_m nograph_wc_m nograph_ww_m nograph_wn_m; do
  [ "${!v}" -gt "$peak" ] && peak=${!v}
done
section=$(cat <<MD
<!-- audit:begin -->
## audit and which over a long history

Written by \`bench/audit.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'); run it again rather than editing:

\`\`\`
BENCH_COMMITS=$commits BENCH_RUNS=$runs bench/audit.sh
\`\`\`

- Repository: \`bench/auditgen -commits $commits\` (200 models, 3 environments; registrations, promotions on a branch merged into main, canaries, blue-green, rollbacks, reverts, hand edits), packed by \`git gc\`; $events release changes on $fp first-parent commits. Commits are unsigned (fast-import cannot sign), so signature verification costs nothing here.
- Machine: $(nproc) cores, shared (load average at the end $(cut -d' ' -f1-3 /proc/loadavg)); $(git --version); $(go version | cut -d' ' -f3).
- Median wall time of $runs runs after a warm-up run; CPU is user + system including git child processes; memory is the peak resident size of the largest process. Ratios are to the floor of the same pass. The machine may be shared: compare within a run.
- No cache / cold: \`.git/modelgit/audit-cache\` and \`.git/modelgit/registrations\` deleted before every run. Cache at the tip / warm: an audit wrote the cache at the tip first (and warm \`which\` keeps the registrations it found). The OS page cache is warm in every row.
- "no commit-graph": every git run with \`core.commitGraph=false\` (modelgit then writes none either). "commit-graph": \`git commit-graph write --reachable --changed-paths\` first (what modelgit writes on its own when it is missing; this once: $cg_w s wall, $(printf "%.2f" "$(echo "$cg_u + $cg_s" | bc)") s CPU, $(( (cg_m + 1023) / 1024 )) MiB).

| | command | wall s | CPU s | wall ÷ floor | CPU ÷ floor | peak MiB |
| --- | --- | ---: | ---: | ---: | ---: | ---: |
$(rows graph commit-graph)
$(rows nograph "no commit-graph")
$before_rows
| target (commit-graph) | measured | limit | |
| --- | ---: | ---: | --- |
| audit, no cache ÷ floor, wall | $(ratio "$graph_ac_w" "$graph_fp_w") | ≤ 1.5 | $(met "$(ratio "$graph_ac_w" "$graph_fp_w")" 1.5) |
| audit, no cache ÷ floor, CPU | $(ratio "$graph_ac_c" "$graph_fp_c") | ≤ 1.5 | $(met "$(ratio "$graph_ac_c" "$graph_fp_c")" 1.5) |
| audit, no cache ÷ the lower bound (\`cat-file\` of what it must read), wall | $(ratio "$graph_ac_w" "$graph_lb_w") | (no target) | |
| audit, cache at the tip ÷ floor, wall | $(ratio "$graph_aw_w" "$graph_fp_w") | ≤ 1.1 | $(met "$(ratio "$graph_aw_w" "$graph_fp_w")" 1.1) |
| audit, cache at the tip ÷ floor, CPU | $(ratio "$graph_aw_c" "$graph_fp_c") | ≤ 1.1 | $(met "$(ratio "$graph_aw_c" "$graph_fp_c")" 1.1) |
| which --at, middle of history, cold | $graph_wc_w s | ≤ 0.5 s | $(met "$graph_wc_w" 0.5) |
| which --at, middle of history, warm | $graph_ww_w s | ≤ 0.5 s | $(met "$graph_ww_w" 0.5) |
| which, now, cold | $graph_wn_w s | ≤ 0.5 s | $(met "$graph_wn_w" 0.5) |
| peak memory, any modelgit row | $peak MiB | ≤ 128 MiB | $(met "$peak" 128) |
<!-- audit:end -->
MD
)
if grep -q '<!-- audit:begin -->' "$doc"; then
  SECTION="$section" perl -0pi -e 's/<!-- audit:begin -->.*?<!-- audit:end -->/$ENV{SECTION}/s' "$doc"
else
  printf '\n%s\n' "$section" >>"$doc"
fi
echo "$section"
