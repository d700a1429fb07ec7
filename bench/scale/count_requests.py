#!/usr/bin/env python3
"""count_requests.py LOG N WINDOW_S: the messages a process's RADOS clients sent (a debug_ms 1
log of them all) in the last WINDOW_S seconds of the log, by kind, per LUN (N) and minute.

Kinds: an OSD op by its object, ids folded (rbd_header.*, rbdtier_map.*), and its ops, values
folded (watch ping cookie, call rbd.metadata_get); a monitor or OSD command by its prefix; any
other message by its type (ping: the messenger's keepalive of a session with watches).
Prints "per_lun_per_min count kind" lines, most frequent first, then the total."""
import collections
import datetime
import re
import sys

STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)")
OSD_OP = re.compile(r":::(\S+?):head \[(.*?)\] ")


def seconds(line):
    m = STAMP.match(line)
    return datetime.datetime.fromisoformat(m.group(1)).timestamp() if m else None


def fold_object(name):
    name = re.sub(r"\.[0-9a-f]{8,}$", ".*", name)  # rbd_header.<id>, rbdtier_map.<id>
    return re.sub(r"\.\d+\.[0-9a-f]{8,}(\.\w+)?$", ".*", name)  # tier images' objects


def fold_ops(ops):
    ops = re.sub(r"cookie \d+", "cookie", ops)
    ops = re.sub(r" in=\d+b", "", ops)
    ops = re.sub(r"\d+~\d+", "OFF~LEN", ops)
    return re.sub(r"(gen|ver) \d+", r"\1", ops)


def kind(message):
    if message.startswith("osd_op("):
        m = OSD_OP.search(message)
        if not m:
            return "osd_op ?"
        return "osd_op %s [%s]" % (fold_object(m.group(1)), fold_ops(m.group(2)))
    name = re.match(r"[A-Za-z_]+", message)
    name = name.group(0) if name else message[:30]
    if name in ("mon_command", "command"):
        prefix = re.search(r'"prefix": ?"([^"]*)"', message)
        name += " " + (prefix.group(1) if prefix else "?")
    return name


def main():
    log, luns, window = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    with open(log, errors="replace") as f:
        lines = f.read().splitlines()
    last = next((t for t in map(seconds, reversed(lines)) if t is not None), None)
    if last is None:
        sys.exit("count_requests.py: no time-stamped line in " + log)
    counts = collections.Counter()
    for line in lines:
        # "<stamp> <thread> 1 -- <from> --> <to> -- <message> -- <pointer> con <pointer>"
        if " --> " not in line:
            continue
        t = seconds(line)
        if t is None or t < last - window:
            continue
        sent = line.split(" --> ", 1)[1].split(" -- ", 1)
        if len(sent) == 2:
            counts[kind(sent[1])] += 1
    scale = 60.0 / window / luns
    for k, c in counts.most_common():
        print("%9.2f %7d  %s" % (c * scale, c, k))
    total = sum(counts.values())
    print("%9.2f %7d  total" % (total * scale, total))


if __name__ == "__main__":
    main()
