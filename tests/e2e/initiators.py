#!/usr/bin/env python3
# tests/e2e/initiators.py: asks the handler's admin socket (Ceph's admin-socket protocol: a JSON
# request ended by NUL, a 4-byte big-endian length and the reply) how a LUN's commands are
# attributed to initiators (`lun show`'s "initiators"), for the guest half of the e2e test.
# Contract:
#   initiators.py wait ASOK LUN IQN SECONDS
#       polls until the handler attributes the LUN's commands to IQN alone (attribution "exact",
#       IQN's share 1) or SECONDS pass; prints the attribution; exit 1 on timeout.
#   initiators.py check ASOK LUN IQN_A EXTENTS_A IQN_B EXTENTS_B
#       EXTENTS_*: "first-last" extent ranges joined by ','. Checks that each initiator's extents
#       (as the handler attributed its commands) include its own ranges and none of the other's;
#       prints one summary line; exit 1 with the reason when not.
#   initiators.py luns ASOK
#       prints the name of each LUN the handler serves (`lun list`), one a line.
#   initiators.py away ASOK LUN
#       prints where the LUN's extents are (`lun show`: "away N; POOL=EXTENTS ..."); exit 0 when
#       at least one extent is away from home, 1 when none is.
# Exits 2 on a usage error or when the socket cannot be asked.
import json
import socket
import struct
import sys
import time


def ask(asok, request):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(asok)
        s.sendall(json.dumps(request).encode() + b"\0")
        head = b""
        while len(head) < 4:
            chunk = s.recv(4 - len(head))
            if not chunk:
                raise OSError("connection closed before the reply's length")
            head += chunk
        (length,) = struct.unpack(">I", head)
        body = b""
        while len(body) < length:
            chunk = s.recv(length - len(body))
            if not chunk:
                raise OSError("connection closed inside the reply")
            body += chunk
    text = body.decode()
    if text.startswith("ERROR:"):
        raise OSError(text.strip())
    return json.loads(text)


def initiators(asok, lun):
    return ask(asok, {"prefix": "lun show", "lun": lun, "format": "json"})["initiators"]


def extents(spec):
    out = set()
    for part in spec.split(","):
        first, _, last = part.partition("-")
        out.update(range(int(first), int(last or first) + 1))
    return out


def summary(init):
    parts = [f"attribution {init.get('attribution')} ({init.get('source')})"]
    for a in init.get("activity", []):
        runs = ",".join(f"{f}-{l}" if f != l else str(f) for f, l in a["extents"])
        parts.append(f"{a['initiator_name']}: {a['commands']} commands, extents {runs or 'none'}")
    return "; ".join(parts)


def wait(asok, lun, iqn, seconds):
    deadline = time.monotonic() + float(seconds)
    init = {}
    while True:
        init = initiators(asok, lun)
        shares = {c["name"]: c["share"] for c in init.get("configfs", [])}
        if init.get("attribution") == "exact" and shares.get(iqn) == 1:
            print(summary(init))
            return 0
        if time.monotonic() > deadline:
            print(f"commands not attributed to {iqn} alone within {seconds}s: {json.dumps(init)}")
            return 1
        time.sleep(0.2)


def check(asok, lun, iqn_a, spec_a, iqn_b, spec_b):
    init = initiators(asok, lun)
    seen = {a["initiator_name"]: set() for a in init.get("activity", [])}
    for a in init.get("activity", []):
        for first, last in a["extents"]:
            seen[a["initiator_name"]].update(range(first, last + 1))
    want = {iqn_a: extents(spec_a), iqn_b: extents(spec_b)}
    for iqn, other in ((iqn_a, iqn_b), (iqn_b, iqn_a)):
        got = seen.get(iqn, set())
        missing = want[iqn] - got
        if missing:
            print(f"{iqn}: extents {sorted(missing)} not attributed to it; {summary(init)}")
            return 1
        stray = want[other] & got
        if stray:
            print(f"{iqn}: {other}'s extents {sorted(stray)} attributed to it; {summary(init)}")
            return 1
    print(summary(init))
    return 0


def luns(asok):
    for lun in ask(asok, {"prefix": "lun list", "format": "json"})["luns"]:
        print(lun["name"])
    return 0


def away(asok, lun):
    show = ask(asok, {"prefix": "lun show", "lun": lun, "format": "json"})
    tiers = " ".join(f"{t['pool']}{' (home)' if t.get('home') else ''}={t['extents']}"
                     for t in show.get("tiers", []))
    print(f"away {show.get('extents_away', 0)}; {tiers}")
    return 0 if show.get("extents_away", 0) > 0 else 1


def main():
    try:
        if len(sys.argv) == 4 and sys.argv[1] == "away":
            return away(sys.argv[2], sys.argv[3])
        if len(sys.argv) == 3 and sys.argv[1] == "luns":
            return luns(sys.argv[2])
        if len(sys.argv) == 6 and sys.argv[1] == "wait":
            return wait(*sys.argv[2:])
        if len(sys.argv) == 8 and sys.argv[1] == "check":
            return check(*sys.argv[2:])
    except (OSError, ValueError, KeyError) as e:
        print(f"cannot ask the admin socket: {e}")
        return 2
    print(__doc__ or "usage: initiators.py wait|check|luns|away ...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
