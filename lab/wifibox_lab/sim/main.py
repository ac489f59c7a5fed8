"""Dispatch a FreeBSD command name to its simulator; the laptop's shims call `main`."""
import importlib
import sys

from .common import Ctx

# command -> module in this package that implements it (function `main(ctx, argv)`)
COMMANDS = {
    "pciconf": "pciconf", "kldload": "kld", "kldunload": "kld", "kldstat": "kld",
    "sysctl": "sysctl", "kenv": "kenv", "uname": "version", "freebsd-version": "version",
    "devmatch": "devmatch", "devctl": "devctl", "sysrc": "sysrc", "ifconfig": "ifconfig",
    "rcorder": "rcorder", "service": "service", "bhyve": "bhyve", "bhyvectl": "bhyvectl",
    "daemon": "daemon", "pkg": "pkg", "cu": "cu", "grub-bhyve": "grub_bhyve",
    "devd": "devd", "acpiconf": "acpiconf", "dmesg": "dmesg",
    "shutdown": "shutdown", "reboot": "shutdown", "pfctl": "pfctl",
    "dhclient": "dhclient", "rtsol": "rtsol",
}

# Where FreeBSD keeps each command (the laptop's PATH dirs resolve here first).
LOCATION = {
    "pciconf": "/usr/sbin", "kldload": "/sbin", "kldunload": "/sbin", "kldstat": "/sbin",
    "sysctl": "/sbin", "kenv": "/bin", "uname": "/usr/bin", "freebsd-version": "/bin",
    "devmatch": "/sbin", "devctl": "/usr/sbin", "sysrc": "/usr/sbin", "ifconfig": "/sbin",
    "rcorder": "/sbin", "service": "/usr/sbin", "bhyve": "/usr/sbin", "bhyvectl": "/usr/sbin",
    "daemon": "/usr/sbin", "pkg": "/usr/local/sbin", "cu": "/usr/bin",
    "grub-bhyve": "/usr/local/sbin", "devd": "/sbin", "acpiconf": "/usr/sbin",
    "dmesg": "/sbin", "shutdown": "/sbin", "reboot": "/sbin", "pfctl": "/sbin",
    "dhclient": "/sbin", "rtsol": "/sbin",
}


def run(ctx, argv):
    mod = importlib.import_module("wifibox_lab.sim." + COMMANDS[ctx.prog])
    return mod.main(ctx, argv)


def main(prog, laptop_dir, argv=None, root="/"):
    from ..freebsd import state
    ctx = Ctx(prog, laptop_dir, root)
    with open(state.path(laptop_dir)) as f:
        faults = __import__("json").load(f).get("faults", {})
    fail = faults.get("command-fails:" + prog)
    if fail is not None:
        # lab fault: this command fails as if the kernel refused (message given by the test)
        ctx.warnx(fail.get("message", "Operation not permitted"))
        return fail.get("code", 1)
    try:
        return run(ctx, sys.argv[1:] if argv is None else argv)
    except BrokenPipeError:
        return 1
