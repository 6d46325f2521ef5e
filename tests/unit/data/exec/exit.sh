#!/bin/sh
# exit.sh TEXT CODE: prints a plugin line with perfdata and exits CODE.
echo "$1 | 'time'=${2}s;1;2;0 count=7"
echo "second line, not the message"
exit "$2"
