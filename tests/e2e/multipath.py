#!/usr/bin/env python3
# tests/e2e/multipath.py: the guest's two "gateways" of one LUN and the I/O that proves dm-multipath
# fails over between them. Contract:
#   multipath.py setup SUBTYPE CFGSTRING SIZE WWN IQN INITIATOR IP1 IP2
#       two user:SUBTYPE backstores gw1 and gw2 of the same cfgstring (one RBD image) and the same
#       WWN, each with ALUA groups ao (id 1, active/optimized) and ano2 (id 2, active/non-optimized),
#       implicit ALUA, implicit_trans_secs 45; target IQN with tpg1 (LUN 0 = gw1 in group ao, portal
#       IP1:3260) and tpg2 (LUN 0 = gw2 in group ano2, portal IP2:3260), an ACL for INITIATOR in each.
#       These are the configfs objects the README's targetcli lines make, made here with rtslib (the
#       library targetcli calls) in one process: each targetcli call costs seconds under emulation.
#       Then checks and prints them as `alua` does.
#   multipath.py tpg IQN TAG enable|disable    a gateway dies (its TPG disabled: sessions dropped,
#                                              logins refused) or comes back
#   multipath.py alua                          prints and checks the backstores' ALUA groups as the
#                                              kernel target holds them in configfs
#   multipath.py write DEV OFFSET BYTES SEED ROUND COUNT SHADOW
#       COUNT random writes (4 KiB to 64 KiB, O_DIRECT) inside [OFFSET, OFFSET+BYTES) of DEV, each
#       also applied to SHADOW (a file of BYTES, created zero-filled by the first round); the RNG is
#       seeded with SEED and ROUND; then `verify`
#   multipath.py verify DEV OFFSET BYTES SHADOW    reads the region with O_DIRECT, compares it to SHADOW
#   multipath.py vpd SD1 SD2                   checks that the paths show one logical unit: VPD 0x80
#                                              and page 0x83's logical unit designators identical, one
#                                              path in port group 1 and the other in 2
#   multipath.py dev-of IP SD...               prints the path whose iSCSI connection goes to IP
# Exits non-zero with a message when a step or a check fails.
import glob
import mmap
import os
import random
import re
import sys

# rtslib is imported only by the commands that use it (setup, tpg, alua): its import costs about a
# second under emulation, and the I/O commands run once per round.

GROUPS = (("ao", 1, 0), ("ano2", 2, 1))  # name, id (= TPG tag), alua_access_state
IMPLICIT_TRANS_SECS = 45
BLOCK = 4096


def setup(subtype, cfgstring, size, wwn, iqn, initiator, ip1, ip2):
    from rtslib_fb import LUN, TPG, FabricModule, MappedLUN, NetworkPortal, NodeACL, Target, tcm
    from rtslib_fb.alua import ALUATargetPortGroup

    backstores = []
    for name in ("gw1", "gw2"):
        so = tcm.UserBackedStorageObject(name, config=f"{subtype}/{cfgstring}", size=int(size), wwn=wwn)
        for group, tag, state in GROUPS:
            g = ALUATargetPortGroup(so, group, tag)
            g.alua_access_type = 1  # implicit
            g.alua_access_state = state
            g.alua_support_active_optimized = 1
            g.alua_support_active_nonoptimized = 1
            g.alua_support_transitioning = 1
            g.alua_support_offline = 0
            g.alua_support_unavailable = 0
            g.implicit_trans_secs = IMPLICIT_TRANS_SECS
            g.nonop_delay_msecs = 0
        backstores.append(so)
    target = Target(FabricModule("iscsi"), iqn, mode="create")
    for tag, (so, ip) in enumerate(zip(backstores, (ip1, ip2)), start=1):
        tpg = TPG(target, tag, mode="create")
        tpg.set_attribute("authentication", "0")
        tpg.set_attribute("generate_node_acls", "0")
        lun = LUN(tpg, 0, so)
        lun.alua_tg_pt_gp_name = GROUPS[tag - 1][0]
        MappedLUN(NodeACL(tpg, initiator, mode="create"), 0, lun, write_protect=False)
        NetworkPortal(tpg, ip, 3260, mode="create")
        tpg.enable = True
    alua()


def set_tpg(iqn, tag, state):
    from rtslib_fb import TPG, FabricModule, Target

    tpg = TPG(Target(FabricModule("iscsi"), iqn, mode="lookup"), int(tag), mode="lookup")
    tpg.enable = state == "enable"


def alua():
    from rtslib_fb import RTSRoot

    problems = []
    root = RTSRoot()
    wwns = set()
    for so in sorted((s for s in root.storage_objects if s.name in ("gw1", "gw2")), key=lambda s: s.name):
        wwns.add(so.wwn)
        groups = {g.name: g for g in so.alua_tpgs}
        for name, tag, state in GROUPS:
            g = groups.get(name)
            if g is None:
                problems.append(f"{so.name}: no ALUA group {name}")
                continue
            text = open(f"{g.path}/members").read().replace("\0", "")  # NUL-padded by the kernel
            members = " ".join(m.strip() for m in text.splitlines() if m.strip())
            print(f"{so.name}/alua/{name}: tg_pt_gp_id {g.tg_pt_gp_id} alua_access_type {g.alua_access_type}"
                  f" alua_access_state {g.alua_access_state} implicit_trans_secs {g.implicit_trans_secs}"
                  f" members [{members}]")
            if g.tg_pt_gp_id != tag or g.alua_access_type != 1 or g.implicit_trans_secs != IMPLICIT_TRANS_SECS:
                problems.append(f"{so.name}/alua/{name}: id {g.tg_pt_gp_id} type {g.alua_access_type}"
                                f" implicit_trans_secs {g.implicit_trans_secs}")
            # Each backstore's LUN is in its own gateway's group: gw1's in ao (tpgt 1), gw2's in ano2.
            own = (so.name == "gw1") == (name == "ao")
            if own != (f"tpgt_{tag}/lun_0" in members):
                problems.append(f"{so.name}/alua/{name}: members [{members}]")
    if len(wwns) != 1:
        problems.append(f"backstores' WWNs differ or are missing: {sorted(wwns)}")
    if problems:
        sys.exit("; ".join(problems))


