#!/usr/bin/env bash
# Builds libunbound against OpenSSL from Debian's own source package for the installed
# libunbound8 version, into a project prefix (default /opt/mpic/unbound-<version>).
#
# Why: Debian links libunbound to nettle/GMP, where an ECDSA P-256 verification costs about
# 1.7x what it costs through OpenSSL 3, and seeds a Yarrow generator per context; DNSSEC
# validation in lab mode spends most of its CPU there (docs/BENCHMARKS.md). Nothing but
# libunbound is built; the system's unbound stays.
#
#   scripts/build-unbound.sh            # builds once; later runs only print the prefix
#   MPIC_UNBOUND_PREFIX=/opt/x scripts/build-unbound.sh
#
# Then configure with -DMPIC_UNBOUND_OPENSSL=ON (or leave it at AUTO: cmake/deps.cmake uses
# /opt/mpic/unbound-<installed version> when present). Needs dpkg-dev, bison, flex,
# libssl-dev, libevent-dev and a compiler (scripts/setup.sh installs them), and the Debian
# archive configured in /etc/apt. Takes minutes (docs/BENCHMARKS.md has the measured time).
set -euo pipefail

version=$(dpkg-query -W -f='${Version}' libunbound8 2>/dev/null || true)
if [[ -z $version ]]; then
  echo "build-unbound: libunbound8 is not installed (run scripts/setup.sh first)" >&2
  exit 1
fi
prefix=${MPIC_UNBOUND_PREFIX:-/opt/mpic/unbound-$version}
if [[ -f $prefix/lib/libunbound.so && -f $prefix/include/unbound.h && -f $prefix/.complete ]]; then
  echo "build-unbound: $prefix already built" >&2
  echo "$prefix"
  exit 0
fi

SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"

for tool in dpkg-source bison flex gcc make; do
  if ! command -v "$tool" >/dev/null; then
    echo "build-unbound: $tool is missing (run scripts/setup.sh first)" >&2
    exit 1
  fi
done

work=$(mktemp -d /tmp/mpic-unbound-src.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"  # lets apt's _apt user read the lists it fetches
mkdir -p "$work/lists/partial" "$work/src"

# A deb-src list of our own, made from the system's Debian deb822 sources (same archive URIs,
# suites, components and keyring); /etc/apt stays untouched.
sources="$work/sources.sources"
: >"$sources"
for f in /etc/apt/sources.list.d/*.sources; do
  [[ -f $f ]] || continue
  grep -qiE '^URIs:.*debian' "$f" || continue
  # Keep only stanzas whose URIs are a Debian archive, and turn "deb" into "deb-src".
  awk -v RS= -v ORS='\n\n' '/URIs:[^\n]*debian/ { sub(/Types:[^\n]*/, "Types: deb-src"); print }' \
    "$f" >>"$sources"
done
if [[ -f /etc/apt/sources.list ]]; then
  # One-line format: "deb [opts] URI suite components".
  grep -E '^deb[[:space:]].*debian' /etc/apt/sources.list | sed 's/^deb /deb-src /' \
    >"$work/sources.list" || true
fi
if [[ ! -s $sources && ! -s $work/sources.list ]]; then
  echo "build-unbound: no Debian archive found in /etc/apt sources" >&2
  exit 1
fi
apt_opts=(-o "Dir::Etc::sourcelist=$work/sources.list" -o "Dir::Etc::sourceparts=$work/parts"
          -o "Dir::State::Lists=$work/lists" -o "Dir::Cache::archives=$work/archives")
mkdir -p "$work/parts" "$work/archives/partial"
touch "$work/sources.list"
[[ -s $sources ]] && cp "$sources" "$work/parts/debian.sources"

start=$(date +%s)
echo "build-unbound: fetching Debian's unbound $version source package" >&2
apt-get "${apt_opts[@]}" -q update >&2
(cd "$work/src" && apt-get "${apt_opts[@]}" -q source --download-only "unbound=$version" >&2)
(cd "$work/src" && dpkg-source -x ./unbound_*.dsc unbound >/dev/null)

echo "build-unbound: configuring libunbound against OpenSSL" >&2
cd "$work/src/unbound"
# Debian's own libunbound options (debian/rules), except --with-nettle: signatures go through
# OpenSSL, configure's default. --with-libunbound-only: no daemon, no tools.
./configure -q --prefix="$prefix" --with-libunbound-only --with-ssl=/usr --with-libevent \
  --enable-event-api --enable-tfo-client --enable-tfo-server --disable-rpath \
  --disable-static --without-pythonmodule --without-pyunbound \
  --with-rootkey-file=/usr/share/dns/root.key \
  CFLAGS="$(dpkg-buildflags --get CFLAGS)" CPPFLAGS="$(dpkg-buildflags --get CPPFLAGS)" \
  LDFLAGS="$(dpkg-buildflags --get LDFLAGS)" >&2
nice make -s -j"$(nproc)" lib >&2
$SUDO mkdir -p "$prefix"
$SUDO make -s install-lib >&2
[[ -f $prefix/include/unbound.h ]] || $SUDO install -m 644 libunbound/unbound.h "$prefix/include/"
[[ -f $prefix/include/unbound-event.h ]] ||
  $SUDO install -m 644 libunbound/unbound-event.h "$prefix/include/"
if ! ldd "$prefix/lib/libunbound.so" | grep -q libcrypto; then
  echo "build-unbound: $prefix/lib/libunbound.so is not linked to OpenSSL" >&2
  exit 1
fi
$SUDO touch "$prefix/.complete"
echo "build-unbound: built $prefix in $(($(date +%s) - start)) s" >&2
echo "$prefix"
