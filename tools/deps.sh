#!/bin/sh
# Install the Debian packages the build and tests need, or name them.
# Usage: tools/deps.sh STAMP
# As root, missing packages are installed with apt-get; otherwise the
# script stops with one line naming what to install.
set -eu

PKGS="build-essential pkg-config python3 python3-serial python3-platformdirs
libserialport-dev xz-utils dpkg-dev gcc-arm-none-eabi libnewlib-arm-none-eabi
qemu-system-arm clang libclang-rt-14-dev valgrind uncrustify gnuplot-nox"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "deps: missing Debian packages; run: sudo apt-get install$missing" >&2
        exit 1
    fi
    echo "deps: installing$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends $missing >/dev/null 2>&1; then
        apt-get update >/dev/null
        apt-get install -y --no-install-recommends $missing >/dev/null
    fi
fi

if [ $# -ge 1 ]; then
    mkdir -p "$(dirname "$1")"
    touch "$1"
fi
