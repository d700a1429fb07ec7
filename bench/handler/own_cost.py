#!/usr/bin/env python3
"""own_cost.py — what each handler's own code costs per command, from a perf profile of
handler_bench taken with call stacks (perf record --call-graph dwarf), for bench/handler/profile.sh.

A sample is a handler's own when, walking its stack from the leaf towards the thread's start, the
first frame of a known library is in that handler's .so: the handler's code, and whatever it
calls directly (libc's malloc and memcpy, the vDSO clock, the kernel), but not librbd's work nor
the harness's (the command's completion in the host). Known libraries: the handler .so files,
librbd, librados, libceph-common and handler_bench itself (the harness is linked into it; its
inlined frames are told by their names).

Per target (handler_bench's names: ours and ours-tiered are both handler_rbdtier.so, two LUNs of
one process), when the samples carry times (perf record -k monotonic, perf script -F ...,time,...)
and handler_bench's slice lines their measured windows ("round R.S TARGET ... at START-END s"):
a sample counts for the target whose measured slice it falls in (the slices run one at a time),
and is divided by that target's measured operations. So what a LUN does once it is open (a
tiering round of the tiered LUN that falls in the untiered one's slice) is charged to whichever
target runs then, as handler_bench's CPU time per operation is, and what falls outside every
measured slice (opening LUNs, warm-ups, making a policy before the slices begin) is left out and
shown apart. Without times, each handler's samples over the whole run are divided by the
operations of its targets' measured slices (the warm-ups are not counted as operations, so the
figures compare but read a little high). With times, each target's figure is also given per
operation (randread, randwrite): the samples in that operation's slices over their operations,
and the part of it in the I/O path (the callouts and completions: every phase but the tiering
rounds and the status publisher, which run beside the I/O), which tells what routing a tiered
command costs apart from what its LUN's rounds cost.

Each target's samples are also split by phase: the outermost frame of the handler's .so in the
stack (the callout that took the command, the librbd completion that answered it, a tiering round
on its worker, ...), which tells a tiered command's extra cost from an untiered one's.

    own_cost.py PERF_SCRIPT_OUTPUT BENCH_STDERR SAMPLE_HZ [TOP [OURS_FILE]]
PERF_SCRIPT_OUTPUT is `perf script -F comm,tid[,time],ip,sym,dso`. Prints per target its own
samples, microseconds per operation, its TOP (default 12) leaf functions and phases. OURS_FILE is
the file name of the handler_rbdtier.so that ran (default handler_rbdtier.so: a copy of another
build under another name is told by its name).
"""
import bisect
import collections
import re
import sys

HANDLERS = {"handler_rbdtier.so": "ours", "handler_rbd.so": "handler_rbd"}
# The targets (handler_bench's names) each handler serves.
TARGETS = {"ours": ("ours", "ours-tiered"), "handler_rbd": ("handler_rbd",)}
FRAME = re.compile(r"\s*([0-9a-f]+) (.*) \((.*)\)\s*$")
SAMPLE_TIME = re.compile(r"\s(\d+\.\d+):\s*$")
SLICE = re.compile(r"^round \d+\.\d+ (\S+) (\S+) qd\d+: .*\(ops (\d+),")
WINDOW = re.compile(r" at (\d+\.\d+)-(\d+\.\d+) s\s*$")
OUTSIDE = "(outside the measured slices)"
# Phases (outermost frames of our .so) that run beside the I/O, on threads of their own: the
# tiering rounds and the status publisher. The rest are the callouts and the completions.
BACKGROUND = ("RoundDriver::", "ServiceStatusPublisher::")


def read_samples(path):
    """Each sample as (time or None, frames), frames leaf first as [symbol, dso, ip]; an inlined
    frame gets the dso of the frame it was inlined into (the next one at its address)."""
    samples, frames, at = [], None, None
    with open(path, errors="replace") as f:
        for line in f:
            if not line.strip():
                if frames is not None:
                    samples.append((at, frames))
                frames = None
            elif not line[0].isspace():
                frames = []
                m = SAMPLE_TIME.search(line)
                at = float(m.group(1)) if m else None
            elif frames is not None:
                m = FRAME.match(line)
                if m:
                    frames.append([m.group(2), m.group(3), m.group(1)])
    if frames:
        samples.append((at, frames))
    for _, frames in samples:
        for i, (sym, dso, ip) in enumerate(frames):
            if dso == "inlined":
                for later in frames[i + 1:]:
                    if later[2] == ip and later[1] != "inlined":
                        frames[i][1] = later[1]
                        break
    return samples


