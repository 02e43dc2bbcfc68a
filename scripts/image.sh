#!/usr/bin/env bash
# Builds the mpic image from deploy/image/Containerfile where no base image can be pulled: the
# base is made from Debian's packages (debootstrap --variant=minbase bookworm, with the
# Containerfile's RUNTIME_PACKAGES included), trimmed, imported into podman as a local image and
# passed as the BASE build argument; the build itself then runs without network.
#
#   scripts/image.sh [--build-dir build] [--tag localhost/mpic:REV] [--rebuild-base] [--base-only]
#
# Needs root, podman, buildah, debootstrap and runc (scripts/setup.sh) and the binaries built:
#   cmake --build build --target va-primary va-remote mpic
# Prints the image tag on stdout (last line). Podman settings come from
# deploy/containers/containers.conf (CONTAINERS_CONF); /etc/containers is not touched.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=$root/build
tag=""
keep_base=1
base_only=0
while (($#)); do
  case $1 in
    --build-dir) build_dir=$(cd "$2" && pwd); shift 2 ;;
    --tag) tag=$2; shift 2 ;;
    --rebuild-base) keep_base=0; shift ;;
    --base-only) base_only=1; shift ;;
    -h | --help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "image.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

export CONTAINERS_CONF=$root/deploy/containers/containers.conf
containerfile=$root/deploy/image/Containerfile
revision=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
dirty=""
if [[ -n $(git -C "$root" status --porcelain 2>/dev/null) ]]; then dirty="-dirty"; fi
[[ -n $tag ]] || tag="localhost/mpic:${revision:0:12}$dirty"
revision="$revision$dirty"

for b in va-primary va-remote mpic; do
  [[ $base_only == 1 ]] && break
  [[ -x $build_dir/bin/$b ]] || { echo "image.sh: $build_dir/bin/$b missing (build it first)" >&2; exit 1; }
done

# The package list is the Containerfile's own (one list, both paths).
packages=$(sed -n 's/^ARG RUNTIME_PACKAGES="\(.*\)"$/\1/p' "$containerfile")
[[ -n $packages ]] || { echo "image.sh: no RUNTIME_PACKAGES in $containerfile" >&2; exit 1; }
base_tag="localhost/mpic-base:bookworm-$(printf '%s' "$packages" | sha256sum | cut -c1-12)"

work=$(mktemp -d /var/tmp/mpic-image.XXXXXX)
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

if [[ $keep_base == 1 ]] && podman image exists "$base_tag"; then
  echo "image.sh: base $base_tag present" >&2
else
  echo "image.sh: debootstrap --variant=minbase bookworm (+ $packages)" >&2
  debootstrap --variant=minbase --include="${packages// /,}" bookworm "$work/rootfs" \
    >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  # Trim before import: removing files in a later layer would not make the image smaller.
  rm -rf "$work/rootfs"/var/lib/apt/lists/* "$work/rootfs"/var/cache/apt/* \
    "$work/rootfs"/var/log/* "$work/rootfs"/usr/share/doc/* "$work/rootfs"/usr/share/man/* \
    "$work/rootfs"/usr/share/info/* "$work/rootfs"/usr/share/locale/* \
    "$work/rootfs"/usr/share/lintian "$work/rootfs"/debootstrap
  tar -C "$work/rootfs" --numeric-owner -c . |
    podman import --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin' \
      --change 'CMD ["/bin/sh"]' - "$base_tag" >/dev/null
  rm -rf "$work/rootfs"
fi

if [[ $base_only == 1 ]]; then echo "$base_tag"; exit 0; fi

# The build context: the cmake install tree (stripped) of the three programs.
mkdir -p "$work/context"
for dir in va-primary va-remote tools; do
  cmake --install "$build_dir/$dir" --prefix "$work/context/prefix" --strip >/dev/null
done

podman build --network=none --pull=never -f "$containerfile" \
  --build-arg BASE="$base_tag" --build-arg SOURCE_REVISION="$revision" \
  -t "$tag" "$work/context" >&2
echo "image.sh: $tag ($(podman image inspect --format '{{.Size}}' "$tag") bytes)" >&2
echo "$tag"
