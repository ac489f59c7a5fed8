"""devctl(8): `set driver [-f] device driver`, `clear driver [-f] device` (and attach/detach)."""
from ..freebsd import kernel, pci, state


def main(ctx, argv):
    if len(argv) < 2:
        return _usage(ctx)
    verb = argv[0]
    if verb in ("set", "clear") and argv[1] == "driver":
        rest = argv[2:]
        force = "-f" in rest
        rest = [a for a in rest if a != "-f"]
        if verb == "set" and len(rest) == 2:
            return _set(ctx, rest[0], rest[1], force)
        if verb == "clear" and len(rest) == 1:
            return _clear(ctx, rest[0], force)
        return _usage(ctx)
    if verb in ("attach", "detach") and len(argv) >= 2:
        return _attach_detach(ctx, verb, argv[-1])
    return _usage(ctx)


def _dev(st, arg):
    try:
        return kernel.find_device(st, arg)
    except (LookupError, pci.SelectorError):
        return None


def _set(ctx, arg, driver, force):
    """DEV_SET_DRIVER (subr_bus.c): the same driver is a no-op; a driver no loaded module
    registered on the bus fails with ENOENT before anything changes (ppt before vmm.ko);
    then an attached device needs -f (else EBUSY), is detached, fixed to the class, probed."""
    with state.locked(ctx.laptop_dir) as st:
        dev = _dev(st, arg)
        if dev is None:
            return ctx.errx(1, "Failed to set %s driver to %s: No such file or directory"
                            % (arg, driver))
        if (dev.get("attached") or {}).get("driver") == driver:
            return 0
        if not kernel.driver_available(st, driver):
            return ctx.errx(1, "Failed to set %s driver to %s: No such file or directory"
                            % (arg, driver))
        if dev.get("attached") and not force:
            return ctx.errx(1, "Failed to set %s driver to %s: Device busy" % (arg, driver))
        dev["attached"] = None
        dev["fixed"] = driver
        kernel.attach(st, dev, driver)
        _wlans_follow(st)
    return 0


def _wlans_follow(st):
    from . import ifconfig
    ifconfig.drop_orphan_wlans(st)


def _clear(ctx, arg, force):
    """DEV_CLEAR_DRIVER: nothing to do without a fixed class; an attached device needs -f;
    then any driver may probe it again (ENXIO when none attaches)."""
    with state.locked(ctx.laptop_dir) as st:
        dev = _dev(st, arg)
        if dev is None:
            return ctx.errx(1, "Failed to clear %s driver: No such file or directory" % arg)
        if not dev.get("fixed"):
            return 0
        if dev.get("attached") and not force:
            return ctx.errx(1, "Failed to clear %s driver: Device busy" % arg)
        dev.pop("fixed", None)
        dev["attached"] = None
        kernel.probe(st, dev)
        _wlans_follow(st)
        if not dev.get("attached"):
            return ctx.errx(1, "Failed to clear %s driver: Device not configured" % arg)
    return 0


def _attach_detach(ctx, verb, arg):
    with state.locked(ctx.laptop_dir) as st:
        dev = _dev(st, arg)
        if dev is None:
            return ctx.errx(1, "Failed to %s %s: No such file or directory" % (verb, arg))
        if verb == "detach":
            if not dev.get("attached"):
                return ctx.errx(1, "Failed to detach %s: Device not configured" % arg)
            dev["attached"] = None
        else:
            if dev.get("attached"):
                return ctx.errx(1, "Failed to attach %s: Device busy" % arg)
            kernel.probe(st, dev)
            if not dev.get("attached"):
                return ctx.errx(1, "Failed to attach %s: Device not configured" % arg)
    return 0


def _usage(ctx):
    ctx.err.write("usage: devctl attach device\n       devctl detach [-f] device\n"
                  "       devctl set driver [-f] device driver\n"
                  "       devctl clear driver [-f] device\n")
    return 1
