#!/bin/sh
# Make build/micropython point at a MicroPython 1.25 source tree.
# Usage: tools/fetch-micropython.sh BUILD_DIR [MICROPY_DIR]
# With MICROPY_DIR the user's own tree is checked and linked. Without it
# Debian's source package is fetched through a private apt configuration
# (the system's apt state is not touched), verified and unpacked.
set -eu

BUILD=$1
USER_TREE=${2:-}
VERSION=1.25.0
DEBVER=1.25.0+ds-1
ORIG=micropython_1.25.0+ds.orig.tar.xz
ORIG_SHA256=7b25be99a502f070b2de81dafc08da7051d992325d6e67daa9045a918fffdbea

die() {
    echo "micropython: $*" >&2
    exit 1
}

# Check that a tree is MicroPython 1.25.x with the parts we build from.
check_tree() {
    t=$1
    [ -d "$t" ] || die "$t: no such directory"
    [ -f "$t/py/mpconfig.h" ] || die "$t: not a MicroPython tree (no py/mpconfig.h)"
    major=$(sed -n 's/^#define MICROPY_VERSION_MAJOR \([0-9]*\)$/\1/p' "$t/py/mpconfig.h")
    minor=$(sed -n 's/^#define MICROPY_VERSION_MINOR \([0-9]*\)$/\1/p' "$t/py/mpconfig.h")
    [ "$major.$minor" = "1.25" ] || die "$t: MicroPython $major.$minor found, 1.25.x needed"
    for p in py/py.mk extmod/extmod.mk shared/runtime/pyexec.c lib/littlefs/lfs2.c \
        lib/uzlib/tinflate.c lib/crypto-algorithms/sha256.c mpy-cross/Makefile \
        ports/qemu/Makefile tools/pyboard.py tools/mpremote/mpremote/main.py \
        tests/run-tests.py; do
        [ -e "$t/$p" ] || die "$t: incomplete tree, $p is missing"
    done
}

mkdir -p "$BUILD"
link="$BUILD/micropython"

if [ -n "$USER_TREE" ]; then
    tree=$(cd "$USER_TREE" 2>/dev/null && pwd) || die "$USER_TREE: no such directory"
    check_tree "$tree"
    ln -sfn "$tree" "$link"
    exit 0
fi

src="$BUILD/src"
tree="$src/micropython-$VERSION"
if [ -f "$tree/.complete" ]; then
    check_tree "$tree"
    ln -sfn "src/micropython-$VERSION" "$link"
    exit 0
fi

# The mirror the system's apt already uses, so no host name lives here.
mirror=""
for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    mirror=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' "$f")
    [ -n "$mirror" ] && break
done
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
    mirror=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; exit } }' /etc/apt/sources.list)
fi
[ -n "$mirror" ] || die "no Debian mirror found in the system's apt sources; pass MICROPY_DIR=/path/to/micropython"

apt="$src/apt"
rm -rf "$apt"
mkdir -p "$apt/lists/partial" "$apt/archives/partial" "$apt/parts" "$apt/dl"
echo "deb-src $mirror trixie main" > "$apt/sources.list"
set -- -o Dir::Etc::sourcelist="$(pwd)/$apt/sources.list" \
    -o Dir::Etc::sourceparts="$(pwd)/$apt/parts" \
    -o Dir::State::Lists="$(pwd)/$apt/lists" \
    -o Dir::Cache::Archives="$(pwd)/$apt/archives" \
    -o APT::Sandbox::User=root

echo "micropython: fetching Debian source package micropython=$DEBVER" >&2
apt-get "$@" update >"$apt/update.log" 2>&1 || die "apt-get update of the trixie source list failed (see $apt/update.log)"
(cd "$apt/dl" && apt-get "$@" source --download-only "micropython=$DEBVER") >"$apt/source.log" 2>&1 ||
    die "apt-get source micropython=$DEBVER failed (see $apt/source.log)"

echo "$ORIG_SHA256  $apt/dl/$ORIG" | sha256sum -c --status ||
    die "$ORIG: SHA-256 mismatch, refusing to use it"

tmp="$src/unpack.$$"
rm -rf "$tmp" "$tree"
mkdir -p "$tmp"
tar -C "$tmp" -xJf "$apt/dl/$ORIG" || die "$ORIG: unpack failed"
mv "$tmp/micropython-$VERSION" "$tree"
rm -rf "$tmp" "$apt"
check_tree "$tree"
touch "$tree/.complete"
ln -sfn "src/micropython-$VERSION" "$link"
echo "micropython: $VERSION unpacked into $tree" >&2
