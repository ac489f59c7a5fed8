"""pciconf(8): -l [-v] [device], -a device (FREEBSD.md section 1)."""
import getopt
import os

from ..freebsd import kernel, pci, state

USAGE = ("usage: pciconf -l [-BbcetVv] [device]\n"
         "       pciconf -a device\n"
         "       pciconf -r [-b | -h] device addr[:addr2]\n"
         "       pciconf -w [-b | -h] device addr value\n"
         "       pciconf -D [-b | -h | -x] device bar [start [count]]")


def main(ctx, argv):
    try:
        opts, args = getopt.getopt(argv, "aBbcDehlrtVvwx")
    except getopt.GetoptError:
        ctx.err.write(USAGE + "\n")
        return 1
    flags = "".join(o[1] for o, _ in opts)
    st = state.read(ctx.laptop_dir)
    if "a" in flags:
        if len(args) != 1:
            ctx.err.write(USAGE + "\n")
            return 1
        if os.geteuid() != 0:
            return ctx.errx(1, "/dev/pci: Permission denied")
        dev = _lookup(ctx, st, args[0])
        if dev is None:
            return 1
        if dev.get("attached"):
            ctx.print("%s: attached" % args[0])
            return 0
        ctx.print("%s: not attached" % args[0])
        return 2
    if "l" not in flags or len(args) > 1:
        ctx.err.write(USAGE + "\n")
        return 1
    devs = kernel.present(st)
    if args:
        dev = _lookup(ctx, st, args[0])
        if dev is None:
            return 1
        devs = [dev]
    verbose = "v" in flags
    if flags.count("l") > 1 and st["osreldate"] >= 1400000:
        # -ll (14+): one table; the header is documented, the row layout is inferred
        ctx.print("drv\tselector\tclass    rev  hdr  vendor device subven subdev")
        for dev in devs:
            ctx.print("%s\t%s\t0x%06x 0x%02x 0x%02x 0x%04x 0x%04x 0x%04x 0x%04x" % (
                kernel.name_of(st, dev), pci.selector(dev), dev["class"], dev["rev"],
                dev["hdr"], dev["vendor"], dev["device"], dev["subvendor"], dev["subdevice"]))
            if verbose:
                ctx.print(*pci.verbose_lines(dev))
        return 0
    for dev in devs:
        ctx.print(pci.list_line(kernel.name_of(st, dev), dev))
        if verbose:
            ctx.print(*pci.verbose_lines(dev))
    return 0


def _lookup(ctx, st, arg):
    try:
        return kernel.find_device(st, arg)
    except pci.SelectorError as e:
        ctx.warnx(str(e))
    except LookupError:
        kind, _ = pci.parse_device_arg(arg)
        # a selector with no device behind it fails in the PCIOCGETCONF match, a name lookup
        # in PCIOCGETCONF by driver name: both end in "Device not found"
        ctx.warnx("Device not found")
    return None
