#!/bin/sh
# env.sh FD: the environment, the user, stdin and whether FD is open, on one line.
if read -r line; then stdin="data"; else stdin="eof"; fi
if [ -e "/proc/$$/fd/$1" ]; then fd=open; else fd=closed; fi
echo "ERROR ON STDERR" >&2
echo "env=[$(/usr/bin/env | sort | tr '\n' ' ')] user=$(id -un) groups=$(id -G) stdin=$stdin fd=$fd"
