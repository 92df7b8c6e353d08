#!/usr/bin/env bash
# Builds the real parts the Flux end-to-end test (e2e/) runs — etcd,
# kube-apiserver, source-controller, kustomize-controller — from the Go
# module proxy, with the pinned consumer modules under e2e/tools/, and
# copies the Flux CRDs of those controllers' modules beside them (crds/).
#
# They are built once into a cache directory keyed by a hash of those
# go.mod/go.sum files, and never rebuilt while they are there: a cold build
# takes ~30 minutes on 2 shared cores, a warm one nothing. The script prints
# the directory holding the binaries on its last line of stdout.
#
#   MODELGIT_E2E_CACHE  where the keyed directories go (default:
#                       ${XDG_CACHE_HOME:-~/.cache}/modelgit-e2e, outside the
#                       clone, so that every clone on the machine, CI's
#                       fresh one included, reuses the same binaries)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools=$root/e2e/tools
cache=${MODELGIT_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/modelgit-e2e}

key=$(cd "$tools" && cat kube/go.mod kube/go.sum source-controller/go.mod source-controller/go.sum \
  kustomize-controller/go.mod kustomize-controller/go.sum | sha256sum | cut -c1-16)
bin=$cache/bin-$key
mkdir -p "$bin"

# What each binary is: NAME MODULE-DIR PACKAGE.
parts=(
  "kube-apiserver kube k8s.io/kubernetes/cmd/kube-apiserver"
  "etcd kube go.etcd.io/etcd/server/v3"
  "source-controller source-controller github.com/fluxcd/source-controller"
  "kustomize-controller kustomize-controller github.com/fluxcd/kustomize-controller"
)
missing=()
for p in "${parts[@]}"; do
  read -r name _ _ <<<"$p"
  [ -x "$bin/$name" ] || missing+=("$p")
done
if ((${#missing[@]} == 0)) && [ -d "$bin/crds" ]; then
  echo "$bin"
  exit 0
fi

# One build at a time, even across concurrent callers.
exec 9>"$cache/build.lock"
flock 9

# A cold build needs ~4 GB of module cache, ~5 GB of build cache and 0.5 GB
# of binaries; fail early, and say so, rather than half-way in a full disk.
need_kb=$((10 * 1024 * 1024))
for d in "$cache" "$(go env GOMODCACHE)" "$(go env GOCACHE)"; do
  mkdir -p "$d"
  free_kb=$(df -Pk "$d" | awk 'NR == 2 {print $4}')
  if ((free_kb < need_kb)); then
    echo "e2e-build: $d has $((free_kb / 1024)) MiB free; building the e2e parts needs ~10 GiB" >&2
    exit 1
  fi
done

k8s=v1.36.3
version_flags="-X k8s.io/component-base/version.gitVersion=$k8s -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=36 -X k8s.io/component-base/version.gitTreeState=clean"
export GOFLAGS="-mod=readonly -buildvcs=false" # go.mod/go.sum pin everything: nothing may drift
for p in "${missing[@]}"; do
  read -r name mod pkg <<<"$p"
  [ -x "$bin/$name" ] && continue # another caller built it while we waited for the lock
  echo "e2e-build: building $name (cold: minutes) into $bin" >&2
  start=$(date +%s)
  ldflags="-s -w"
  [ "$name" = kube-apiserver ] && ldflags="$ldflags $version_flags"
  (cd "$tools/$mod" && nice -n 19 go build -trimpath -ldflags="$ldflags" -o "$bin/.$name.tmp" "$pkg") >&2
  mv "$bin/.$name.tmp" "$bin/$name"
  echo "e2e-build: built $name in $(($(date +%s) - start))s" >&2
done
if [ ! -d "$bin/crds" ]; then
  # The CRDs of exactly the controllers built above, from their modules.
  rm -rf "$bin/.crds.tmp" && mkdir -p "$bin/.crds.tmp"
  for m in source-controller kustomize-controller; do
    src=$(cd "$tools/$m" && go list -m -f '{{.Dir}}' "github.com/fluxcd/$m")
    cp "$src"/config/crd/bases/*.yaml "$bin/.crds.tmp/"
  done
  chmod -R u+w "$bin/.crds.tmp"
  mv "$bin/.crds.tmp" "$bin/crds"
fi
echo "$bin"
