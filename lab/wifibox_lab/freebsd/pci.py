"""pciconf(8) facts: the class table, the -l/-v line formats and selector parsing.

Written from FREEBSD.md section 1 (pciconf.c printf formats).
"""
import re

# pciconf's built-in class table: class -> (name, {subclass: name}).
# A subclass missing here prints no `subclass` line (e.g. network/0x80 = Wi-Fi).
CLASSES = {
    0x00: ("old", {0x01: "non-VGA display device"}),
    0x01: ("mass storage", {0x00: "SCSI", 0x01: "ATA", 0x02: "floppy disk", 0x03: "IPI",
                            0x04: "RAID", 0x05: "ATA (ADMA)", 0x06: "SATA", 0x07: "SAS",
                            0x08: "NVM"}),
    0x02: ("network", {0x00: "ethernet", 0x01: "token ring", 0x02: "fddi", 0x03: "ATM",
                       0x04: "ISDN", 0x05: "WorldFip", 0x06: "PICMG", 0x07: "InfiniBand",
                       0x08: "host fabric"}),
    0x03: ("display", {0x00: "VGA", 0x01: "XGA", 0x02: "3D"}),
    0x04: ("multimedia", {0x00: "video", 0x01: "audio", 0x02: "telephony", 0x03: "HDA"}),
    0x05: ("memory", {0x00: "RAM", 0x01: "flash"}),
    0x06: ("bridge", {0x00: "HOST-PCI", 0x01: "PCI-ISA", 0x02: "PCI-EISA", 0x03: "PCI-MCA",
                      0x04: "PCI-PCI", 0x05: "PCI-PCMCIA", 0x06: "PCI-NuBus",
                      0x07: "PCI-CardBus", 0x08: "PCI-RACEway"}),
    0x07: ("simple comms", {0x00: "UART", 0x01: "parallel port", 0x02: "multiport serial",
                            0x03: "generic modem"}),
    0x08: ("base peripheral", {0x00: "interrupt controller", 0x01: "DMA controller",
                               0x02: "timer", 0x03: "realtime clock",
                               0x04: "PCI hot-plug controller", 0x05: "SD host controller",
                               0x06: "IOMMU"}),
    0x09: ("input device", {0x00: "keyboard", 0x01: "digitizer", 0x02: "mouse",
                            0x03: "scanner", 0x04: "gameport"}),
    0x0a: ("docking station", {}),
    0x0b: ("processor", {}),
    0x0c: ("serial bus", {0x00: "FireWire", 0x01: "access.bus", 0x02: "SSA", 0x03: "USB",
                          0x04: "Fibre Channel", 0x05: "SMBus"}),
    0x0d: ("wireless controller", {0x00: "iRDA", 0x01: "IR", 0x10: "RF", 0x11: "bluetooth",
                                   0x12: "broadband", 0x20: "ethernet 802.11a",
                                   0x21: "ethernet 802.11b"}),
    0x0e: ("intelligent I/O controller", {}),
    0x0f: ("satellite communication", {}),
    0x10: ("encrypt/decrypt", {0x00: "network/computer crypto",
                               0x10: "entertainment crypto"}),
    0x11: ("dasp", {0x00: "DPIO module", 0x01: "performance counters",
                    0x10: "communication synchronizer", 0x20: "management card"}),
    0x12: ("processing accelerators", {}),
    0x13: ("non-essential instrumentation", {}),
}

LINE = ("{name}@{sel}:\tclass=0x{cls:06x} rev=0x{rev:02x} hdr=0x{hdr:02x} "
        "vendor=0x{vendor:04x} device=0x{device:04x} "
        "subvendor=0x{subvendor:04x} subdevice=0x{subdevice:04x}")


def selector(dev):
    """`pci<dom>:<bus>:<slot>:<func>` of a device dict."""
    return "pci{}:{}:{}:{}".format(*dev["bsf4"])


def list_line(name, dev):
    return LINE.format(name=name, sel=selector(dev), cls=dev["class"], rev=dev["rev"],
                       hdr=dev["hdr"], vendor=dev["vendor"], device=dev["device"],
                       subvendor=dev["subvendor"], subdevice=dev["subdevice"])


def verbose_lines(dev):
    """The -v block: vendor/device from pci.ids (quoted), class/subclass from the table."""
    out = []
    if dev.get("vendor_name"):
        out.append("    vendor     = '%s'" % dev["vendor_name"])
    if dev.get("device_name"):
        out.append("    device     = '%s'" % dev["device_name"])
    cls = CLASSES.get(dev["class"] >> 16)
    if cls:
        out.append("    class      = %s" % cls[0])
        sub = cls[1].get((dev["class"] >> 8) & 0xff)
        if sub:
            out.append("    subclass   = %s" % sub)
    return out


_SEL = re.compile(r"^pci(\d+):(\d+)(?::(\d+))?(?::(\d+))?$")
_NAME = re.compile(r"^([A-Za-z_][A-Za-z_0-9]*?)(\d+)$")


class SelectorError(ValueError):
    pass


def parse_device_arg(arg):
    """Return ('sel', (dom, bus, slot, func)) or ('name', (driver, unit)).

    A leading `name@` and a trailing `:` are ignored (column 1 of -l can be fed back).
    Three numbers mean bus:slot:func, two mean bus:slot; four include the domain.
    """
    a = arg.split("@", 1)[1] if "@" in arg else arg
    a = a[:-1] if a.endswith(":") else a
    if a.startswith("pci") and a[3:4].isdigit():
        m = _SEL.match(a)
        if not m:
            raise SelectorError("cannot parse selector %s" % arg)
        nums = [int(x) for x in m.groups() if x is not None]
        if len(nums) == 4:
            return "sel", tuple(nums)
        if len(nums) == 3:
            return "sel", (0, nums[0], nums[1], nums[2])
        return "sel", (0, nums[0], nums[1], 0)
    m = _NAME.match(a)
    if not m:
        raise SelectorError("Invalid device name")
    return "name", (m.group(1), int(m.group(2)))


def bsf(dev):
    """pptdevs / bhyve passthru form `bus/slot/func` (decimal, no domain)."""
    _, b, s, f = dev["bsf4"]
    return "%d/%d/%d" % (b, s, f)
