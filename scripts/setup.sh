#!/usr/bin/env bash
# Set up everything kmend and its tests need on a fresh Debian 12 machine:
# the Debian packages in scripts/apt-packages.txt (when root) and a virtualenv in .venv
# with kmend installed in editable mode plus the development tools.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

packages=$(grep -vE '^\s*(#|$)' scripts/apt-packages.txt | tr '\n' ' ')
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian packages:$missing" >&2
    apt-get update -qq
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null; then
      # the 6.12 kernel and the linux-source packages are in bookworm-security, which an
      # installed Debian 12 lists but a bare debootstrap does not
      echo "setup: apt-get install failed; /etc/apt/sources.list* must list bookworm and bookworm-security" >&2
      exit 1
    fi
  else
    echo "setup: missing Debian packages (run as root or: sudo apt-get install$missing)" >&2
  fi
fi

# Debian 12's own interpreter (3.11.2), never whatever python3 comes first on PATH: the
# README's commands and CI must run on the Python a fresh Debian 12 has.
PY=${KMEND_PYTHON:-/usr/bin/python3}
if [ -x .venv/bin/python ] && [ "$(readlink -f .venv/bin/python)" != "$(readlink -f "$PY")" ]; then
  echo "setup: .venv was made with another Python; recreating it with $PY" >&2
  rm -rf .venv
fi
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
