"""devd(8) as a background daemon: reads devd.conf at start (the rules events will use).

The lab delivers events itself (`wifibox-lab suspend/resume`) with the rules this process
recorded at start, so a file added later only counts after `service devd restart`.
"""
import getopt
import os
import signal

from ..freebsd import devdconf, state

PIDFILE = "/var/run/devd.pid"


def main(ctx, argv):
    try:
        opts, args = getopt.getopt(argv, "dnqf:l:")
    except getopt.GetoptError:
        ctx.err.write("usage: devd [-dnq] [-l connlimit] [-f file]\n")
        return 1
    pidfile = ctx.path(PIDFILE)
    try:
        with open(pidfile) as f:
            old = int(f.read().split()[0])
        os.kill(old, 0)
        return ctx.errx(1, "devd already running, pid: %d" % old)
    except (OSError, ValueError, IndexError):
        pass
    rules = devdconf.read_config(ctx.path)
    if os.fork():
        return 0  # devd daemonizes; the caller returns at once
    os.setsid()
    pid = os.getpid()
    with open(pidfile, "w") as f:
        f.write("%d\n" % pid)
    devnull = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    with state.locked(ctx.laptop_dir) as st:
        st["devd"] = {"pid": pid, "rules": rules}

    def stop(*_):
        try:
            os.unlink(pidfile)
        except OSError:
            pass
        os._exit(0)
    signal.signal(signal.SIGTERM, stop)
    while True:
        signal.pause()
