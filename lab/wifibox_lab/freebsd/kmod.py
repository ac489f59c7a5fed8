"""Kernel module facts: which .ko files exist, what modules they contain, what GENERIC has built in.

From FREEBSD.md section 4 and FreeBSD's amd64 GENERIC (13+: `device tuntap` built in).
"""

# file name (without .ko) -> contained module names, dependencies, size (kldstat hex column)
FILES = {
    "vmm": {"modules": ["vmm"], "deps": [], "size": 0x3bb2a8},
    "nmdm": {"modules": ["nmdm"], "deps": [], "size": 0x3550},
    "if_bridge": {"modules": ["if_bridge"], "deps": ["bridgestp"], "size": 0x24a78},
    "bridgestp": {"modules": ["bridgestp"], "deps": [], "size": 0x6ed8},
    "if_iwm": {"modules": ["iwm", "pci/iwm"], "deps": [], "size": 0x3f4b8},
    "iwm8265fw": {"modules": ["iwm8265fw"], "deps": [], "size": 0x1ff50},
    "iwm7265fw": {"modules": ["iwm7265fw"], "deps": [], "size": 0x1d2e8},
    "if_iwlwifi": {"modules": ["if_iwlwifi", "pci/iwlwifi"], "deps": ["linuxkpi", "linuxkpi_wlan"],
                   "size": 0x1e6920},
    "if_rtw88": {"modules": ["if_rtw88", "pci/rtw88"], "deps": ["linuxkpi", "linuxkpi_wlan"],
                 "size": 0xc7a48},
    "if_rtw89": {"modules": ["if_rtw89", "pci/rtw89"], "deps": ["linuxkpi", "linuxkpi_wlan"],
                 "size": 0x11b3a0},
    "if_ath": {"modules": ["if_ath", "pci/ath"], "deps": [], "size": 0x5a3c8},
    "linuxkpi": {"modules": ["linuxkpi"], "deps": [], "size": 0x61d38},
    "linuxkpi_wlan": {"modules": ["linuxkpi_wlan"], "deps": ["linuxkpi"], "size": 0x26bf0},
    "rtsx": {"modules": ["rtsx", "pci/rtsx"], "deps": [], "size": 0x8d40},
    "ig4": {"modules": ["ig4", "pci/ig4iic"], "deps": [], "size": 0x8c38},
    "acpi_ibm": {"modules": ["acpi_ibm"], "deps": [], "size": 0x7d48},
    "if_tuntap": {"modules": ["if_tuntap", "if_tun", "if_tap"], "deps": [], "size": 0x8f30},
    "filemon": {"modules": ["filemon"], "deps": [], "size": 0x3a30},
    "zfs": {"modules": ["zfsctrl", "zfs", "zfs_zvol", "zfs_vdev"], "deps": [], "size": 0x5f7e48},
    "cryptodev": {"modules": ["cryptodev"], "deps": [], "size": 0x2a08},
    "acpi_video": {"modules": ["acpi_video"], "deps": [], "size": 0x6c60},
    # pf(4): GENERIC leaves it out; rc.d/pf loads it (required_modules="pf").
    "pf": {"modules": ["pf"], "deps": [], "size": 0x76b10},
}

# Modules compiled into GENERIC (kldstat -m finds them; kldload says "already loaded or in kernel").
KERNEL_MODULES = [
    "if_tuntap", "if_tun", "if_tap", "pci", "acpi", "ahci", "nvme", "xhci", "if_em", "if_igb",
    "iwn", "ath", "wlan", "hdac", "snd_hda", "vgapci", "usb", "ichsmb", "isab", "sound",
]
KERNEL_SIZE = 0x1f3e2b0
KERNEL_ADDRESS = 0xffffffff80200000

# Driver names whose code is in GENERIC (attach at boot with no module).
GENERIC_DRIVERS = {"hostb", "pcib", "isab", "xhci", "ehci", "ahci", "nvme", "vgapci", "hdac",
                   "em", "igb", "re", "iwn", "ath", "ichsmb", "intsmb", "sdhci_pci", "bge", "rtsx"}

# Driver name -> module file that provides it (for devmatch / kldload attach).
DRIVER_MODULE = {"iwm": "if_iwm", "iwlwifi": "if_iwlwifi", "rtw88": "if_rtw88",
                 "rtw89": "if_rtw89", "ig4iic": "ig4"}


def file_of(arg):
    """kldload/kldunload argument -> module file key: `vmm`, `vmm.ko`, `/boot/kernel/vmm.ko`."""
    base = arg.rsplit("/", 1)[-1]
    return base[:-3] if base.endswith(".ko") else base


def closure(name):
    """Files to load for `name`, dependencies first."""
    order = []

    def visit(n):
        for d in FILES[n]["deps"]:
            visit(d)
        if n not in order:
            order.append(n)
    visit(name)
    return order
