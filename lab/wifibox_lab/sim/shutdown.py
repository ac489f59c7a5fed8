"""shutdown(8) -r and reboot(8): the laptop reboots itself (rc.shutdown, power cycle, /etc/rc).

Halting or powering off is not modelled: a lab laptop only comes back through a reboot.
The reboot runs detached, so the command returns first (as on FreeBSD, where the caller's
SSH session is cut a moment later).
"""
import getopt
import os
import re
import time


def main(ctx, argv):
    if ctx.prog == "reboot":
        try:
            opts, _ = getopt.getopt(argv, "cdlNnpqr")
        except getopt.GetoptError:
            ctx.err.write("usage: reboot [-cdlNnpqr] [-k kernel] [-o options]\n")
            return 1
        delay = 0
    else:
        try:
            opts, args = getopt.getopt(argv, "chknopr")
        except getopt.GetoptError:
            return _usage(ctx)
        flags = {o for o, _ in opts}
        if "-r" not in flags:
            return ctx.errx(1, "the wifibox lab can only reboot a laptop (use -r)")
        if not args:
            return _usage(ctx)
        when = args[0]
        m = re.fullmatch(r"\+(\d+)([smh]?)", when)  # +minutes, or +N with a unit
        if when == "now":
            delay = 0
        elif m:
            delay = int(m.group(1)) * {"s": 1, "": 60, "m": 60, "h": 3600}[m.group(2)]
        else:
            return ctx.errx(1, "time is not of the form +minutes or now: %s" % when)
        if delay == 0:
            ctx.print("Shutdown NOW!")
        ctx.print("shutdown: [pid %d]" % os.getpid())
    ctx.out.flush()
    if os.fork():
        return 0
    os.setsid()
    if os.fork():
        os._exit(0)
    devnull = os.open("/dev/null", os.O_RDWR)
    log = os.open(os.path.join(ctx.laptop_dir, "console.log"), os.O_WRONLY | os.O_APPEND |
                  os.O_CREAT, 0o644)
    os.dup2(devnull, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    time.sleep(delay + 0.5)  # let the caller see the command succeed first
    from .. import lifecycle
    from ..lab import Lab
    from ..laptop import Laptop
    lab_root = os.path.dirname(os.path.dirname(ctx.laptop_dir))
    lp = Laptop(Lab(lab_root), os.path.basename(ctx.laptop_dir))
    os.write(1, lifecycle.reboot(lp).encode())
    os._exit(0)


def _usage(ctx):
    ctx.err.write("usage: shutdown [-] [-c | -f | -h | -p | -r | -k] [-o [-n]] [-q] time "
                  "[warning-message ...]\n       poweroff\n")
    return 1
