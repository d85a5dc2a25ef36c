#!/usr/bin/env bash
# Builds the test control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
# kubectl, kwok, helm) from Go modules pinned in test/cluster/versions.env and test/cluster/go/*.
#
#   test/cluster/build.sh [--print-bin-dir] [NAME...]
#
# Binaries are cached per machine in ${XDG_CACHE_HOME:-$HOME/.cache}/kube-remedy/cluster/<key>/bin,
# where <key> hashes versions.env, this script and every go.mod/go.sum/main.go under go/. Only
# missing binaries are built, one at a time with `go build -p ${KUBE_REMEDY_BUILD_JOBS:-2}` so a
# 2-core/24 GiB machine never runs out of memory. Each binary is built to a temporary file and
# renamed into place, so an interrupted build never leaves half a binary. A lock serialises
# concurrent runs. Old cache keys are not pruned: `rm -rf ~/.cache/kube-remedy/cluster/<old key>`.
#
# Progress goes to stderr; the only line on stdout is the bin directory.
# --print-bin-dir prints the bin directory and exits without building.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"

all_binaries=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok helm)

print_only=false
wanted=()
for arg in "$@"; do
  case "$arg" in
    --print-bin-dir) print_only=true ;;
    -h | --help)
      awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"
      exit 0
      ;;
    -*)
      echo "build.sh: unknown option $arg" >&2
      exit 2
      ;;
    *) wanted+=("$arg") ;;
  esac
done
if [ "${#wanted[@]}" -eq 0 ]; then
  wanted=("${all_binaries[@]}")
fi

cache_key() {
  (
    cd "$here"
    cat versions.env build.sh
    find go -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) | LC_ALL=C sort | while read -r f; do
      printf '\n== %s\n' "$f"
      cat "$f"
    done
  ) | sha256sum | cut -c1-16
}

cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/kube-remedy/cluster"
key="$(cache_key)"
bin_dir="$cache_root/$key/bin"

if $print_only; then
  echo "$bin_dir"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then
    PATH="/usr/local/go/bin:$PATH"
  else
    echo "build.sh: no go on PATH (Go >= 1.26 is needed to build the test control plane)" >&2
    exit 1
  fi
fi
for tool in flock sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "build.sh: $tool is missing" >&2
    exit 1
  }
done

mkdir -p "$bin_dir"
exec 9>"$cache_root/$key/build.lock"
if ! flock -n 9; then
  echo "build.sh: another build holds $cache_root/$key/build.lock, waiting" >&2
  flock 9
fi

tmp_files=()
child=""
cleanup() {
  for f in "${tmp_files[@]+"${tmp_files[@]}"}"; do
    rm -f "$f"
  done
}
on_signal() {
  # stop the running go build at once, then let the EXIT trap remove its temporary output
  if [ -n "$child" ]; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  exit "$1"
}
trap cleanup EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

export GOTOOLCHAIN="$GO_TOOLCHAIN"
export GOFLAGS="-mod=readonly -buildvcs=false"
export CGO_ENABLED=0
jobs="${KUBE_REMEDY_BUILD_JOBS:-2}"

# Module of each binary, its package, and its version ldflags.
module_of() {
  case "$1" in
    etcd) echo etcd ;;
    kwok) echo kwok ;;
    helm) echo helm ;;
    *) echo kubernetes ;;
  esac
}

package_of() {
  case "$1" in
    etcd) echo . ;;
    kwok) echo sigs.k8s.io/kwok/cmd/kwok ;;
    helm) echo helm.sh/helm/v3/cmd/helm ;;
    *) echo "k8s.io/kubernetes/cmd/$1" ;;
  esac
}

semver_part() { # semver_part v1.37.2 1 -> 37
  local v="${1#v}"
  v="${v%%-*}"
  echo "$v" | cut -d. -f"$(($2 + 1))"
}

module_time() { # release time of a module version, from the module cache (deterministic)
  (cd "$here/go/$1" && go list -m -f '{{if .Time}}{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' "$2" 2>/dev/null) || true
}

ldflags_of() {
  local flags="-s -w"
  case "$1" in
    etcd) flags+=" -X go.etcd.io/etcd/api/v3/version.GitSHA=${ETCD_VERSION}" ;;
    kwok) flags+=" -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}" ;;
    helm)
      local kmaj kmin
      kmaj="$(semver_part "$KUBERNETES_VERSION" 0)"
      kmin="$(semver_part "$KUBERNETES_VERSION" 1)"
      flags+=" -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}"
      flags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
      flags+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$kmaj"
      flags+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$kmin"
      flags+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$kmaj"
      flags+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$kmin"
      ;;
    *)
      local major minor build_date p
      major="$(semver_part "$KUBERNETES_VERSION" 0)"
      minor="$(semver_part "$KUBERNETES_VERSION" 1)"
      build_date="$(module_time kubernetes k8s.io/kubernetes)"
      for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        flags+=" -X $p.gitVersion=${KUBERNETES_VERSION}"
        flags+=" -X $p.gitMajor=$major"
        flags+=" -X $p.gitMinor=$minor"
        flags+=" -X $p.gitTreeState=clean"
        flags+=" -X $p.gitCommit="
        if [ -n "$build_date" ]; then
          flags+=" -X $p.buildDate=$build_date"
        fi
      done
      ;;
  esac
  echo "$flags"
}

is_known() {
  local b
  for b in "${all_binaries[@]}"; do
    [ "$b" = "$1" ] && return 0
  done
  return 1
}

total_start=$SECONDS
built=0
for name in "${wanted[@]}"; do
  if ! is_known "$name"; then
    echo "build.sh: unknown binary $name (known: ${all_binaries[*]})" >&2
    exit 2
  fi
  if [ -x "$bin_dir/$name" ]; then
    echo "cluster build: $name cached" >&2
    continue
  fi
  mod="$(module_of "$name")"
  pkg="$(package_of "$name")"
  tmp="$bin_dir/.$name.tmp.$$"
  tmp_files+=("$tmp")
  echo "cluster build: $name building ($pkg, go build -p $jobs)" >&2
  start=$SECONDS
  ldflags="$(ldflags_of "$name")"
  # in the background so that a signal reaches on_signal while the build runs
  (
    cd "$here/go/$mod"
    exec go build -p "$jobs" -trimpath -ldflags "$ldflags" -o "$tmp" "$pkg"
  ) &
  child=$!
  if ! wait "$child"; then
    echo "cluster build: $name failed" >&2
    exit 1
  fi
  child=""
  mv -f "$tmp" "$bin_dir/$name"
  built=$((built + 1))
  echo "cluster build: $name built in $((SECONDS - start))s" >&2
done
if [ "$built" -gt 0 ]; then
  echo "cluster build: $built binaries built in $((SECONDS - total_start))s into $bin_dir" >&2
fi
echo "$bin_dir"
