#!/bin/sh
# Print the path of a python3 that can import serial (pyserial), which
# MicroPython's pyboard.py and mpremote need. Debian's interpreter first,
# since python3 on PATH may be a separate one without python3-serial.
for py in /usr/bin/python3 python3; do
    if "$py" -c 'import serial' 2>/dev/null; then
        command -v "$py"
        exit 0
    fi
done
echo "find-python: no python3 with pyserial; install python3-serial" >&2
exit 1
