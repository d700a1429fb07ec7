#!/usr/bin/env python3
"""tests/e2e/syslogd.py: a stand-in for syslogd in the e2e guest, which has none.

Contract:
  syslogd.py [SOCKET] [LOG]
    Binds the datagram socket SOCKET (default /dev/log, replaced if it exists) and appends every
    message received to LOG (default /var/log/syslog), one line each, with the time of receipt;
    daemons that log only through syslog(3) or Python's SysLogHandler (ceph-iscsi's
    rbd-target-gw) are then heard. Prints "ready" on stdout once bound; runs until SIGTERM or
    SIGINT, then removes SOCKET and exits 0. Exits 1 with the reason if it cannot bind or write.
"""
import os
import signal
import socket
import sys
import time


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "/dev/log"
    log_path = sys.argv[2] if len(sys.argv) > 2 else "/var/log/syslog"
    try:
        if os.path.exists(path):
            os.unlink(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        log = open(log_path, "a", buffering=1, encoding="utf-8")
    except OSError as e:
        print(f"syslogd.py: {e}", file=sys.stderr)
        return 1

    def stop(*_):
        sock.close()
        try:
            os.unlink(path)
        except OSError:
            pass
        log.close()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("ready", flush=True)
    while True:
        data = sock.recv(65536)
        line = data.decode("utf-8", "replace").rstrip("\n\0").replace("\n", " | ")
        log.write(time.strftime("%Y-%m-%dT%H:%M:%S ") + line + "\n")


if __name__ == "__main__":
    sys.exit(main())
