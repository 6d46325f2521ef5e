#!/bin/sh
# hang.sh FILE: starts a helper (in the same process group), writes
# "SHELL_PID HELPER_PID" to FILE, and hangs past any probe timeout.
sleep 30 &
echo "$$ $!" >"$1.tmp" && mv "$1.tmp" "$1"
sleep 30
