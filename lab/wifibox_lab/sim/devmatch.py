"""devmatch(8): load the native modules of unattached devices, honouring devmatch_blocklist."""
import getopt
import os

from ..freebsd import boot, state


def main(ctx, argv):
    try:
        opts, args = getopt.getopt(argv, "adhpuv", ["all", "dump", "hints=", "nomatch=",
                                                    "unbound", "verbose"])
    except getopt.GetoptError:
        ctx.err.write("usage: devmatch [-adhpuv] [--nomatch event] [--hints file]\n")
        return 1
    flags = {o for o, _ in opts}
    st = state.read(ctx.laptop_dir)
    blocklist = os.environ.get("devmatch_blocklist", "").split()
    blocklist += st["kenv"].get("devmatch_blocklist", "").split()
    mods = boot.devmatch_candidates(st, blocklist)
    if "-p" in flags or "-u" in flags or "--unbound" in flags:
        for m in mods:
            ctx.print(m)
        return 0
    for m in mods:
        ctx.print(m + ".ko")
    return 0
