#!/usr/bin/env bash
# The test command of README.md, and what CI runs (.ci/run calls it).
# It installs what the tests need when it is missing — Debian packages with
# apt-get, peer CLIs with `go install` into ./.bin — then runs the tests
# with the race detector, then (with no arguments) the Flux end-to-end test
# in e2e/. Arguments are passed to the product's `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v git >/dev/null        || need_apt+=(git)
command -v ssh-keygen >/dev/null || need_apt+=(openssh-client)
command -v gpg >/dev/null        || need_apt+=(gnupg)
command -v sha256sum >/dev/null  || need_apt+=(coreutils)
command -v docker-registry >/dev/null || need_apt+=(docker-registry)
command -v htpasswd >/dev/null   || need_apt+=(apache2-utils)
command -v prometheus >/dev/null || need_apt+=(prometheus) # with promtool; --no-install-recommends below
{ command -v mkfs.xfs || [ -x /usr/sbin/mkfs.xfs ]; } >/dev/null || need_apt+=(xfsprogs) # reflink tests mount an XFS image
if ((${#need_apt[@]})); then
  echo "installing ${need_apt[*]} with apt-get" >&2
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >&2
fi

# Peer CLIs built from their Go modules land here; tests find them on PATH.
export GOBIN="$PWD/.bin"
export PATH="$GOBIN:$PATH"
# gitops/render compares BuildCluster with the kustomize CLI matching kustomize/api v0.21.2.
command -v kustomize >/dev/null || go install sigs.k8s.io/kustomize/kustomize/v5@v5.8.2
command -v oras >/dev/null || go install oras.land/oras/cmd/oras@v1.3.0

e2e=0
if [ "$#" -eq 0 ]; then
  set -- ./...
  e2e=1 # the whole command: the Flux end-to-end test runs too
fi
status=0
go test -race -timeout 30m "$@" || status=$?

# The Flux end-to-end test (e2e/, its own Go module): real etcd,
# kube-apiserver, source-controller and kustomize-controller, built from the
# Go module proxy once into a cache outside the clone (~/.cache/modelgit-e2e/) (keyed by e2e/tools/*/go.{mod,sum};
# ~30 minutes cold on 2 busy cores, nothing when cached), then a story of
# promotions that Flux applies. Bounded so it cannot eat CI's 90 minutes.
if [ "$e2e" = 1 ]; then
  if bin=$(timeout 55m ./scripts/e2e-build.sh); then
    (cd e2e && MODELGIT_E2E_BIN=${bin##*$'\n'} go test -count=1 -timeout 20m ./...) || status=$?
  else
    echo "e2e: building the parts failed: ./scripts/e2e-build.sh" >&2
    status=1
  fi
fi
exit "$status"
