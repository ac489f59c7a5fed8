"""kldload(8), kldunload(8), kldstat(8) (FREEBSD.md section 4)."""
import getopt

from ..freebsd import kernel, kmod, state


def main(ctx, argv):
    return {"kldload": kldload, "kldunload": kldunload, "kldstat": kldstat}[ctx.prog](ctx, argv)


def kldload(ctx, argv):
    try:
        opts, args = getopt.getopt(argv, "nqv")
    except getopt.GetoptError:
        ctx.err.write("usage: kldload [-nqv] file ...\n")
        return 1
    flags = "".join(o[1] for o, _ in opts)
    if not args:
        ctx.err.write("usage: kldload [-nqv] file ...\n")
        return 1
    quiet, verbose, check = "q" in flags, "v" in flags, "n" in flags
    failed = False
    with state.locked(ctx.laptop_dir) as st:
        for arg in args:
            key = kmod.file_of(arg)
            if kernel.module_loaded(st, key) or kernel.loaded_file(st, key):
                err = "EEXIST"
            else:
                err = kernel.load(st, key) if _exists(ctx, key) else "ENOENT"
            if err == "EEXIST" and check:
                if verbose and not quiet:
                    ctx.print("%s is already loaded" % arg)
                continue
            if err is None and state.fault(st, "kldload-enoexec:" + key):
                entry = kernel.loaded_file(st, key)
                kernel.unload(st, entry)
                err = "ENOEXEC"
            if err is None:
                if verbose and not quiet:
                    ctx.print("Loaded %s, id=%d" % (arg, kernel.loaded_file(st, key)["id"]))
                continue
            failed = True
            if quiet:
                continue
            if err == "EEXIST":
                ctx.warnx("can't load %s: module already loaded or in kernel" % arg)
            elif err == "ENOEXEC":
                ctx.warnx("an error occurred while loading module %s. Please check dmesg(8) for "
                          "more details." % arg)
            else:
                ctx.warnx("can't load %s: No such file or directory" % arg)
    return 1 if failed else 0


def _exists(ctx, key):
    """A module file must exist in /boot/kernel or /boot/modules of the laptop."""
    import os
    return key in kmod.FILES and any(
        os.path.exists(ctx.path("%s/%s.ko" % (d, key))) for d in ("/boot/kernel", "/boot/modules"))


def kldunload(ctx, argv):
    try:
        opts, args = getopt.getopt(argv, "finv")
    except getopt.GetoptError:
        ctx.err.write("usage: kldunload [-fv] -i id ...\n       kldunload [-fv] [-n] name ...\n")
        return 1
    flags = "".join(o[1] for o, _ in opts)
    if not args:
        ctx.err.write("usage: kldunload [-fv] -i id ...\n       kldunload [-fv] [-n] name ...\n")
        return 1
    failed = False
    with state.locked(ctx.laptop_dir) as st:
        for arg in args:
            if "i" in flags:
                entry = next((k for k in st["klds"] if str(k["id"]) == arg), None)
                if entry is None:
                    ctx.warnx("can't find file id %s" % arg)  # kldunload -i with a bad id
                    failed = True
                    continue
            else:
                entry = kernel.loaded_file(st, arg)
                if entry is None or entry["file"] == "kernel":
                    ctx.warnx("can't find file %s" % arg)
                    failed = True
                    continue
            if "v" in flags:
                ctx.print("Unloading %s, id=%d" % (entry["file"], entry["id"]))
            err = kernel.unload(st, entry)
            if err:
                ctx.warnx("can't unload file: Device busy")
                failed = True
        from . import ifconfig
        ifconfig.drop_orphan_wlans(st)
        ifconfig.drop_bridges_without_driver(st)
    return 1 if failed else 0


HEADER = "Id Refs Address                Size Name"


def _human(n):
    """humanize_number(3) with HN_AUTOSCALE | HN_DECIMAL | HN_NOSPACE (approximately)."""
    for unit in ("", "K", "M", "G"):
        if n < 1000 or unit == "G":
            return ("%.1f%s" % (n, unit)) if unit and n < 10 else "%d%s" % (round(n), unit)
        n /= 1024.0


def _row(k, human=False):
    size = "%8s" % _human(k["size"]) if human else "%8x" % k["size"]
    return "%2d %4d 0x%016x %s %s" % (k["id"], k["refs"], k["address"], size, k["file"])


def kldstat(ctx, argv):
    try:
        opts, args = getopt.getopt(argv, "dhi:m:n:qv")
    except getopt.GetoptError:
        ctx.err.write("usage: kldstat [-dhqv] [-i id] [-n filename]\n"
                      "       kldstat [-dq] [-m modname]\n")
        return 1
    o = dict(opts)
    st = state.read(ctx.laptop_dir)
    quiet, verbose = "-q" in o, "-v" in o
    if "-m" in o:
        mod = next((m for k in st["klds"] for m in k["modules"] if m[1] == o["-m"]), None)
        if mod is None:
            if not quiet:
                ctx.warnx("can't find module %s: No such file or directory" % o["-m"])
            return 1
        if not quiet:
            owner = next(k for k in st["klds"] if mod in k["modules"])
            ctx.print("Id  Refs Name", "%3d %4d %s" % (mod[0], owner["refs"], mod[1]))
        return 0
    entries = st["klds"]
    if "-n" in o:
        entry = kernel.loaded_file(st, o["-n"])
        if entry is None:
            if not quiet:
                ctx.warnx("can't find file %s: No such file or directory" % o["-n"])
            return 1
        entries = [entry]
    elif "-i" in o:
        entries = [k for k in entries if str(k["id"]) == o["-i"]]
        if not entries:
            if not quiet:
                ctx.warnx("can't stat file id %s: No such file or directory" % o["-i"])
            return 1
    if quiet:
        return 0
    ctx.print(HEADER)
    for k in entries:
        if verbose:
            ctx.print(_row(k, "-h" in o) + " (%s)" % k["path"], "\tContains modules:",
                      "\t\t Id Name")
            ctx.print(*["\t\t%3d %s" % (m[0], m[1]) for m in k["modules"]])
        else:
            ctx.print(_row(k, "-h" in o))
    return 0
