"""What the loader and the kernel do at power-on, before /etc/rc runs.

The loader reads loader.conf into kenv and loads `*_load="YES"` modules; the kernel
then probes every PCI device (ppt first for pptdevs when vmm came from the loader,
GENERIC drivers and loader-loaded modules otherwise).
"""
import time

from . import kernel, loaderconf


def new_state(profile, laptop, hostname):
    """The state file of a laptop that was never booted."""
    devices = [dict(d, attached=None) for d in profile["devices"]]
    return dict(profile, laptop=laptop, hostname=hostname, devices=devices, kenv={},
                klds=kernel.new_klds(), vms={}, faults={}, ifaces={}, cloners={},
                sysctl={}, boots=0, loader_messages=[], autoloaded=[])


def power_on(state, root):
    """Reset the kernel to a fresh boot of the files under `root` (the laptop's /)."""
    maker, product, version, bios = state["smbios"]
    smbios = {"smbios.system.maker": maker, "smbios.system.product": product,
              "smbios.system.version": version, "smbios.bios.version": bios,
              "smbios.planar.maker": maker}
    # the loader sets smbios.* before it reads loader.conf ($smbios.x expands in values)
    loader_env, load, messages = loaderconf.read_all(root, state["osreldate"], smbios)
    kernel_warnings = []
    env = loaderconf.kernel_env(loader_env, kernel_warnings)
    for d in state["devices"]:
        d["attached"] = None
        d.pop("fixed", None)          # devctl set driver does not survive a reboot
        if d.get("gone") == "until-vmm-reload":
            d.pop("gone")             # a cold boot finds the card again
    # kern.boottime must change at every boot: Ansible's reboot module waits for that
    boottime = max(int(time.time()), state.get("boottime", 0) + 1)
    state.update(kenv=env, klds=kernel.new_klds(), vms={}, ifaces={}, cloners={}, sysctl={},
                 loader_messages=messages, autoloaded=[], boottime=boottime)
    state.pop("next_kld_id", None)
    state.pop("next_mod_id", None)
    state.pop("iommu_init_tried", None)
    state.pop("iommu_initialized", None)
    state["boots"] = state.get("boots", 0) + 1
    # The loader loads every module before the kernel probes any device, so probe once at
    # the end: ppt sees pptdevs only when vmm.ko was among them.
    devices, state["devices"] = state["devices"], []
    for name in load:
        kernel.load(state, name)
    state["devices"] = devices
    for dev in state["devices"]:
        kernel.probe(state, dev)
    state["dmesg"] = dmesg_at_boot(state)
    state["dmesg"][3:3] = kernel_warnings  # printed while the kernel copies the environment
    return messages + kernel_warnings


def dmesg_at_boot(state):
    """The kernel's boot messages (what /var/run/dmesg.boot keeps), for the lines tools read."""
    vendor = state["vendor"]
    lines = ["---<<BOOT>>---",
             "Copyright (c) 1992-2024 The FreeBSD Project.",
             "FreeBSD %s GENERIC amd64" % state["kernel"],
             "CPU: %s (%s-MHz K8-class CPU)" % (state["cpu"], "2112.13"),
             '  Origin="%s"  Id=%s  Family=0x6  Model=0x8e  Stepping=10'
             % (vendor, state["cpuid"]),
             "real memory  = %d (%d MB)" % (state["physmem"], state["physmem"] >> 20),
             "FreeBSD/SMP: Multiprocessor System Detected: %d CPUs" % state["ncpu"]]
    if state.get("iommu") == "vt-d":
        lines.append("dmar0: <DMA remap> iomem 0xfed90000-0xfed90fff on acpi0")
    if state.get("iommu") == "amd-vi":
        lines.append("ivhd0: <AMD-Vi/IOMMU ivhd with EFR> on acpi0")
    for dev in kernel.present(state):
        att = dev.get("attached")
        if att:
            _, b, s, f = dev["bsf4"]
            lines.append("%s%d: <%s> at device %d.%d on pci%d"
                         % (att["driver"], att["unit"], dev["device_name"], s, f, b))
    return lines


def devmatch_candidates(state, blocklist):
    """Module files devmatch would load: unattached devices' native modules, not blocklisted.

    Blocklist entries are module file names, `.ko` optional, matched exactly.
    """
    blocked = {b[:-3] if b.endswith(".ko") else b for b in blocklist}
    out = []
    for dev in kernel.present(state):
        if dev.get("attached") or not dev.get("native"):
            continue
        f = kernel.driver_file(dev["native"])
        if f and f not in blocked and f not in out and not kernel.loaded_file(state, f):
            out.append(f)
    return out
