#!/usr/bin/env bash
# Fetches bcftools' own consequence-calling test suite (test/csq/ and
# test/test.pl of the bcftools source) from Debian's source package, for
# crates/gas/tests/csq_peers.rs, and prints where it is:
#   eval "$(bash scripts/csq-peers.sh)"   # exports GAS_BCFTOOLS_CSQ_DIR
# Idempotent: the extracted tree is cached under target/csq-peers/ and a
# second run only prints. The orig tarball's sha256 is checked against the
# .dsc that apt-get verified (apt-get checked the .dsc against the signed
# Sources index). apt-get runs as root, or through sudo; without either this
# prints a warning on stderr and nothing on stdout, and the peer tests skip
# (or fail, with GAS_REQUIRE_CSQ_PEERS=1).
set -euo pipefail
cd "$(dirname "$0")/.."
root=target/csq-peers
mkdir -p "$root"
root=$(cd "$root" && pwd)

emit() {
  echo "export GAS_BCFTOOLS_CSQ_DIR=$1"
}

# Already extracted: a previous run left the marker after its checks passed.
if [ -f "$root/extracted.ok" ]; then
  dir=$(cat "$root/extracted.ok")
  if [ -f "$dir/test.pl" ] && [ -d "$dir/csq" ]; then
    emit "$dir"
    exit 0
  fi
fi

apt=(apt-get)
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    apt=(sudo apt-get)
  else
    echo "warning: not root and no sudo, cannot fetch bcftools' source package; the csq peer tests will skip" >&2
    exit 0
  fi
fi

# A deb-src copy of the machine's own Debian sources (deb822 or one-line
# format), so the same mirror and suites serve the source package.
src=$root/sources
mkdir -p "$src" "$root/lists/partial" "$root/cache" "$root/archives/partial" "$root/pkg"
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  sed -E 's/^Types:.*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources >"$src/debian.sources"
  list=$src/debian.sources
elif [ -f /etc/apt/sources.list ]; then
  sed -nE 's/^deb[[:space:]]/deb-src /p' /etc/apt/sources.list >"$src/sources.list"
  list=$src/sources.list
else
  echo "warning: no Debian apt sources found; the csq peer tests will skip" >&2
  exit 0
fi
# deb822 files go in SourceParts, one-line lists in SourceList.
if [ "${list##*.}" = sources ]; then
  apt_opts=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$src")
else
  apt_opts=(-o "Dir::Etc::SourceList=$list" -o "Dir::Etc::SourceParts=/dev/null")
fi
# Lists, caches and locks of its own: the machine's apt state is not touched.
apt_opts+=(-o "Dir::State::Lists=$root/lists" -o "Dir::Cache=$root/cache"
  -o "Dir::Cache::Archives=$root/archives" -o "APT::Sandbox::User=root")

if ! ls "$root"/pkg/bcftools_*.dsc >/dev/null 2>&1; then
  echo "fetching bcftools' Debian source package into $root/pkg" >&2
  if ! "${apt[@]}" -qq "${apt_opts[@]}" update >&2; then
    echo "warning: apt-get update of the deb-src lists failed; the csq peer tests will skip" >&2
    exit 0
  fi
  if ! (cd "$root/pkg" && "${apt[@]}" -qq "${apt_opts[@]}" source --download-only bcftools >&2); then
    echo "warning: apt-get source bcftools failed; the csq peer tests will skip" >&2
    exit 0
  fi
fi

dsc=$(ls "$root"/pkg/bcftools_*.dsc | sort -V | tail -n1)
orig=$(ls "$root"/pkg/bcftools_*.orig.tar.* | grep -v '\.asc$' | sort -V | tail -n1)
want=$(awk -v f="$(basename "$orig")" '
  /^Checksums-Sha256:/ { s = 1; next }
  /^[^ ]/ { s = 0 }
  s && $3 == f { print $1 }' "$dsc")
have=$(sha256sum "$orig" | cut -d' ' -f1)
if [ -z "$want" ] || [ "$want" != "$have" ]; then
  echo "error: $orig: sha256 $have does not match the .dsc's ${want:-(none)}; removed, the next run fetches it again" >&2
  rm -f "$root"/pkg/bcftools_*
  exit 1
fi

# Only test/csq/ and the driver that says how each case runs.
ver=$(basename "$orig" | sed -E 's/^bcftools_(.*)\.orig\.tar\..*$/\1/')
out=$root/bcftools-$ver
rm -rf "$out.tmp"
mkdir -p "$out.tmp"
tar -xf "$orig" -C "$out.tmp" --strip-components=2 --wildcards \
  'bcftools-*/test/csq/*' 'bcftools-*/test/test.pl'
rm -rf "$out"
mv "$out.tmp" "$out"
echo "$out" >"$root/extracted.ok"
emit "$out"
