#!/bin/sh
# 200000 bytes on the first line, perfdata only at its end (past the 4 KiB
# kept), then exit 0: the probe must drain the pipe and not block the plugin.
head -c 200000 /dev/zero | tr '\0' x
echo " | size=200000B"
exit 0
