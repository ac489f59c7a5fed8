"""bhyve(8): validate argv and devices as bhyve does, then run a stand-in guest in the foreground.

FREEBSD.md section 6. Exit status: 0 rebooted, 1 powered off, 2 halted, 3 triple fault,
4 error. SIGTERM is an ACPI power-off request: the stand-in guest powers off at once.
The lab asks the guest to do something else by writing vms[NAME]["request"] in the
state file and sending SIGUSR1 (see wifibox_lab.lifecycle.guest_request).

The stand-in guest holds the VM's taps open (so they show `Opened by PID` and carrier),
and does nothing else; a real guest (qemu) can take its place behind this interface.
"""
import fcntl
import getopt
import os
import re
import signal
import struct
import subprocess
import time

from ..freebsd import kernel, pci, state, vmm
from .common import STRERROR

OPTSTRING = "aehuwxACDHIPSWYk:f:o:p:G:c:s:m:l:K:U:"
USAGE = ("Usage: bhyve [-AaCDeHhPSuWwxY]\n"
         "       %*s [-c [[cpus=]numcpus][,sockets=n][,cores=n][,threads=n]]\n"
         "       %*s [-G port] [-k config_file] [-l lpc] [-m mem] [-o var=value]\n"
         "       %*s [-p vcpu:hostcpu] [-r file] [-s pci] [-U uuid] vmname\n")
EXIT_CODES = {"reboot": 0, "poweroff": 1, "halt": 2, "triplefault": 3, "error": 4}
TUNSETIFF = 0x400454ca
IFF_TAP, IFF_NO_PI = 0x0002, 0x1000
KNOWN_EMULATIONS = {"hostbridge", "amd_hostbridge", "lpc", "passthru", "virtio-net",
                    "virtio-blk", "virtio-9p", "virtio-rnd", "virtio-console", "virtio-scsi",
                    "ahci", "ahci-hd", "ahci-cd", "nvme", "fbuf", "xhci", "uart", "e1000",
                    "hda"}


class InitError(Exception):
    """A device failed to initialise: message lines, then errno name for the summary line."""

    def __init__(self, errno_name, *lines):
        super().__init__(lines)
        self.errno_name = errno_name
        self.lines = lines


def parse_memsize(s):
    """-m: K/M/G/T suffix, a bare number is MB. -> MB (int) or None."""
    m = re.fullmatch(r"(\d+)([kKmMgGtT]?)", s)
    if not m:
        return None
    n, unit = int(m.group(1)), m.group(2).upper()
    mb = {"K": n / 1024, "": n, "M": n, "G": n * 1024, "T": n * 1024 * 1024}[unit]
    return max(1, int(mb))


def parse_slot(arg):
    """`slot[:func],emul[,conf]` or `bus:slot:func,emul[,conf]`. -> (slot, func, emul, conf)."""
    head, _, rest = arg.partition(",")
    emul, _, conf = rest.partition(",")
    parts = head.split(":")
    if not emul or not all(p.isdigit() for p in parts) or not 1 <= len(parts) <= 3:
        return None
    nums = [int(p) for p in parts]
    if len(nums) == 3:
        bus, slot, func = nums
    else:
        bus, slot, func = 0, nums[0], nums[1] if len(nums) == 2 else 0
    if not (0 <= slot <= 31 and 0 <= func <= 7 and 0 <= bus <= 255):
        return None
    return (bus, slot, func, emul, conf)


