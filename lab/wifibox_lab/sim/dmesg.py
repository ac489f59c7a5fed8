"""dmesg(8): the kernel message buffer (boot messages, driver attaches, vmm's AMD-Vi hint)."""
import getopt

from ..freebsd import state


def main(ctx, argv):
    try:
        opts, args = getopt.getopt(argv, "acM:N:")
    except getopt.GetoptError:
        ctx.err.write("usage: dmesg [-ac] [-M core [-N system]]\n")
        return 1
    if ("-c", "") in opts:
        with state.locked(ctx.laptop_dir) as st:
            lines, st["dmesg"] = st.get("dmesg", []), []
    else:
        lines = state.read(ctx.laptop_dir).get("dmesg", [])
    ctx.print(*lines)
    return 0
