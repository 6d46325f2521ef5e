#!/bin/sh
# privs.sh: the plugin's own privileges, on one line (the capability sets in hex).
caps=$(awk '/^(CapEff|CapPrm|CapInh|CapAmb|CapBnd|NoNewPrivs):/ { printf "%s%s ", $1, $2 }' /proc/self/status)
echo "${caps}uid=$(id -u) gid=$(id -g) groups=$(id -G)"
