#!/usr/bin/env python3
"""check_manpage.py RBDTIER MANPAGE: the man page documents what `rbdtier --help` says.

Walks the CLI's subcommands (from each --help's "Subcommands:" list) and checks that the man page
names every subcommand path (e.g. "tenant create") and every long option each one accepts, and
names no subcommand the CLI does not have. Prints one line per problem and "N passed, N failed".
"""
import re
import subprocess
import sys


def help_of(cli, path):
    out = subprocess.run([cli, *path, "--help"], capture_output=True, text=True, check=True).stdout
    subs, opts, section = [], set(), None
    for line in out.splitlines():
        if re.match(r"^[A-Z][a-z]+:$", line):
            section = line[:-1]
            continue
        m = re.match(r"^  (\S+)", line)
        if section == "Subcommands" and m:
            subs.append(m.group(1))
        opts.update(o for o in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", line) if section == "Options")
    opts.discard("--help")
    return subs, opts


def main():
    cli, manpage = sys.argv[1], sys.argv[2]
    # Man source to plain words: "\-" is "-", font escapes go.
    text = open(manpage, encoding="utf-8").read().replace("\\-", "-")
    text = re.sub(r"\\f[BIRP]", "", text)
    text = re.sub(r"^\.[A-Z]+ ?", "", text, flags=re.M)
    flat = " ".join(text.split())
    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            print(f"check_manpage: {what}")

    top, _ = help_of(cli, [])
    stack = [[s] for s in top]
    while stack:
        path = stack.pop()
        subs, opts = help_of(cli, path)
        name = " ".join(path)
        check(re.search(r"(?<![\w-])" + re.escape(name) + r"(?![\w-])", flat) is not None,
              f"subcommand '{name}' is not in the man page")
        for o in sorted(opts):
            check(o in flat, f"option {o} of '{name}' is not in the man page")
        stack.extend(path + [s] for s in subs)
    # Gateway/cluster subcommand headings in the page that the CLI does not have.
    known = set(top)
    for word in re.findall(r"^\.(?:TP)\n\.B[IR]? ([a-z]+)", open(manpage).read().replace("\\-", "-"), re.M):
        check(word in known, f"the man page documents '{word}', which rbdtier does not have")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
