#!/bin/sh
# Run a MicroPython qemu board (MPS2-AN385, Cortex-M3) in the foreground with
# its UART on a new pseudo-terminal, and say which one.
# Usage: firmware/qemu/board.sh ELF [LINK]
#   LINK, if given, is made a symlink to the pty (like /dev/ttyACM0).
# Stop it with Ctrl-C, or machine.reset() on the board (semihosting exit).
# Exit: qemu's status; 2 for bad usage; 3 if qemu gives no pty.
set -eu

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 ELF [LINK]" >&2
    exit 2
fi
elf=$1
link=${2:-}
if [ ! -f "$elf" ]; then
    echo "qemu-board: $elf: no such firmware (run make first)" >&2
    exit 2
fi
if ! command -v qemu-system-arm >/dev/null; then
    echo "qemu-board: qemu-system-arm not found; install qemu-system-arm" >&2
    exit 2
fi

# qemu names the pty on its stderr: "char device redirected to /dev/pts/N
# (label serial0)". Relay its output and announce the pty once.
status=$(mktemp)
trap 'rm -f "$status"; if [ -n "$link" ] && [ -L "$link" ]; then rm -f "$link"; fi' EXIT
trap 'exit 130' INT TERM
{
    qemu-system-arm -machine mps2-an385 -nographic -monitor null -semihosting \
        -bios none -serial pty -kernel "$elf" </dev/null 2>&1
    echo $? >"$status"
} | {
    found=no
    while IFS= read -r line; do
        case $line in
        *"char device redirected to /dev/pts/"*)
            pty=${line#*redirected to }
            pty=${pty%% *}
            if [ -n "$link" ]; then
                ln -sfn "$pty" "$link"
                echo "qemu-board: $elf on $pty (linked from $link); Ctrl-C stops it"
            else
                echo "qemu-board: $elf on $pty; Ctrl-C stops it"
            fi
            found=yes
            ;;
        *) echo "$line" ;;
        esac
    done
    [ $found = yes ] || { echo "qemu-board: qemu gave no pty" >&2; exit 3; }
}
rc=$(cat "$status")
exit "${rc:-1}"
