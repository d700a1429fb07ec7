#!/usr/bin/env python3
"""own_cost.py — what each handler's own code costs per command, from a perf profile of
handler_bench taken with call stacks (perf record --call-graph dwarf), for bench/handler/profile.sh.

A sample is a handler's own when, walking its stack from the leaf towards the thread's start, the
first frame of a known library is in that handler's .so: the handler's code, and whatever it
calls directly (libc's malloc and memcpy, the vDSO clock, the kernel), but not librbd's work nor
the harness's (the command's completion in the host). Known libraries: the handler .so files,
librbd, librados, libceph-common and handler_bench itself (the harness is linked into it; its
inlined frames are told by their names). Each handler's samples are divided by the operations its
measured slices made (handler_bench's "round R.S" lines): the warm-ups are not counted as
operations, alike for every target, so the figures compare but read a little high.

handler_rbdtier.so serves two targets, ours (untiered) and ours-tiered, in one process. Its samples
are also split by phase: the outermost frame of the .so in the sample's stack (the callout that
took the command, the librbd completion that answered it, a tiering round on its worker, ...).
A phase that only one target has (PHASE_TARGET: the completions of a plain LUN and of the
ExtentRouter, the tiering rounds) is divided by that target's operations, so a tiered command's
extra cost reads per phase; the others by the operations of both.

    own_cost.py PERF_SCRIPT_OUTPUT BENCH_STDERR SAMPLE_HZ [TOP]
PERF_SCRIPT_OUTPUT is `perf script -F comm,tid,ip,sym,dso`. Prints per handler its own samples,
microseconds per operation, and its TOP (default 12) leaf functions; for ours, its phases.
"""
import collections
import re
import sys

HANDLERS = {"handler_rbdtier.so": "ours", "handler_rbd.so": "handler_rbd"}
# The targets (handler_bench's names) each handler serves.
TARGETS = {"ours": ("ours", "ours-tiered"), "handler_rbd": ("handler_rbd",)}
# Phases (the outermost frame of handler_rbdtier.so, by prefix) that one target alone has.
PHASE_TARGET = (
    ("rbdtier::Lun::on_complete", "ours"),
    ("rbdtier::ExtentRouter::", "ours-tiered"),
    ("rbdtier::RoundDriver::", "ours-tiered"),
)
FRAME = re.compile(r"\s*([0-9a-f]+) (.*) \((.*)\)\s*$")
SLICE = re.compile(r"^round \d+\.\d+ (\S+) \S+ qd\d+: .*\(ops (\d+),")


def read_samples(path):
    """Each sample's frames, leaf first, as [symbol, dso]; an inlined frame gets the dso of the
    frame it was inlined into (the next one at its address)."""
    samples, frames = [], None
    with open(path, errors="replace") as f:
        for line in f:
            if not line.strip():
                if frames is not None:
                    samples.append(frames)
                frames = None
            elif not line[0].isspace():
                frames = []
            elif frames is not None:
                m = FRAME.match(line)
                if m:
                    frames.append([m.group(2), m.group(3), m.group(1)])
    if frames:
        samples.append(frames)
    for frames in samples:
        for i, (sym, dso, ip) in enumerate(frames):
            if dso == "inlined":
                for later in frames[i + 1:]:
                    if later[2] == ip and later[1] != "inlined":
                        frames[i][1] = later[1]
                        break
    return samples


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


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    samples = read_samples(sys.argv[1])
    ops = collections.Counter()
    with open(sys.argv[2], errors="replace") as f:
        for line in f:
            m = SLICE.match(line)
            if m:
                ops[m.group(1)] += int(m.group(2))
    period_us = 1e6 / float(sys.argv[3])
    top = int(sys.argv[4]) if len(sys.argv) > 4 else 12
    own = collections.Counter()
    leaves = collections.defaultdict(collections.Counter)
    phases = collections.defaultdict(collections.Counter)
    for frames in samples:
        for sym, dso, _ in frames:
            who = owner(sym, dso)
            if who is None:
                continue
            if who != "other":
                own[who] += 1
                leaf_sym, leaf_dso, _ = frames[0]
                leaves[who][f"{leaf_sym} ({leaf_dso.rsplit('/', 1)[-1]})"] += 1
                mine = [f for f in frames if HANDLERS.get(f[1].rsplit("/", 1)[-1]) == who]
                phases[who][mine[-1][0] if mine else leaf_sym] += 1
            break
    print(f"{len(samples)} samples at {sys.argv[3]} Hz")
    for who in HANDLERS.values():
        n = sum(ops[t] for t in TARGETS[who])
        per_op = own[who] * period_us / n if n else float("nan")
        served = ", ".join(f"{t} {ops[t]}" for t in TARGETS[who] if ops[t])
        print(f"{who}: {own[who]} own samples, {n} measured ops ({served or 'none'}), "
              f"{per_op:.3f} us/op own code")
        for leaf, count in leaves[who].most_common(top):
            print(f"  {count:6d}  {leaf}")
        if who != "ours" or not own[who]:
            continue
        print(f"{who} by phase (outermost frame of the .so; us per op of the target(s) it serves):")
        for phase, count in phases[who].most_common(top):
            target = next((t for prefix, t in PHASE_TARGET if phase.startswith(prefix)), None)
            m = ops[target] if target else n
            us = count * period_us / m if m else float("nan")
            print(f"  {count:6d}  {us:7.3f} us/op  {phase}  [{target or 'both'}]")


if __name__ == "__main__":
    main()