def main(ctx, argv):
    try:
        opts, args = getopt.getopt(argv, OPTSTRING)
    except getopt.GetoptError:
        ctx.err.write(USAGE.replace("%*s", " " * 5))
        return 1
    flags = {o for o, _ in opts}
    if ("-s", "help") in opts:
        # pci_print_supported_devices(): one emulation name a line, exit 0 (bhyve 13+)
        ctx.print(*sorted(KNOWN_EMULATIONS))
        return 0
    if ("-l", "help") in opts:
        ctx.print("bootrom", "com1", "com2", "com3", "com4", "pc-testdev", "tpm")
        return 0
    if "-h" in flags or len(args) != 1:
        ctx.err.write(USAGE.replace("%*s", " " * 5))
        return 1
    name = args[0]
    memory = 256
    slots, lpc = [], {}
    for o, v in opts:
        if o == "-m":
            memory = parse_memsize(v)
            if memory is None:
                return ctx.errx(4, "Invalid memsize '%s'" % v)
        elif o == "-s":
            s = parse_slot(v)
            if s is None:
                return ctx.errx(4, 'Invalid PCI slot info field "%s"' % v)
            slots.append(s)
        elif o == "-l":
            dev, _, conf = v.partition(",")
            if dev not in ("com1", "com2", "com3", "com4", "bootrom", "tpm") or not conf:
                return ctx.errx(4, "Invalid lpc device configuration '%s'" % v)
            lpc[dev] = conf
    wired = "-S" in flags
    slots.sort(key=lambda s: (s[0], s[1], s[2]))
    with state.locked(ctx.laptop_dir) as st:
        err = _open_vm(ctx, st, name, memory, wired, "bootrom" in lpc)
        if err:
            return err
        vm = st["vms"][name]
        rom = lpc.get("bootrom", "").split(",")[0]
        if rom and not os.path.exists(ctx.path(rom)):
            ctx.warnx('Error opening bootrom "%s": No such file or directory' % rom)
            return 4
        try:
            for slot in slots:
                _init_device(ctx, st, vm, slot, lpc, wired)
        except InitError as e:
            for line in e.lines:
                ctx.warnx(line)
            ctx.err.write("Device emulation initialization error: %s\n"
                          % STRERROR.get(e.errno_name, e.errno_name))
            vm["ppt"], vm["tap"] = [], []
            return 4
        vm["pid"] = os.getpid()
        vm["request"] = None
        vm["destroy_on_poweroff"] = "-D" in flags
        fail_now = state.fault(st, "bhyve-exit4")
        taps = list(vm["tap"])
        guest = st.get("guest_command")
        description = {"name": name, "memory_mb": memory, "wired": wired, "lpc": lpc,
                       "cpus": next((v for o, v in opts if o == "-c"), "1"),
                       "slots": [dict(zip(("bus", "slot", "func", "emul", "conf"), x))
                                 for x in slots], "taps": taps, "ppt": list(vm["ppt"]),
                       "laptop_dir": ctx.laptop_dir}
    # a real guest opens the taps itself; the stand-in holds them so they show carrier
    fds = [] if guest else _open_taps(ctx, taps)
    try:
        if fail_now:
            time.sleep(0.2)
            ctx.err.write("vm_run error -1, errno 5\n")
            outcome = "error"
        elif guest:
            outcome = _real_guest(ctx, name, guest, description)
        else:
            outcome = _stand_in_guest(ctx, name)
    finally:
        for fd in fds:
            os.close(fd)
        with state.locked(ctx.laptop_dir) as st:
            vm = st["vms"].get(name)
            for tap in taps:
                st["ifaces"].get(tap, {}).pop("opened_by", None)
            if vm is not None:
                vm["pid"] = None
                vm["ppt"], vm["tap"] = [], []
                if outcome == "poweroff" and vm.get("destroy_on_poweroff"):
                    vmm.destroy(ctx, st, name)
    return EXIT_CODES.get(outcome, 4)


def _open_vm(ctx, st, name, memory, wired, bootrom):
    vm = st["vms"].get(name)
    if vm is not None:
        if vmm.running(vm):
            return ctx.errx(4, "vm_reinit: Device busy")
        if not bootrom and (vm["memory_mb"] != memory or vm["wired"] != wired):
            # the loader set the VM's memory up; bhyve must ask for the same (-m, -S)
            return ctx.errx(4, "Unable to setup memory (%d)" % 22)
        return 0
    err = vmm.create(ctx, st, name, memory, wired, "bootrom" if bootrom else None)
    if err == "ENOMEM":
        return ctx.errx(4, "Unable to setup memory (12)")
    if not bootrom:
        # a fresh VM with neither a bootrom nor a loader (grub-bhyve/bhyveload) before it
        ctx.err.write("virtual machine cannot be booted\n")
        return 4
    return 0


def _init_device(ctx, st, vm, slot, lpc, wired):
    bus, s, f, emul, conf = slot
    if emul not in KNOWN_EMULATIONS:
        raise InitError("EINVAL", 'pci slot %d:%d:%d: unknown device "%s"' % (bus, s, f, emul))
    if emul == "lpc":
        for com in ("com1", "com2", "com3", "com4"):
            backend = lpc.get(com)
            if backend and backend.startswith("/dev/nmdm") and \
                    not kernel.module_loaded(st, "nmdm"):
                raise InitError("ENOENT", "Unable to initialize backend '%s' for LPC device %s"
                                % (backend, com))
    elif emul == "passthru":
        _passthru(ctx, st, vm, conf, wired)
    elif emul == "virtio-net":
        _tap(ctx, st, vm, conf.split(",")[0])
    elif emul in ("virtio-blk", "ahci-hd", "nvme"):
        path = conf.split(",")[0]
        if not os.path.exists(ctx.path(path)):
            raise InitError("ENOENT", "Could not open backing file: %s: No such file or "
                            "directory" % path)
    elif emul == "virtio-9p":
        share = conf.split(",")[0]
        _, _, path = share.partition("=")
        if not path or not os.path.isdir(ctx.path(path)):
            raise InitError("ENOENT", "virtio-9p: cannot open '%s': No such file or directory"
                            % (path or share))


