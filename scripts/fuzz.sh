#!/usr/bin/env bash
# Runs every fuzz target of the module, one after the other, each for
# $FUZZTIME (default 60s): the nightly-style job. Arguments are package
# patterns (default ./...), e.g. scripts/fuzz.sh ./manifests/...
#
#   FUZZTIME=10m scripts/fuzz.sh            # a long run
#   FUZZTIME=5s scripts/fuzz.sh ./gitops/repo
#   FUZZPARALLEL=2 scripts/fuzz.sh          # workers per target (default: all cores)
#
# A failure does not stop the run: every target gets its turn, the failing
# ones are listed at the end, and the exit status is 1. go test writes each
# failing input to the package's testdata/fuzz/<Target>/ (commit it: it
# becomes a regression test that plain `go test` runs); the inputs that
# widened coverage stay in $(go env GOCACHE)/fuzz, which a nightly job may
# keep between runs to start where the last one stopped.
set -uo pipefail
cd "$(dirname "$0")/.."

fuzztime="${FUZZTIME:-60s}"
parallel=()
[ -n "${FUZZPARALLEL:-}" ] && parallel=(-parallel "$FUZZPARALLEL")
[ "$#" -eq 0 ] && set -- ./...

targets=()
while read -r dir pkg; do
  for name in $(grep -hoE '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' "$dir"/*_test.go 2>/dev/null | sed -E 's/^func (Fuzz[A-Za-z0-9_]+).*/\1/' | sort -u); do
    targets+=("$pkg $name")
  done
done < <(go list -f '{{.Dir}} {{.ImportPath}}' "$@")

if [ "${#targets[@]}" -eq 0 ]; then
  echo "fuzz.sh: no fuzz targets in $*" >&2
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} targets, $fuzztime each" >&2

failed=()
for t in "${targets[@]}"; do
  read -r pkg name <<<"$t"
  echo "=== $name ($pkg)" >&2
  if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "${parallel[@]}" "$pkg"; then
    failed+=("$name ($pkg)")
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz.sh: ${#failed[@]} of ${#targets[@]} targets failed:" >&2
  printf '  %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "fuzz.sh: all ${#targets[@]} targets passed ($fuzztime each)" >&2
