"""The kernel model: loaded files (kldstat), which driver holds each PCI device, ppt(4).

FREEBSD.md sections 1 and 4: ppt's probe wins (BUS_PROBE_SPECIFIC) for a non-bridge
device listed in kenv pptdevs/pptdevs2/pptdevs3 while vmm.ko is loaded; loading a module
later only attaches to devices that are still unattached.
"""
import re

from . import kmod, pci

PPT_KENV = ("pptdevs", "pptdevs2", "pptdevs3")


# ---- loaded files -------------------------------------------------------------------------
def new_klds():
    return [{"id": 1, "file": "kernel", "refs": 1, "address": kmod.KERNEL_ADDRESS,
             "size": kmod.KERNEL_SIZE, "path": "/boot/kernel/kernel",
             "modules": [[500 + i, m] for i, m in enumerate(kmod.KERNEL_MODULES)]}]


def loaded_file(state, name):
    """The kld entry for file name `vmm`/`vmm.ko`, or None."""
    key = kmod.file_of(name)
    return next((k for k in state["klds"] if kmod.file_of(k["file"]) == key), None)


def module_loaded(state, module):
    return any(m[1] == module for k in state["klds"] for m in k["modules"])


def load(state, name):
    """Load a file and its dependencies. -> error string or None. Attaches drivers."""
    key = kmod.file_of(name)
    if module_loaded(state, key) or loaded_file(state, key):
        return "EEXIST"
    if key not in kmod.FILES:
        return "ENOENT"
    for f in kmod.closure(key):
        dep = loaded_file(state, f)
        if dep:
            dep["refs"] += 1
            continue
        last = state["klds"][-1]
        address = (last["address"] + last["size"] + 0xfff) & ~0xfff
        state.setdefault("next_kld_id", 2)
        state.setdefault("next_mod_id", 500 + len(kmod.KERNEL_MODULES) + 20)
        mods = []
        for m in kmod.FILES[f]["modules"]:
            mods.append([state["next_mod_id"], m])
            state["next_mod_id"] += 1
        state["klds"].append({"id": state["next_kld_id"], "file": f + ".ko", "refs": 1,
                              "address": address, "size": kmod.FILES[f]["size"],
                              "path": "/boot/kernel/%s.ko" % f, "modules": mods})
        state["next_kld_id"] += 1
        state["klds"][0]["refs"] += 1
        on_load(state, f)
    return None


def unload(state, entry):
    """Unload one loaded file entry. -> error string or None."""
    key = kmod.file_of(entry["file"])
    if key == "vmm" and state.get("vms"):
        return "EBUSY"
    users = [k for k in state["klds"] if key in kmod.FILES.get(kmod.file_of(k["file"]), {})
             .get("deps", [])]
    if users:
        return "EBUSY"
    state["klds"].remove(entry)
    state["klds"][0]["refs"] -= 1
    if key == "vmm":  # the next load of vmm.ko starts with an uninitialized IOMMU
        state.pop("iommu_init_tried", None)
        state.pop("iommu_initialized", None)
    for dep in kmod.FILES.get(key, {}).get("deps", []):
        d = loaded_file(state, dep)
        if d:
            d["refs"] -= 1
    for dev in state["devices"]:
        att = dev.get("attached")
        if att and driver_file(att["driver"]) == key:
            dev["attached"] = None
    return None


# ---- drivers ------------------------------------------------------------------------------
def driver_file(driver):
    """Module file that provides `driver` (None when it is built into GENERIC)."""
    if driver == "ppt":
        return "vmm"
    return kmod.DRIVER_MODULE.get(driver)


def driver_available(state, driver):
    if driver in kmod.GENERIC_DRIVERS:
        return True
    f = driver_file(driver)
    return bool(f and loaded_file(state, f))


_SSCANF_INT = re.compile(r"[ \t\n\v\f\r]*([-+]?[0-9]+)")


def scan_bsf(token):
    """sscanf(token, "%d/%d/%d") -> (count, [numbers]): leading blanks and signs are read,
    anything after the third number is ignored."""
    numbers, pos = [], 0
    for i in range(3):
        if i:
            if token[pos:pos + 1] != "/":
                break
            pos += 1
        m = _SSCANF_INT.match(token, pos)
        if not m:
            break
        numbers.append(int(m.group(1)))
        pos = m.end()
    return len(numbers), numbers


