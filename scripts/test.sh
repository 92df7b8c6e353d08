#!/usr/bin/env bash
# The test command of README.md, and what CI runs (.ci/run calls it).
# It installs what the tests need when it is missing — Debian packages with
# apt-get, peer CLIs with `go install` into ./.bin — then runs the tests
# with the race detector. Arguments are passed to `go test`.
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

if [ "$#" -eq 0 ]; then
  set -- ./...
fi
exec go test -race -timeout 30m "$@"
