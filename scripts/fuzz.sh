#!/usr/bin/env bash
# Runs every fuzz target of the repository, one after the other, each for
# $FUZZTIME (default 5m): the nightly job. Arguments are package patterns
# of the main module (default: ./... of every module of the repository
# except the third-party controllers vendored under e2e/tools/), e.g.
# scripts/fuzz.sh ./manifests/...
#
#   scripts/fuzz.sh                         # nightly: every target, 5m each
#   FUZZTIME=10s scripts/fuzz.sh ./gitops/repo
#   FUZZPARALLEL=2 scripts/fuzz.sh          # workers per target (default: all cores)
#
# It is not part of scripts/test.sh (the CI test command): fuzzing has no
# end, a run's length is a budget, and with ~25 targets at 5m each it takes
# two hours; `go test` already runs every target's seed corpus and the
# inputs committed under testdata/fuzz/ (earlier failures) in seconds.
#
# A failure does not stop the run: every target gets its turn, the failing
# ones are listed at the end, and the exit status is 1. go test writes each
# failing input to the package's testdata/fuzz/<Target>/ (commit it: it
# becomes a regression test that plain `go test` runs); the inputs that
# widened coverage stay in $(go env GOCACHE)/fuzz, which a nightly job may
# keep between runs to start where the last one stopped.
set -uo pipefail
cd "$(dirname "$0")/.."

fuzztime="${FUZZTIME:-5m}"
parallel=()
[ -n "${FUZZPARALLEL:-}" ] && parallel=(-parallel "$FUZZPARALLEL")

# modules: the directories to run go in, with the patterns for each.
modules=()
if [ "$#" -gt 0 ]; then
  modules=(".")
else
  while read -r mod; do
    modules+=("$(dirname "$mod")")
  done < <(find . -name go.mod -not -path './e2e/tools/*' -not -path '*/testdata/*' -not -path './.git/*' | sort)
  set -- ./...
fi

targets=()
for mod in "${modules[@]}"; do
  while read -r dir pkg; do
    for name in $(grep -hoE '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' "$dir"/*_test.go 2>/dev/null | sed -E 's/^func (Fuzz[A-Za-z0-9_]+).*/\1/' | sort -u); do
      targets+=("$mod $pkg $name")
    done
  done < <(cd "$mod" && go list -f '{{.Dir}} {{.ImportPath}}' "$@")
done

if [ "${#targets[@]}" -eq 0 ]; then
  echo "fuzz.sh: no fuzz targets in $*" >&2
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} targets, $fuzztime each" >&2

failed=()
for t in "${targets[@]}"; do
  read -r mod pkg name <<<"$t"
  echo "=== $name ($pkg)" >&2
  if ! (cd "$mod" && go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "${parallel[@]}" "$pkg"); then
    failed+=("$name ($pkg)")
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz.sh: ${#failed[@]} of ${#targets[@]} targets failed:" >&2
  printf '  %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "fuzz.sh: all ${#targets[@]} targets passed ($fuzztime each)" >&2