def designators(page):
    """(association, type, bytes) of each designator of a VPD page 0x83."""
    out, at = [], 4
    while at + 4 <= len(page):
        length = page[at + 3]
        out.append(((page[at + 1] >> 4) & 3, page[at + 1] & 15, page[at:at + 4 + length]))
        at += 4 + length
    return out


def vpd(*devs):
    seen = {}
    for dev in devs:
        base = f"/sys/block/{dev}/device"
        pg80 = open(f"{base}/vpd_pg80", "rb").read()
        pg83 = designators(open(f"{base}/vpd_pg83", "rb").read())
        unit = tuple(d for a, _, d in pg83 if a == 0)  # designators of the logical unit
        groups = [int.from_bytes(d[6:8], "big") for a, t, d in pg83 if a == 1 and t == 5]
        seen[dev] = (pg80, unit, groups, open(f"{base}/wwid").read().strip())
    first = seen[devs[0]]
    problems = [f"{dev}'s VPD 0x80 or 0x83 logical unit designators differ from {devs[0]}'s"
                for dev in devs[1:] if seen[dev][:2] != first[:2]]
    if sorted(g for s in seen.values() for g in s[2]) != [1, 2]:
        problems.append("target port groups per path: " + str({d: s[2] for d, s in seen.items()}))
    print(f"unit serial (0x80) {first[0][4:].rstrip(bytes(1)).decode()!r} on {' '.join(devs)};"
          f" {len(first[1])} logical unit designators of 0x83 identical (wwid {first[3]});"
          f" port group per path: {', '.join(f'{d} {s[2]}' for d, s in seen.items())}")
    if problems:
        sys.exit("; ".join(problems))


def dev_of(ip, *devs):
    """The path among devs whose iSCSI connection goes to ip."""
    for dev in devs:
        session = next((p for p in os.path.realpath(f"/sys/block/{dev}/device").split("/")
                        if re.fullmatch(r"session\d+", p)), None)
        if session is None:
            continue
        for conn in glob.glob(f"/sys/class/iscsi_connection/connection{session[7:]}:*"):
            if open(f"{conn}/persistent_address").read().strip() == ip:
                print(dev)
                return
    sys.exit(f"no path of {' '.join(devs)} connects to {ip}")


def aligned(nbytes):
    return mmap.mmap(-1, nbytes)  # page-aligned, as O_DIRECT needs


def write(dev, offset, nbytes, seed, rnd, count, shadow_path):
    offset, nbytes, count = int(offset), int(nbytes), int(count)
    rng = random.Random(f"{seed}/{rnd}")
    if not os.path.exists(shadow_path):
        with open(shadow_path, "wb") as f:
            f.truncate(nbytes)
    fd = os.open(dev, os.O_WRONLY | os.O_DIRECT)
    with open(shadow_path, "r+b") as shadow:
        for _ in range(count):
            length = rng.randrange(1, 17) * BLOCK
            at = rng.randrange(0, (nbytes - length) // BLOCK + 1) * BLOCK
            data = rng.randbytes(length)
            buf = aligned(length)
            buf.write(data)
            if os.pwritev(fd, [buf], offset + at) != length:
                sys.exit(f"short write at {offset + at}")
            shadow.seek(at)
            shadow.write(data)
    os.fsync(fd)
    os.close(fd)
    verify(dev, offset, nbytes, shadow_path)


def verify(dev, offset, nbytes, shadow_path):
    offset, nbytes = int(offset), int(nbytes)
    want = open(shadow_path, "rb").read()
    fd = os.open(dev, os.O_RDONLY | os.O_DIRECT)
    buf = aligned(nbytes)
    got = 0
    while got < nbytes:
        n = os.preadv(fd, [memoryview(buf)[got:]], offset + got)
        if n <= 0:
            sys.exit(f"short read at {offset + got}")
        got += n
    os.close(fd)
    if buf[:] != want:
        first = next(i for i in range(nbytes) if buf[i] != want[i])
        sys.exit(f"mismatch at device offset {offset + first}: got {buf[first]:#04x}, want {want[first]:#04x}")


def main():
    cmds = {"setup": (setup, 8), "tpg": (set_tpg, 3), "alua": (alua, 0), "write": (write, 7),
            "verify": (verify, 4), "vpd": (vpd, -2), "dev-of": (dev_of, -2)}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.exit("usage: multipath.py setup|tpg|alua|write|verify|vpd|dev-of ... (see the header)")
    n = cmds[sys.argv[1]][1]
    if (n >= 0 and len(sys.argv) - 2 != n) or (n < 0 and len(sys.argv) - 2 < -n):
        sys.exit("usage: multipath.py setup|tpg|alua|write|verify ... (see the header)")
    cmds[sys.argv[1]][0](*sys.argv[2:])


if __name__ == "__main__":
    main()
