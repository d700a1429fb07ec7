#!/usr/bin/env python3
"""tests/e2e/gwcli_check.py: checks that ceph-iscsi shows a LUN the way an admin sees it.

Contract:
  gwcli_check.py LS_FILE DISK_JSON --disk POOL/IMAGE --size BYTES --target IQN --gateway NAME
                 --ip IP --client IQN
    LS_FILE: the output of `gwcli ls` (colours, if any, are ignored); DISK_JSON: rbd-target-api's
    GET /api/disk/POOL/IMAGE reply (the disk as ceph-iscsi records it, with the status its
    device status watcher derives from the cluster's service map). Requires, in gwcli's tree:
      /cluster/<name>/pools/POOL      "Commit: <size>/<max>": max (`ceph df`'s max_avail, which
                                      the mgr reports) not 0
      /disks/POOL/IMAGE               "POOL/IMAGE (Online, <size>)", size BYTES in gwcli's units
      /iscsi-targets/IQN              the target, with
        disks/POOL/IMAGE              "Owner: NAME, Lun: <n>"
        gateways/NAME                 "IP (UP)"
        hosts/CLIENT                  the client (ceph-iscsi 3.5 calls the group "hosts", older
                                      ones "clients"), with lun <n>: "POOL/IMAGE(<size>), Owner: NAME"
    and in DISK_JSON: backstore user:rbd, status.state Online, status.lock_owner NAME.
    Prints one line summing up what it found and exits 0; otherwise prints the first thing
    missing or wrong (naming the tree node or JSON field) and exits 1. Bad arguments or
    unreadable files: exit 2 with the reason.
"""
import argparse
import json
import re
import sys

ANSI = re.compile(r"\x1b\[[0-9;]*m")
# gwcli (configshell) renders a node as: margin ("| " or "  " per level), "o- ", the name, a
# space, dots padding to the console width, " [", the node's summary, "]".
NODE = re.compile(r"^(?P<margin>(?:[| ] )*)o- (?P<name>.+?) \.* ?\[(?P<desc>.*)\]$")


def human_size(num):
    """Sizes as ceph-iscsi prints them (ceph_iscsi_config.utils.human_size)."""
    for unit, precision in [("b", 0), ("K", 0), ("M", 0), ("G", 0), ("T", 1), ("P", 1),
                            ("E", 2), ("Z", 2)]:
        if num % 1024 != 0:
            return "{0:.{1}f}{2}".format(num, precision, unit)
        num /= 1024.0
    return "{0:.2f}{1}".format(num, "Y")


def parse_tree(text):
    """{path: summary} for every node of a `gwcli ls` rendering."""
    nodes, stack = {}, []
    for raw in text.splitlines():
        line = ANSI.sub("", raw).rstrip()
        m = NODE.match(line)
        if not m:
            continue
        depth = len(m["margin"]) // 2
        del stack[depth:]
        stack.append(m["name"])
        path = "/".join(stack)
        path = "/" + path.lstrip("/")
        nodes[path.replace("//", "/")] = m["desc"]
    return nodes


class Missing(Exception):
    pass


def node(nodes, path, pattern=None):
    """The summary of node `path` (matched against regex `pattern` when given)."""
    desc = nodes.get(path)
    if desc is None:
        raise Missing(f"{path} not in gwcli ls")
    if pattern is not None:
        m = re.fullmatch(pattern, desc)
        if not m:
            raise Missing(f"{path} shows [{desc}], not /{pattern}/")
        return m
    return desc


def check(nodes, disk_json, a):
    pool, image = a.disk.split("/", 1)
    size = human_size(a.size)
    d = re.escape(a.disk)
    found = []

    pools = [p for p in nodes if re.fullmatch(r"/cluster/[^/]+/pools/" + re.escape(pool), p)]
    if not pools:
        raise Missing(f"pool {pool} not under /cluster/*/pools in gwcli ls")
    m = node(nodes, pools[0], r"\(.*\), Commit: (?P<commit>\S+)/(?P<max>\S+) \(\d+%\), Used: \S+")
    if m["max"] in ("0", "0b"):
        raise Missing(f"{pools[0]} shows no capacity (no `ceph df` figures): [{nodes[pools[0]]}]")
    found.append(f"pool {pool} Commit {m['commit']}/{m['max']}")

    m = node(nodes, f"/disks/{pool}/{image}", d + r" \((?P<state>[^,]+), (?P<size>\S+)\)")
    if m["state"] != "Online" or m["size"] != size:
        raise Missing(f"/disks/{a.disk} shows state {m['state']}, size {m['size']}; "
                      f"want Online, {size}")
    found.append(f"disk {a.disk} ({m['state']}, {m['size']})")

    t = f"/iscsi-targets/{a.target}"
    node(nodes, t)
    m = node(nodes, f"{t}/disks/{a.disk}", r"Owner: (?P<owner>\S+), Lun: (?P<lun>\d+)")
    if m["owner"] != a.gateway:
        raise Missing(f"{t}/disks/{a.disk} is owned by {m['owner']}, not {a.gateway}")
    lun = m["lun"]
    m = node(nodes, f"{t}/gateways/{a.gateway}", r"(?P<ips>\S+) \((?P<state>[^)]+)\)")
    if a.ip not in m["ips"].split(",") or m["state"] != "UP":
        raise Missing(f"{t}/gateways/{a.gateway} shows [{nodes[t + '/gateways/' + a.gateway]}]; "
                      f"want {a.ip} (UP)")
    group = "hosts" if f"{t}/hosts" in nodes else "clients"
    client = node(nodes, f"{t}/{group}/{a.client}")
    node(nodes, f"{t}/{group}/{a.client}/lun {lun}", d + re.escape(f"({size}), Owner: {a.gateway}"))
    found.append(f"target {a.target}: lun {lun} owner {a.gateway}, gateway {a.gateway} "
                 f"{a.ip} (UP), client {a.client} [{client}]")

    if disk_json.get("backstore") != "user:rbd":
        raise Missing(f"the API's disk has backstore {disk_json.get('backstore')!r}, not user:rbd")
    status = disk_json.get("status") or {}
    if status.get("state") != "Online" or status.get("lock_owner") != a.gateway:
        raise Missing(f"the API's disk status is {json.dumps(status)}; want state Online, "
                      f"lock_owner {a.gateway}")
    found.append(f"API: backstore user:rbd, state Online, lock_owner {a.gateway}")
    return "; ".join(found)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("ls_file")
    p.add_argument("disk_json")
    for opt in ("--disk", "--target", "--gateway", "--ip", "--client"):
        p.add_argument(opt, required=True)
    p.add_argument("--size", required=True, type=int)
    a = p.parse_args()
    if "/" not in a.disk:
        p.error("--disk must be POOL/IMAGE")
    try:
        with open(a.ls_file, encoding="utf-8", errors="replace") as f:
            nodes = parse_tree(f.read())
        with open(a.disk_json, encoding="utf-8") as f:
            disk_json = json.load(f)
    except (OSError, ValueError) as e:
        print(f"gwcli_check: {e}", file=sys.stderr)
        return 2
    if not nodes:
        print(f"gwcli_check: no gwcli tree in {a.ls_file}")
        return 1
    try:
        print(check(nodes, disk_json, a))
    except Missing as e:
        print(e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
