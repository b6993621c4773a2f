#!/usr/bin/env bash
# Build the sandbox control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl, kwok) from the Go module proxy into a per-version cache
# outside the work tree. Skips every binary that is already present.
#
# Usage: tools/build.sh [BIN_DIR]
#   BIN_DIR defaults to ${OPERATOR_CHAOS_CACHE:-$HOME/.cache/operator-chaos}/k8s-$K8S_VERSION/bin
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"

cache="${OPERATOR_CHAOS_CACHE:-$HOME/.cache/operator-chaos}"
bin="${1:-$cache/k8s-$K8S_VERSION/bin}"
logdir="$(dirname "$bin")/logs"
mkdir -p "$bin" "$logdir"

if ! command -v go >/dev/null 2>&1; then
  echo "error: Go toolchain not found; install Go >= 1.24 (https://go.dev/doc/install) and retry" >&2
  exit 127
fi

export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0

stamp() { date -u +%Y-%m-%dT%H:%M:%SZ; }
build() {  # build NAME MODULE_DIR LDFLAGS OUTPUTS PACKAGES...
  local name="$1" dir="$2" ld="$3" outputs="$4"; shift 4
  local missing=0 o
  for o in $outputs; do [[ -x "$bin/$o" ]] || missing=1; done
  if [[ $missing == 0 ]]; then echo "[build] $name: cached in $bin"; return 0; fi
  local log="$logdir/build-$name.log" t0=$SECONDS out="$bin/"
  # A single package gets an explicit file name (etcd's main package path ends in /v3).
  if [[ $# == 1 ]]; then out="$bin/$outputs"; fi
  echo "[build] $name: compiling (log: $log) ..."
  if ! (cd "$here/$dir" && go build -trimpath -ldflags "$ld" -o "$out" "$@") >"$log" 2>&1; then
    echo "error: building $name failed; see $log" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  echo "[build] $name: done in $((SECONDS - t0))s"
}

k8s_ld="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ld="$k8s_ld -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=$K8S_MAJOR -X $p.gitMinor=$K8S_MINOR"
  k8s_ld="$k8s_ld -X $p.gitTreeState=clean -X $p.buildDate=$K8S_BUILD_DATE"
done

total0=$SECONDS
build etcd etcd "-s -w" etcd go.etcd.io/etcd/server/v3
build kwok kwok "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION" kwok sigs.k8s.io/kwok/cmd/kwok
build kubernetes k8s "$k8s_ld" "kube-apiserver kube-controller-manager kube-scheduler kubectl" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
echo "[build] all binaries ready in $bin ($((SECONDS - total0))s)"
