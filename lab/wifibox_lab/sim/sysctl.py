"""sysctl(8): read, write, -n, -q, -a; hw.vmm.* only while vmm.ko is loaded (FREEBSD.md 7, 10)."""
import getopt
import time

from ..freebsd import kernel, state, vmm

# writable at runtime -> default value (the lab keeps changes until reboot)
WRITABLE = {"net.link.tap.up_on_open": "0", "net.inet.ip.forwarding": "0",
            "net.link.bridge.pfil_member": "1", "net.link.bridge.pfil_bridge": "1",
            "kern.hostname": None, "security.bsd.see_other_uids": "1"}


# OIDs whose effect is the Linux kernel's in the laptop's netns (the laptop really forwards
# packets with net.inet.ip.forwarding=1, ip(4): "forwarding ... the host acts as a router").
KERNEL_KNOBS = {"net.inet.ip.forwarding": "/proc/sys/net/ipv4/ip_forward"}


def _kernel_knob(path, value):
    try:
        with open(path, "w") as f:
            f.write("1\n" if value.strip() not in ("0", "") else "0\n")
    except OSError:
        pass


def oids(st):
    """Every OID's current value as a string, plus its kind: 'rw', 'ro' or 'tun' (RDTUN)."""
    ncpu = st["ncpu"]
    pages = st["physmem"] // 4096
    free = max(0, pages // 2 - sum(vmm.memory_in_use(v) for v in st["vms"].values()) * 256)
    t = {
        "kern.ostype": ("FreeBSD", "ro"), "kern.osrelease": (st["kernel"], "ro"),
        "kern.osreldate": (str(st["osreldate"]), "ro"),
        "kern.version": ("FreeBSD %s GENERIC" % st["kernel"], "ro"),
        "kern.boottime": (_boottime(st), "ro"),
        "hw.machine": ("amd64", "ro"), "hw.machine_arch": ("amd64", "ro"),
        "hw.model": (st["cpu"], "ro"), "hw.ncpu": (str(ncpu), "ro"),
        "hw.physmem": (str(st["physmem"]), "ro"), "hw.realmem": (str(st["physmem"]), "ro"),
        "hw.pagesize": ("4096", "ro"), "kern.smp.cpus": (str(ncpu), "ro"),
        # vm_meter.c: the page queues split v_page_count (free, inactive, active, laundry, wired);
        # what running VMs hold (wired memory, a lab guest's qemu RSS) comes out of free
        "vm.stats.vm.v_page_count": (str(pages), "ro"),
        "vm.stats.vm.v_free_count": (str(free), "ro"),
        "vm.stats.vm.v_inactive_count": (str(pages // 8), "ro"),
        "vm.stats.vm.v_active_count": (str(pages // 8), "ro"),
        "vm.stats.vm.v_laundry_count": ("0", "ro"),
        "vm.stats.vm.v_wire_count": (str(pages - free - 2 * (pages // 8)), "ro"),
        "vm.stats.vm.v_page_size": ("4096", "ro"), "hw.vmm.maxcpu": None,
    }
    del t["hw.vmm.maxcpu"]
    for name, default in WRITABLE.items():
        value = st["sysctl"].get(name, default if default is not None else st["hostname"])
        t[name] = (value, "rw")
    if kernel.loaded_file(st, "vmm"):
        kenv, intel = st["kenv"], st["vendor"] == "GenuineIntel"
        # 0 until the first pass-through device is given to a VM (kernel.assign_pptdev)
        iommu_on = bool(st.get("iommu_initialized"))
        t.update({
            "hw.vmm.maxcpu": (kenv.get("hw.vmm.maxcpu", str(min(ncpu, 16))), "tun"),
            "hw.vmm.ppt.devices": (str(kernel.ppt_count(st)), "ro"),
            "hw.vmm.iommu.enable": (kenv.get("hw.vmm.iommu.enable", "1"), "tun"),
            "hw.vmm.iommu.initialized": ("1" if iommu_on else "0", "ro"),
            "hw.vmm.amdvi.enable": (kenv.get("hw.vmm.amdvi.enable",
                                             kenv.get("hw.vmm.amdvi_enable", "0")), "tun"),
            "hw.vmm.amdvi.count": ("1" if st.get("iommu") == "amd-vi" else "0", "ro"),
            "hw.vmm.vmx.initialized": ("1" if intel else "0", "ro"),
            "hw.vmm.svm.features": ("0" if intel else "113919", "ro"),
            "hw.vmm.topology.cores_per_package": ("1", "tun"),
        })
    return t


def _boottime(st):
    bt = st.get("boottime", int(time.time()))
    return "{ sec = %d, usec = 0 } %s" % (bt, time.strftime("%a %b %e %H:%M:%S %Y",
                                                           time.localtime(bt)))


def main(ctx, argv):
    try:
        opts, args = getopt.getopt(argv, "abdehiNnoqTWx")
    except getopt.GetoptError:
        ctx.err.write("usage: sysctl [-bdehiNnoqTtWx] [ -B <bufsize> ] [-f filename] "
                      "name[=value] ...\n       sysctl [-bdehNnoqTtWx] [ -B <bufsize> ] -a\n")
        return 1
    flags = "".join(o[1] for o, _ in opts)
    quiet, bare, names_only = "q" in flags, "n" in flags, "N" in flags
    status = 0
    with state.locked(ctx.laptop_dir) as st:
        table = oids(st)
        if "a" in flags or not args:
            args = sorted(table) if "a" in flags else []
            if not args:
                ctx.err.write("usage: sysctl [-bdehiNnoqTtWx] [ -B <bufsize> ] [-f filename] "
                              "name[=value] ...\n")
                return 1
        for arg in args:
            name, eq, value = arg.partition("=")
            matches = [n for n in sorted(table) if n == name or n.startswith(name + ".")]
            if not matches:
                if not quiet and "i" not in flags:
                    ctx.warnx("unknown oid '%s'" % name)
                status = 1
                continue
            if eq:
                if matches != [name] or table[name][1] != "rw":
                    kind = table.get(name, (None, "node"))[1]
                    if kind == "tun":
                        ctx.warnx("oid '%s' is a read only tunable" % name)
                        ctx.warnx("Tunable values are set in /boot/loader.conf")
                    else:
                        ctx.warnx("oid '%s' is read only" % name)
                    status = 1
                    continue
                old = table[name][0]
                if old.lstrip("-").isdigit() and not value.lstrip("-").isdigit():
                    ctx.warnx("invalid integer '%s'" % value)
                    status = 1
                    continue
                st["sysctl"][name] = value
                table[name] = (value, "rw")
                if name in KERNEL_KNOBS:
                    _kernel_knob(KERNEL_KNOBS[name], value)
                ctx.print(value if bare else "%s: %s -> %s" % (name, old, value))
                continue
            for n in matches:
                ctx.print(n if names_only else table[n][0] if bare else "%s: %s" % (n, table[n][0]))
    return status