def _passthru(ctx, st, vm, conf, wired):
    spec = conf.split(",")[0]
    if not wired:
        raise InitError("EINVAL", "passthru requires guest memory to be wired")
    dev = None
    m = re.fullmatch(r"(\d+)/(\d+)/(\d+)", spec)
    if m:
        want = tuple(int(x) for x in m.groups())
        dev = next((d for d in kernel.present(st) if tuple(d["bsf4"][1:]) == want), None)
    elif st["osreldate"] >= 1400000 and re.fullmatch(r"ppt\d+|pci\d+:\d+:\d+(:\d+)?", spec):
        try:
            dev = kernel.find_device(st, spec)
        except (LookupError, pci.SelectorError):
            dev = None
    else:
        raise InitError("EINVAL", "invalid passthru options")
    label = pci.bsf(dev) if dev else spec
    if dev is None or (dev.get("attached") or {}).get("driver") != "ppt" or \
            not kernel.iommu_enabled(st):
        raise InitError("ENXIO", "PCI device at %s is not using the ppt(4) driver" % label)
    for other_name, other in st["vms"].items():
        if other is not vm and label in other.get("ppt", []) and vmm.running(other):
            raise InitError("EBUSY", "vm_assign_pptdev: Device busy")
    if kernel.assign_pptdev(st):
        raise InitError("ENXIO", "PCI device at %s is not using the ppt(4) driver" % label)
    vm["ppt"].append(label)


def _tap(ctx, st, vm, tap):
    from . import ifconfig
    opened = st["ifaces"].get(tap, {}).get("opened_by")
    if opened and opened != os.getpid() and os.path.exists("/proc/%d" % opened):
        raise InitError("EBUSY", "open of tap device /dev/%s failed" % tap)
    if not re.fullmatch(r"(tap|vmnet)\d+|[A-Za-z][A-Za-z0-9_]*", tap):
        raise InitError("EINVAL", "open of tap device /dev/%s failed" % tap)
    if ifconfig.find(ifconfig.linux_links(), tap) is None:
        # opening /dev/tapN creates tapN (devfs cloning)
        ifconfig._ip("tuntap", "add", tap, "mode", "tap")
        ifconfig._ip("link", "set", tap, "address", ifconfig._fbsd_mac())
        cloner = tap.rstrip("0123456789")
        unit = int(tap[len(cloner):] or 0)
        st["cloners"].setdefault("tap", []).append(unit)
        st["ifaces"][tap] = {"cloner": "tap", "unit": unit, "groups": ["tap"]}
        from . import autobridge
        autobridge.interface_attached(ctx, st, tap, ifconfig.linux_links())
    st["ifaces"].setdefault(tap, {})["opened_by"] = os.getpid()
    vm["tap"].append(tap)
    if st["sysctl"].get("net.link.tap.up_on_open", "0") == "1" or st["osreldate"] >= 1400000:
        ifconfig._ip("link", "set", tap, "up")


def _open_taps(ctx, taps):
    fds = []
    for tap in taps:
        try:
            fd = os.open("/dev/net/tun", os.O_RDWR)
            fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", tap.encode(), IFF_TAP | IFF_NO_PI))
            fds.append(fd)
        except OSError:
            pass  # unit tests run without a tap device; the state still says who opened it
    return fds


def _real_guest(ctx, name, argv, description):
    """Run the lab's guest program (e.g. a qemu launcher) in bhyve's place.

    It gets the VM as JSON in $WIFIBOX_LAB_VM, receives SIGTERM as the ACPI power-off
    request, and its exit status is bhyve's (0 reboot .. 4 error). Lab requests
    (SIGUSR1) end it and bhyve exits with the requested status.
    """
    import json
    env = dict(os.environ, WIFIBOX_LAB_VM=json.dumps(description))
    # Its own process group: a lab request ends the program and everything it started (qemu),
    # as a real bhyve process is the VM: when bhyve exits, its taps and memory are free.
    child = subprocess.Popen(argv, env=env, start_new_session=True)
    requested = []

    def on_term(*_):
        child.send_signal(signal.SIGTERM)

    def on_request(*_):
        st = state.read(ctx.laptop_dir)
        requested.append((st["vms"].get(name) or {}).get("request") or "error")
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except OSError:
            pass
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGUSR1, on_request)
    code = child.wait()
    _wait_group_gone(child.pid)
    if requested:
        return requested[0]
    return {v: k for k, v in EXIT_CODES.items()}.get(code, "error")


def _wait_group_gone(pgid, timeout=10.0):
    """Until no process of the guest program's group is left (qemu holds the taps until it is gone)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            os.killpg(pgid, 0)
        except OSError:
            return
        time.sleep(0.05)


def _stand_in_guest(ctx, name):
    """Wait for SIGTERM (ACPI power-off) or a lab request (SIGUSR1). -> outcome name."""
    outcome = []

    def on_term(*_):
        outcome.append("poweroff")

    def on_request(*_):
        st = state.read(ctx.laptop_dir)
        outcome.append((st["vms"].get(name) or {}).get("request") or "error")
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGUSR1, on_request)
    signal.signal(signal.SIGUSR2, lambda *_: outcome.append("error"))
    while not outcome:
        time.sleep(0.1)
    if outcome[0] == "error":
        ctx.err.write("vm_run error -1, errno 6\n")
    return outcome[0]
