#!/usr/bin/env bash
# The layering rule of the source tree, checked from the #include lines:
#
#   agent/lib <- agent/cfg <- probes <- agent/svc <- agent/route <- agent/daemon
#                                                               \<- agent/ctl
#
# A file may include headers of its own folder and of the folders before it;
# daemon (the daemon) and ctl (the command-line tool) are peers that share
# everything below them and never include each other. So there is no include
# cycle between folders. A header NAME_int.h (e.g. agent/cfg/cfg_int.h) is
# private to its folder; the others use the public NAME.h. Also checked:
# every source file is in one of these folders, and no function is over
# MAX_FN lines and no file over MAX_FILE lines unless its first comment
# block says why ("Length:").
# Prints "layers: N files, N includes, N violations" and fails on any.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
MAX_FN=${MAX_FN:-80} MAX_FILE=${MAX_FILE:-800}
declare -A rank=([agent/lib]=0 [agent/cfg]=1 [probes]=2 [agent/svc]=3
	[agent/route]=4 [agent/daemon]=5 [agent/ctl]=5)
declare -A home
bad=0 nfiles=0 nincl=0
for d in "${!rank[@]}"; do
	for h in "$d"/*.h; do
		[[ -e $h ]] || continue
		b=$(basename "$h")
		# Includes name headers without their folder: a name must be unique.
		if [[ -n ${home[$b]:-} ]]; then
			echo "layers: $h and ${home[$b]}/$b: one header name in two folders"
			bad=$((bad + 1))
		fi
		home[$b]=$d
	done
done
while IFS= read -r f; do
	d=$(dirname "$f")
	if [[ -z ${rank[$d]+x} ]]; then
		echo "layers: $f is in no layer folder"; bad=$((bad + 1)); continue
	fi
	nfiles=$((nfiles + 1))
	while IFS= read -r inc; do
		nincl=$((nincl + 1))
		hd=${home[$inc]:-}
		if [[ -z $hd ]]; then
			echo "layers: $f includes \"$inc\", which is in no layer folder"
			bad=$((bad + 1))
		elif [[ $hd != "$d" ]] && (( rank[$hd] >= rank[$d] )); then
			echo "layers: $f ($d) includes $hd/$inc: $hd is not below $d"
			bad=$((bad + 1))
		elif [[ $hd != "$d" && $inc == *_int.h ]]; then
			echo "layers: $f ($d) includes $hd/$inc: a *_int.h header is private to its folder"
			bad=$((bad + 1))
		fi
	done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
done < <(find agent probes -name '*.[ch]' | sort)

# Lengths. A function body runs from a line "{" at column 0 to "}" at column 0.
while IFS= read -r f; do
	just=$(awk 'NR <= 40' "$f" | grep -c 'Length:')
	lines=$(wc -l <"$f")
	if (( lines > MAX_FILE && just == 0 )); then
		echo "layers: $f has $lines lines (limit $MAX_FILE) and no 'Length:' reason at its top"
		bad=$((bad + 1))
	fi
	while IFS= read -r long; do
		echo "layers: $f: $long"; bad=$((bad + 1))
	done < <(awk -v max="$MAX_FN" '
		/^[a-z_][a-z0-9_]*\(/ { name = $0; sub(/\(.*/, "", name) }
		/^\{/ { start = NR; next }
		/^\}/ && start { n = NR - start - 1; if (n > max) printf "function %s has %d lines (limit %d)\n", name, n, max; start = 0 }
	' "$f")
done < <(find agent probes -name '*.c' | sort)
echo "layers: $nfiles files, $nincl includes, $bad violations"
(( bad == 0 ))
