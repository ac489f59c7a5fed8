"""acpiconf(8): `-k 0` acknowledges a suspend request (rc.suspend's last step)."""
import getopt

from ..freebsd import state


def main(ctx, argv):
    try:
        opts, args = getopt.getopt(argv, "dhi:k:s:")
    except getopt.GetoptError:
        ctx.err.write("usage: acpiconf [-h] [-d | -i batt | -k ack | -s 1-4]\n")
        return 1
    o = dict(opts)
    if "-k" in o:
        with state.locked(ctx.laptop_dir) as st:
            st["acpi_ack"] = o["-k"] == "0"
        return 0
    if "-s" in o:
        if o["-s"] not in ("1", "2", "3", "4"):
            return ctx.errx(1, "invalid sleep type (%s)" % o["-s"])
        return 0
    ctx.err.write("usage: acpiconf [-h] [-d | -i batt | -k ack | -s 1-4]\n")
    return 1
