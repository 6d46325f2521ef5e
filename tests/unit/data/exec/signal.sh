#!/bin/sh
# Prints a line, then dies by SIGTERM (not an exit status).
echo "about to die"
kill -TERM $$
sleep 5
