#!/bin/sh
# flood.sh MSGLEN NITEMS: a message of MSGLEN bytes and NITEMS perfdata
# items on the first line, then exit 2 (the message goes to the summary).
head -c "$1" /dev/zero | tr '\0' m
printf ' |'
i=0
while [ "$i" -lt "$2" ]; do
	printf " 'item_%04d'=%d.5B" "$i" "$i"
	i=$((i + 1))
done
printf '\n'
exit 2
