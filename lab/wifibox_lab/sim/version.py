"""uname(1) and freebsd-version(1) (FREEBSD.md section 10)."""
import getopt

from ..freebsd import state


def main(ctx, argv):
    return (uname if ctx.prog == "uname" else freebsd_version)(ctx, argv)


def uname(ctx, argv):
    try:
        opts, args = getopt.getopt(argv, "abiKmnoprsUv")
    except getopt.GetoptError:
        ctx.err.write("usage: uname [-abiKmnoprsUv]\n")
        return 1
    if args:
        ctx.err.write("usage: uname [-abiKmnoprsUv]\n")
        return 1
    flags = "".join(o[1] for o, _ in opts) or "s"
    if "a" in flags:
        flags = "snrvm"
    st = state.read(ctx.laptop_dir)
    fields = {"s": "FreeBSD", "o": "FreeBSD", "n": st["hostname"], "r": st["kernel"],
              "v": "FreeBSD %s GENERIC" % st["kernel"], "m": "amd64", "p": "amd64",
              "i": "GENERIC", "K": str(st["osreldate"]), "U": str(st["osreldate"]),
              "b": "0" * 40}
    ctx.print(" ".join(fields[c] for c in "sonrvmpibKU" if c in flags))
    return 0


def freebsd_version(ctx, argv):
    try:
        opts, args = getopt.getopt(argv, "j:kru")
    except getopt.GetoptError:
        ctx.err.write("usage: freebsd-version [-kru] [-j jail]\n")
        return 1
    if args:
        ctx.err.write("usage: freebsd-version [-kru] [-j jail]\n")
        return 1
    flags = "".join(o[1] for o, _ in opts if o != "-j") or "u"
    st = state.read(ctx.laptop_dir)
    # installed kernel = running kernel unless an upgrade is pending a reboot
    values = {"k": st.get("installed_kernel", st["kernel"]), "r": st["kernel"],
              "u": st["userland"]}
    for c in "kru":
        if c in flags:
            ctx.print(values[c])
    return 0