def read_slices(path):
    """The measured slices: per target, and per (target, op), its operations; and the windows
    (start, end, target, op)."""
    ops = collections.Counter()
    op_ops = collections.Counter()
    windows = []
    with open(path, errors="replace") as f:
        for line in f:
            m = SLICE.match(line)
            if not m:
                continue
            ops[m.group(1)] += int(m.group(3))
            op_ops[(m.group(1), m.group(2))] += int(m.group(3))
            w = WINDOW.search(line)
            if w:
                windows.append((float(w.group(1)), float(w.group(2)), m.group(1), m.group(2)))
    return ops, op_ops, sorted(windows)


def owner(sym, dso):
    """Whose code a frame is: a handler's name, "other" for librbd/librados/harness, else None."""
    base = dso.rsplit("/", 1)[-1]
    if base in HANDLERS:
        return HANDLERS[base]
    if base.startswith(("librbd", "librados", "libceph-common")) or base == "handler_bench":
        return "other"
    if base == "inlined" and ("harness" in sym or sym.startswith("finish")):
        return "other"
    return None


def slice_at(at, windows, starts):
    """The (target, op) whose measured slice holds time `at`, else (None, None)."""
    i = bisect.bisect_right(starts, at) - 1
    if i >= 0 and windows[i][0] <= at <= windows[i][1]:
        return windows[i][2], windows[i][3]
    return None, None


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    samples = read_samples(sys.argv[1])
    ops, op_ops, windows = read_slices(sys.argv[2])
    period_us = 1e6 / float(sys.argv[3])
    top = int(sys.argv[4]) if len(sys.argv) > 4 else 12
    if len(sys.argv) > 5 and sys.argv[5] != "handler_rbdtier.so":
        HANDLERS[sys.argv[5]] = HANDLERS.pop("handler_rbdtier.so")
    windowed = bool(windows) and all(at is not None for at, _ in samples)
    starts = [w[0] for w in windows]
    own = collections.Counter()
    own_by_op = collections.Counter()  # (target, op) of the slice a sample falls in
    io_by_op = collections.Counter()  # the same, in the I/O path's phases only
    leaves = collections.defaultdict(collections.Counter)
    phases = collections.defaultdict(collections.Counter)
    for at, frames in samples:
        for sym, dso, _ in frames:
            who = owner(sym, dso)
            if who is None:
                continue
            if who != "other":
                key = who
                if windowed:
                    key, op = slice_at(at, windows, starts)
                leaf_sym, leaf_dso, _ = frames[0]
                mine = [f for f in frames if HANDLERS.get(f[1].rsplit("/", 1)[-1]) == who]
                phase = mine[-1][0] if mine else leaf_sym
                if windowed:
                    key, op = slice_at(at, windows, starts)
                    if key in TARGETS[who]:
                        own_by_op[(key, op)] += 1
                        if not any(b in phase for b in BACKGROUND):
                            io_by_op[(key, op)] += 1
                    else:
                        key = OUTSIDE if key is None else f"{who} in {key}'s slice"
                own[key] += 1
                leaves[key][f"{leaf_sym} ({leaf_dso.rsplit('/', 1)[-1]})"] += 1
                phases[key][phase] += 1
            break
    print(f"{len(samples)} samples at {sys.argv[3]} Hz"
          + (", counted in the measured slices of each target" if windowed else ""))
    keys = [t for ts in TARGETS.values() for t in ts] if windowed else list(TARGETS)
    for key in keys + [k for k in own if k not in keys]:
        n = ops[key] if windowed else sum(ops[t] for t in TARGETS.get(key, ()))
        if not n and not own[key]:
            continue
        per_op = own[key] * period_us / n if n else float("nan")
        print(f"{key}: {own[key]} own samples, {n} measured ops, {per_op:.3f} us/op own code")
        for (target, op), op_n in sorted(op_ops.items()):
            if target == key and op_n and windowed:
                count = own_by_op[(target, op)]
                io = io_by_op[(target, op)]
                print(f"  {op}: {count} own samples, {op_n} measured ops, "
                      f"{count * period_us / op_n:.3f} us/op own code, "
                      f"{io * period_us / op_n:.3f} us/op of it in the I/O path")
        for leaf, count in leaves[key].most_common(top):
            print(f"  {count:6d}  {leaf}")
        if own[key]:
            print(f"  by phase (the outermost frame of the .so):")
        for phase, count in phases[key].most_common(top):
            us = f"{count * period_us / n:7.3f} us/op" if n else ""
            print(f"  {count:6d}  {us}  {phase}")


if __name__ == "__main__":
    main()