def pptdevs_entries(state):
    """The (bus, slot, function) vmm_is_pptdev() finds in pptdevs, pptdevs2, pptdevs3.

    Each value is cut at every single space (no other blank separates entries) and each
    piece read with sscanf("%d/%d/%d"); pieces that do not give three numbers are skipped.
    """
    found = []
    for var in PPT_KENV:
        for token in state["kenv"].get(var, "").split(" "):
            n, numbers = scan_bsf(token)
            if n == 3:
                found.append(tuple(numbers))
    return found


def ppt_listed(state, dev):
    _, b, s, f = dev["bsf4"]
    return (b, s, f) in pptdevs_entries(state) and (dev["hdr"] & 0x7f) == 0


# Units taken by devices pciconf does not list: pcib0 is the ACPI host-PCI bridge.
RESERVED_UNITS = {"pcib": {0}}


def free_unit(state, driver):
    used = {d["attached"]["unit"] for d in state["devices"]
            if d.get("attached") and d["attached"]["driver"] == driver}
    used |= RESERVED_UNITS.get(driver, set())
    unit = 0
    while unit in used:
        unit += 1
    return unit


def attach(state, dev, driver):
    dev["attached"] = {"driver": driver, "unit": free_unit(state, driver)}
    if "dmesg" in state:
        _, b, s, f = dev["bsf4"]
        state["dmesg"].append("%s%d: <%s> at device %d.%d on pci%d" % (
            driver, dev["attached"]["unit"], dev["device_name"], s, f, b))


def probe(state, dev):
    """Attach the best available driver to an unattached, present device."""
    if dev.get("attached") or dev.get("gone"):
        return
    fixed = dev.get("fixed")
    if fixed:
        if driver_available(state, fixed):
            attach(state, dev, fixed)
        return
    if loaded_file(state, "vmm") and ppt_listed(state, dev):
        attach(state, dev, "ppt")
    elif dev.get("native") and driver_available(state, dev["native"]):
        attach(state, dev, dev["native"])


def on_load(state, key):
    """A new driver appeared: probe every unattached device again (driver_added)."""
    if key == "vmm":
        for dev in state["devices"]:
            if dev.get("gone") == "until-vmm-reload":
                dev.pop("gone")
        if state.get("iommu") == "amd-vi" and not iommu_enabled(state):
            state.setdefault("dmesg", []).append(
                "bhyve: Found 1 AMD-Vi/IOMMU device(s), use hw.vmm.amdvi.enable=1 to enable "
                "pass-through.")
    for dev in state["devices"]:
        probe(state, dev)


def name_of(state, dev):
    """The -l name: driver+unit, or none<N> counting unattached devices in listing order."""
    att = dev.get("attached")
    if att:
        return "%s%d" % (att["driver"], att["unit"])
    n = 0
    for d in present(state):
        if d is dev:
            return "none%d" % n
        if not d.get("attached"):
            n += 1
    return "none?"


def present(state):
    return [d for d in state["devices"] if not d.get("gone")]


def find_device(state, arg):
    """pciconf/devctl device argument -> device dict; raises pci.SelectorError/LookupError."""
    kind, val = pci.parse_device_arg(arg)
    for dev in present(state):
        if kind == "sel" and tuple(dev["bsf4"]) == val:
            return dev
        if kind == "name":
            att = dev.get("attached")
            if att and (att["driver"], att["unit"]) == val:
                return dev
            if not att and val[0] == "none" and name_of(state, dev) == "none%d" % val[1]:
                return dev
    raise LookupError(arg)


def ppt_count(state):
    return sum(1 for d in present(state) if (d.get("attached") or {}).get("driver") == "ppt")


def assign_pptdev(state):
    """vm_assign_pptdev() (vmm.c): the first device given to a VM creates its IOMMU domain, and
    iommu_create_domain() (iommu.c) runs iommu_init() once per load of vmm.ko: that is when
    hw.vmm.iommu.initialized becomes 1, if the IOMMU is there and enabled. -> error or None."""
    if not state.get("iommu_init_tried"):
        state["iommu_init_tried"] = True
        state["iommu_initialized"] = iommu_enabled(state)
    return None if state["iommu_initialized"] else "ENXIO"


def iommu_enabled(state):
    kind = state.get("iommu")
    kenv = state["kenv"]
    if kind == "vt-d":
        return kenv.get("hw.vmm.iommu.enable", "1") != "0"
    if kind == "amd-vi":
        return "1" in (kenv.get("hw.vmm.amdvi.enable"), kenv.get("hw.vmm.amdvi_enable"))
    return False
