"""cu(1): connect to a serial line (an nmdm(4) B side); `~.` disconnects."""
import getopt
import sys

from ..freebsd import kernel, state


def main(ctx, argv):
    try:
        opts, args = getopt.getopt(argv, "ehol:s:t")
    except getopt.GetoptError:
        ctx.err.write("usage: cu [-ehot] [-l line] [-s speed | -speed] [phone-number]\n")
        return 1
    o = dict(opts)
    line = o.get("-l")
    if not line:
        ctx.err.write("usage: cu [-ehot] [-l line] [-s speed | -speed] [phone-number]\n")
        return 1
    st = state.read(ctx.laptop_dir)
    if line.startswith("/dev/nmdm") and not kernel.module_loaded(st, "nmdm"):
        return ctx.errx(1, "%s: No such file or directory" % line)
    ctx.print("Connected")
    ctx.out.flush()
    for text in sys.stdin:
        if text.startswith("~."):
            break
    ctx.print("", "[EOT]")
    return 0
