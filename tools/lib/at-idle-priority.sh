#!/bin/bash
# at-idle-priority.sh COMMAND [ARG...]: runs COMMAND so that it takes only the CPU that nothing
# else wants. Start it with setsid, so that it has a session of its own (also its own process
# group: the caller stops it as a whole with kill -- -PID). Here that session's scheduler group
# (its autogroup, on kernels that have them) is set to nice 19: with autogroups, per-process nice
# only orders the processes of one session, and every other session (each Ceph daemon is one)
# would get as much CPU as this whole session. COMMAND itself runs at nice 19 too, for kernels
# without autogroups. The caller may give the session its ordinary priority back with
# `echo 0 >/proc/PID/autogroup; renice -n 0 -g PID`.
set -euo pipefail
echo 19 2>/dev/null >"/proc/$$/autogroup" || true
exec nice -n 19 "$@"
