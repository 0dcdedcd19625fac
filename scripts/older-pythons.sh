#!/usr/bin/env bash
# Older hosts' own Python interpreters, for the tests of the on-host zipapp
# (tests/integration/test_fleet_py39.py): a fleet has Debian 11 hosts (python3.9), Ubuntu
# 22.04 hosts (python3.10) and Ubuntu 20.04 hosts (python3.8, below what the zipapp serves:
# it must say so in one line). A fresh Debian 12 has only 3.11, so their distributions' own
# packages are fetched through a private apt state (this machine's sources, lists and
# packages stay untouched) and unpacked, not installed, into .venv/pythons/NAME; each python
# finds its standard library next to itself. Signatures are checked by apt: Debian's with
# Debian's keyring, Ubuntu's with the Ubuntu archive keyring taken from Debian's own
# ubuntu-keyring package (trixie). Needs no root. A failure only warns: the tests then fail
# in CI, or skip elsewhere, naming what is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dest="$here/.venv/pythons"
arch=$(dpkg --print-architecture)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
debian_keys=/usr/share/keyrings/debian-archive-keyring.gpg

# download NAME SOURCES-LINE... -- PACKAGE...: the .debs into $work/NAME/debs
download() {
  local name=$1; shift
  local state="$work/$name"
  mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/debs" "$state/parts"
  : > "$state/sources.list"
  while [ "$1" != "--" ]; do echo "$1" >> "$state/sources.list"; shift; done
  shift
  local opts=(-qq -o "Dir::Etc::SourceList=$state/sources.list"
              -o "Dir::Etc::SourceParts=$state/parts" -o "Dir::State::Lists=$state/lists"
              -o "Dir::Cache=$state/cache" -o "Dir::State::status=/dev/null"
              -o "APT::Architectures=$arch" -o "Acquire::Languages=none"
              -o "APT::Sandbox::User=$(id -un)")
  apt-get "${opts[@]}" update >&2
  (cd "$state/debs" && apt-get "${opts[@]}" download "$@" >&2)
}

# unpack NAME VERSION: the downloaded .debs into $dest/NAME, checked to be that python
unpack() {
  local name=$1 version=$2
  rm -rf "$dest/$name.new"
  for deb in "$work/$name"/debs/*.deb; do dpkg-deb -x "$deb" "$dest/$name.new"; done
  "$dest/$name.new/usr/bin/python$version" -I -S -c \
    "import sys; assert sys.version_info[:2] == tuple(map(int, '$version'.split('.')))"
  rm -rf "${dest:?}/$name"
  mv "$dest/$name.new" "$dest/$name"
}

# one NAME VERSION SOURCES-LINE... : fetch and unpack pythonVERSION unless it is there
one() {
  local name=$1 version=$2; shift 2
  [ -x "$dest/$name/usr/bin/python$version" ] && return 0
  if download "$name" "$@" -- "python$version-minimal" "libpython$version-minimal" \
       "libpython$version-stdlib" && unpack "$name" "$version"; then
    echo "setup: $name's python$version in $dest/$name" >&2
  else
    echo "setup: could not fetch $name's python$version; its tests will say so" >&2
  fi
}

mkdir -p "$dest"
one debian11 3.9 \
  "deb [signed-by=$debian_keys] http://deb.debian.org/debian bullseye main" \
  "deb [signed-by=$debian_keys] http://deb.debian.org/debian-security bullseye-security main"

ubuntu_keys="$dest/ubuntu-archive-keyring.gpg"
if [ ! -s "$ubuntu_keys" ]; then
  if download keyring "deb [signed-by=$debian_keys] http://deb.debian.org/debian trixie main" \
       -- ubuntu-keyring; then
    dpkg-deb -x "$work"/keyring/debs/ubuntu-keyring_*.deb "$work/keyring/root"
    cp "$work/keyring/root/usr/share/keyrings/ubuntu-archive-keyring.gpg" "$ubuntu_keys"
  else
    echo "setup: could not fetch Debian's ubuntu-keyring; Ubuntu's pythons are not fetched" >&2
    exit 0
  fi
fi
ubuntu=http://archive.ubuntu.com/ubuntu
[ "$arch" = amd64 ] || ubuntu=http://ports.ubuntu.com/ubuntu-ports
one ubuntu2204 3.10 \
  "deb [signed-by=$ubuntu_keys] $ubuntu jammy main" \
  "deb [signed-by=$ubuntu_keys] $ubuntu jammy-updates main"
one ubuntu2004 3.8 \
  "deb [signed-by=$ubuntu_keys] $ubuntu focal main" \
  "deb [signed-by=$ubuntu_keys] $ubuntu focal-updates main"
