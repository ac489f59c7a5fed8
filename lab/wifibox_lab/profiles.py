"""Hardware profiles of real laptops: PCI devices (as `pciconf -lv` shows them), CPU, IOMMU,
FreeBSD version.

Each device row: (selector, class, rev, hdr, vendor, device, subvendor, subdevice,
vendor name, device name, native driver or None). The native driver is what attaches
when nothing else claims the device (GENERIC code or a module devmatch loads).
"""

VERSIONS = {
    # release -> (running kernel, installed userland, kern.osreldate)
    "13.2": ("13.2-RELEASE-p11", "13.2-RELEASE-p12", 1302001),
    "13.4": ("13.4-RELEASE-p2", "13.4-RELEASE-p3", 1304000),
    "14.1": ("14.1-RELEASE-p5", "14.1-RELEASE-p6", 1401000),
    "14.2": ("14.2-RELEASE-p1", "14.2-RELEASE-p1", 1402000),
    "15.0": ("15.0-RELEASE", "15.0-RELEASE", 1500068),
}

INTEL = "Intel Corporation"
_T480 = [
    ("pci0:0:0:0", 0x060000, 0x08, 0x00, 0x8086, 0x5914, 0x17aa, 0x225d, INTEL,
     "Xeon E3-1200 v6/7th Gen Core Processor Host Bridge/DRAM Registers", "hostb"),
    ("pci0:0:2:0", 0x030000, 0x07, 0x00, 0x8086, 0x5917, 0x17aa, 0x225d, INTEL,
     "UHD Graphics 620", "vgapci"),
    ("pci0:0:4:0", 0x118000, 0x08, 0x00, 0x8086, 0x1903, 0x17aa, 0x225d, INTEL,
     "Xeon E3-1200 v5/E3-1500 v5/6th Gen Core Processor Thermal Subsystem", None),
    ("pci0:0:8:0", 0x088000, 0x00, 0x00, 0x8086, 0x1911, 0x17aa, 0x225d, INTEL,
     "Xeon E3-1200 v5/v6 / E3-1500 v5 / 6th/7th/8th Gen Core Processor Gaussian Mixture Model",
     None),
    ("pci0:0:20:0", 0x0c0330, 0x21, 0x80, 0x8086, 0x9d2f, 0x17aa, 0x225d, INTEL,
     "Sunrise Point-LP USB 3.0 xHCI Controller", "xhci"),
    ("pci0:0:20:2", 0x118000, 0x21, 0x00, 0x8086, 0x9d31, 0x17aa, 0x225d, INTEL,
     "Sunrise Point-LP Thermal subsystem", None),
    ("pci0:0:21:0", 0x118000, 0x21, 0x80, 0x8086, 0x9d60, 0x17aa, 0x225d, INTEL,
     "Sunrise Point-LP Serial IO I2C Controller #0", "ig4iic"),
    ("pci0:0:22:0", 0x078000, 0x21, 0x80, 0x8086, 0x9d3a, 0x17aa, 0x225d, INTEL,
     "Sunrise Point-LP CSME HECI", None),
    ("pci0:0:28:0", 0x060400, 0xf1, 0x81, 0x8086, 0x9d10, 0x17aa, 0x225d, INTEL,
     "Sunrise Point-LP PCI Express Root Port #1", "pcib"),
    ("pci0:0:28:6", 0x060400, 0xf1, 0x01, 0x8086, 0x9d16, 0x17aa, 0x225d, INTEL,
     "Sunrise Point-LP PCI Express Root Port #7", "pcib"),
    ("pci0:0:29:0", 0x060400, 0xf1, 0x01, 0x8086, 0x9d18, 0x17aa, 0x225d, INTEL,
     "Sunrise Point-LP PCI Express Root Port #9", "pcib"),
    ("pci0:0:31:0", 0x060100, 0x21, 0x80, 0x8086, 0x9d4e, 0x17aa, 0x225d, INTEL,
     "Sunrise Point LPC/eSPI Controller", "isab"),
    ("pci0:0:31:2", 0x058000, 0x21, 0x00, 0x8086, 0x9d21, 0x17aa, 0x225d, INTEL,
     "Sunrise Point-LP PMC", None),
    ("pci0:0:31:3", 0x040300, 0x21, 0x00, 0x8086, 0x9d71, 0x17aa, 0x225d, INTEL,
     "Sunrise Point-LP HD Audio", "hdac"),
    ("pci0:0:31:4", 0x0c0500, 0x21, 0x00, 0x8086, 0x9d23, 0x17aa, 0x225d, INTEL,
     "Sunrise Point-LP SMBus", "ichsmb"),
    ("pci0:0:31:6", 0x020000, 0x21, 0x00, 0x8086, 0x15d7, 0x17aa, 0x225d, INTEL,
     "Ethernet Connection (4) I219-LM", "em"),
    ("pci0:2:0:0", 0xff0000, 0x01, 0x00, 0x10ec, 0x522a, 0x17aa, 0x225d,
     "Realtek Semiconductor Co., Ltd.", "RTS522A PCI Express Card Reader", "rtsx"),
    ("pci0:3:0:0", 0x028000, 0x78, 0x00, 0x8086, 0x24fd, 0x8086, 0x0010, INTEL,
     "Wireless 8265 / 8275", "iwm"),
    ("pci0:4:0:0", 0x010802, 0x00, 0x00, 0x144d, 0xa808, 0x144d, 0xa801,
     "Samsung Electronics Co Ltd", "NVMe SSD Controller SM981/PM981/PM983", "nvme"),
]

_X220 = [
    ("pci0:0:0:0", 0x060000, 0x09, 0x00, 0x8086, 0x0104, 0x17aa, 0x21da, INTEL,
     "2nd Generation Core Processor Family DRAM Controller", "hostb"),
    ("pci0:0:2:0", 0x030000, 0x09, 0x00, 0x8086, 0x0126, 0x17aa, 0x21da, INTEL,
     "2nd Generation Core Processor Family Integrated Graphics Controller", "vgapci"),
    ("pci0:0:22:0", 0x078000, 0x04, 0x80, 0x8086, 0x1c3a, 0x17aa, 0x21da, INTEL,
     "6 Series/C200 Series Chipset Family MEI Controller #1", None),
    ("pci0:0:25:0", 0x020000, 0x04, 0x00, 0x8086, 0x1502, 0x17aa, 0x21ce, INTEL,
     "82579LM Gigabit Network Connection (Lewisville)", "em"),
    ("pci0:0:26:0", 0x0c0320, 0x04, 0x00, 0x8086, 0x1c2d, 0x17aa, 0x21da, INTEL,
     "6 Series/C200 Series Chipset Family USB Enhanced Host Controller #2", "ehci"),
    ("pci0:0:27:0", 0x040300, 0x04, 0x00, 0x8086, 0x1c20, 0x17aa, 0x21da, INTEL,
     "6 Series/C200 Series Chipset Family High Definition Audio Controller", "hdac"),
    ("pci0:0:28:0", 0x060400, 0xb4, 0x81, 0x8086, 0x1c10, 0x0000, 0x0000, INTEL,
     "6 Series/C200 Series Chipset Family PCI Express Root Port 1", "pcib"),
    ("pci0:0:28:1", 0x060400, 0xb4, 0x81, 0x8086, 0x1c12, 0x0000, 0x0000, INTEL,
     "6 Series/C200 Series Chipset Family PCI Express Root Port 2", "pcib"),
    ("pci0:0:29:0", 0x0c0320, 0x04, 0x00, 0x8086, 0x1c26, 0x17aa, 0x21da, INTEL,
     "6 Series/C200 Series Chipset Family USB Enhanced Host Controller #1", "ehci"),
    ("pci0:0:31:0", 0x060100, 0x04, 0x80, 0x8086, 0x1c4f, 0x17aa, 0x21da, INTEL,
     "QM67 Express Chipset LPC Controller", "isab"),
    ("pci0:0:31:2", 0x010601, 0x04, 0x00, 0x8086, 0x1c03, 0x17aa, 0x21da, INTEL,
     "6 Series/C200 Series Chipset Family 6 port Mobile SATA AHCI Controller", "ahci"),
    ("pci0:0:31:3", 0x0c0500, 0x04, 0x00, 0x8086, 0x1c22, 0x17aa, 0x21da, INTEL,
     "6 Series/C200 Series Chipset Family SMBus Controller", "ichsmb"),
    ("pci0:3:0:0", 0x028000, 0x34, 0x00, 0x8086, 0x0085, 0x8086, 0x1311, INTEL,
     "Centrino Advanced-N 6205 [Taylor Peak]", "iwn"),
    ("pci0:13:0:0", 0x088005, 0x05, 0x00, 0x1180, 0xe823, 0x17aa, 0x21da,
     "Ricoh Co Ltd", "PCIe SDXC/MMC Host Controller", "sdhci_pci"),
]

_FRAMEWORK_AX210 = [
    ("pci0:0:0:0", 0x060000, 0x01, 0x00, 0x8086, 0x9a14, 0xf111, 0x0001, INTEL,
     "11th Gen Core Processor Host Bridge/DRAM Registers", "hostb"),
    ("pci0:0:2:0", 0x030000, 0x01, 0x00, 0x8086, 0x9a49, 0xf111, 0x0001, INTEL,
     "TigerLake-LP GT2 [Iris Xe Graphics]", "vgapci"),
    ("pci0:0:7:0", 0x060400, 0x01, 0x01, 0x8086, 0x9a23, 0x0000, 0x0000, INTEL,
     "Tiger Lake-LP Thunderbolt 4 PCI Express Root Port #0", "pcib"),
    ("pci0:0:13:0", 0x0c0330, 0x01, 0x80, 0x8086, 0x9a13, 0xf111, 0x0001, INTEL,
     "Tiger Lake-LP Thunderbolt 4 USB Controller", "xhci"),
    ("pci0:0:20:0", 0x0c0330, 0x20, 0x80, 0x8086, 0xa0ed, 0xf111, 0x0001, INTEL,
     "Tiger Lake-LP USB 3.2 Gen 2x1 xHCI Host Controller", "xhci"),
    ("pci0:0:21:0", 0x0c8000, 0x20, 0x80, 0x8086, 0xa0e8, 0xf111, 0x0001, INTEL,
     "Tiger Lake-LP Serial IO I2C Controller #0", "ig4iic"),
    ("pci0:0:22:0", 0x078000, 0x20, 0x80, 0x8086, 0xa0e0, 0xf111, 0x0001, INTEL,
     "Tiger Lake-LP Management Engine Interface", None),
    ("pci0:0:28:0", 0x060400, 0x20, 0x81, 0x8086, 0xa0b8, 0x0000, 0x0000, INTEL,
     "Tiger Lake-LP PCI Express Root Port #5", "pcib"),
    ("pci0:0:29:0", 0x060400, 0x20, 0x81, 0x8086, 0xa0b0, 0x0000, 0x0000, INTEL,
     "Tiger Lake-LP PCI Express Root Port #9", "pcib"),
    ("pci0:0:31:0", 0x060100, 0x20, 0x80, 0x8086, 0xa082, 0xf111, 0x0001, INTEL,
     "Tiger Lake-LP LPC Controller", "isab"),
    ("pci0:0:31:3", 0x040380, 0x20, 0x00, 0x8086, 0xa0c8, 0xf111, 0x0001, INTEL,
     "Tiger Lake-LP Smart Sound Technology Audio Controller", "hdac"),
    ("pci0:0:31:4", 0x0c0500, 0x20, 0x00, 0x8086, 0xa0a3, 0xf111, 0x0001, INTEL,
     "Tiger Lake-LP SMBus Controller", "ichsmb"),
    ("pci0:170:0:0", 0x028000, 0x1a, 0x00, 0x8086, 0x2725, 0x8086, 0x0024, INTEL,
     "Wi-Fi 6E(802.11ax) AX210/AX1675* 2x2 [Typhoon Peak]", "iwlwifi"),
    ("pci0:171:0:0", 0x010802, 0x00, 0x00, 0x144d, 0xa80a, 0x144d, 0xa801,
     "Samsung Electronics Co Ltd", "NVMe SSD Controller PM9A1/PM9A3/980PRO", "nvme"),
]

AMD = "Advanced Micro Devices, Inc. [AMD]"
_THINKPAD_AMD = [
    ("pci0:0:0:0", 0x060000, 0x00, 0x00, 0x1022, 0x1630, 0x17aa, 0x5097, AMD,
     "Renoir/Cezanne Root Complex", "hostb"),
    ("pci0:0:0:2", 0x080600, 0x00, 0x00, 0x1022, 0x1631, 0x17aa, 0x5097, AMD,
     "Renoir/Cezanne IOMMU", None),
    ("pci0:0:1:0", 0x060000, 0x00, 0x00, 0x1022, 0x1632, 0x0000, 0x0000, AMD,
     "Renoir PCIe Dummy Host Bridge", "hostb"),
    ("pci0:0:2:2", 0x060400, 0x00, 0x01, 0x1022, 0x1634, 0x17aa, 0x5097, AMD,
     "Renoir/Cezanne PCIe GPP Bridge", "pcib"),
    ("pci0:0:2:4", 0x060400, 0x00, 0x01, 0x1022, 0x1634, 0x17aa, 0x5097, AMD,
     "Renoir/Cezanne PCIe GPP Bridge", "pcib"),
    ("pci0:0:8:1", 0x060400, 0x00, 0x01, 0x1022, 0x1635, 0x0000, 0x0000, AMD,
     "Renoir Internal PCIe GPP Bridge to Bus", "pcib"),
    ("pci0:0:20:0", 0x0c0500, 0x51, 0x80, 0x1022, 0x790b, 0x17aa, 0x5097, AMD,
     "FCH SMBus Controller", "intsmb"),
    ("pci0:0:20:3", 0x060100, 0x51, 0x80, 0x1022, 0x790e, 0x17aa, 0x5097, AMD,
     "FCH LPC Bridge", "isab"),
    ("pci0:1:0:0", 0x020000, 0x0e, 0x00, 0x10ec, 0x8168, 0x17aa, 0x5097,
     "Realtek Semiconductor Co., Ltd.",
     "RTL8111/8168/8211/8411 PCI Express Gigabit Ethernet Controller", "re"),
    ("pci0:2:0:0", 0x028000, 0x00, 0x00, 0x10ec, 0xb852, 0x17aa, 0x4853,
     "Realtek Semiconductor Co., Ltd.", "RTL8852BE PCIe 802.11ax Wireless Network Controller",
     "rtw89"),
    ("pci0:3:0:0", 0x010802, 0x00, 0x00, 0x144d, 0xa80a, 0x144d, 0xa801,
     "Samsung Electronics Co Ltd", "NVMe SSD Controller PM9A1/PM9A3/980PRO", "nvme"),
    ("pci0:4:0:0", 0x030000, 0xc2, 0x00, 0x1002, 0x15e7, 0x17aa, 0x5097, AMD,
     "Barcelo", "vgapci"),
    ("pci0:4:0:1", 0x040300, 0x00, 0x00, 0x1002, 0x1637, 0x17aa, 0x5097, AMD,
     "Renoir Radeon High Definition Audio Controller", "hdac"),
    ("pci0:4:0:3", 0x0c0330, 0x00, 0x00, 0x1022, 0x1639, 0x17aa, 0x5097, AMD,
     "Renoir/Cezanne USB 3.1", "xhci"),
]

_MACBOOK = [
    ("pci0:0:0:0", 0x060000, 0x09, 0x00, 0x8086, 0x1604, 0x106b, 0x013f, INTEL,
     "Broadwell-U Host Bridge -OPI", "hostb"),
    ("pci0:0:2:0", 0x030000, 0x09, 0x00, 0x8086, 0x162b, 0x106b, 0x013f, INTEL,
     "Iris Graphics 6100", "vgapci"),
    ("pci0:0:3:0", 0x040300, 0x09, 0x00, 0x8086, 0x160c, 0x106b, 0x013f, INTEL,
     "Broadwell-U Audio Controller", "hdac"),
    ("pci0:0:20:0", 0x0c0330, 0x03, 0x00, 0x8086, 0x9cb1, 0x8086, 0x7270, INTEL,
     "Wildcat Point-LP USB xHCI Controller", "xhci"),
    ("pci0:0:22:0", 0x078000, 0x03, 0x80, 0x8086, 0x9cba, 0x8086, 0x7270, INTEL,
     "Wildcat Point-LP MEI Controller #1", None),
    ("pci0:0:27:0", 0x040300, 0x03, 0x00, 0x8086, 0x9ca0, 0x8086, 0x7270, INTEL,
     "Wildcat Point-LP High Definition Audio Controller", "hdac"),
    ("pci0:0:28:0", 0x060400, 0xe3, 0x81, 0x8086, 0x9c90, 0x0000, 0x0000, INTEL,
     "Wildcat Point-LP PCI Express Root Port #1", "pcib"),
    ("pci0:0:28:1", 0x060400, 0xe3, 0x81, 0x8086, 0x9c92, 0x0000, 0x0000, INTEL,
     "Wildcat Point-LP PCI Express Root Port #2", "pcib"),
    ("pci0:0:31:0", 0x060100, 0x03, 0x80, 0x8086, 0x9cc3, 0x8086, 0x7270, INTEL,
     "Wildcat Point-LP LPC Controller", "isab"),
    ("pci0:0:31:3", 0x0c0500, 0x03, 0x00, 0x8086, 0x9ca2, 0x8086, 0x7270, INTEL,
     "Wildcat Point-LP SMBus Controller", "ichsmb"),
    ("pci0:2:0:0", 0x010802, 0x01, 0x00, 0x144d, 0xa801, 0x106b, 0x0000,
     "Samsung Electronics Co Ltd", "S4LN058A01[SSUBX] AHCI SSD Controller (Apple slot)", "nvme"),
    ("pci0:3:0:0", 0x028000, 0x05, 0x00, 0x14e4, 0x43a3, 0x106b, 0x0133,
     "Broadcom Inc. and subsidiaries", "BCM4350 802.11ac Wireless Network Adapter", None),
]

_LATITUDE_NOIOMMU = [
    ("pci0:0:0:0", 0x060000, 0x09, 0x00, 0x8086, 0x1604, 0x1028, 0x062d, INTEL,
     "Broadwell-U Host Bridge -OPI", "hostb"),
    ("pci0:0:2:0", 0x030000, 0x09, 0x00, 0x8086, 0x1616, 0x1028, 0x062d, INTEL,
     "HD Graphics 5500", "vgapci"),
    ("pci0:0:3:0", 0x040300, 0x09, 0x00, 0x8086, 0x160c, 0x1028, 0x062d, INTEL,
     "Broadwell-U Audio Controller", "hdac"),
    ("pci0:0:20:0", 0x0c0330, 0x03, 0x00, 0x8086, 0x9cb1, 0x1028, 0x062d, INTEL,
     "Wildcat Point-LP USB xHCI Controller", "xhci"),
    ("pci0:0:22:0", 0x078000, 0x03, 0x80, 0x8086, 0x9cba, 0x1028, 0x062d, INTEL,
     "Wildcat Point-LP MEI Controller #1", None),
    ("pci0:0:25:0", 0x020000, 0x03, 0x00, 0x8086, 0x15a2, 0x1028, 0x062d, INTEL,
     "Ethernet Connection (3) I218-LM", "em"),
    ("pci0:0:28:0", 0x060400, 0xe3, 0x81, 0x8086, 0x9c90, 0x0000, 0x0000, INTEL,
     "Wildcat Point-LP PCI Express Root Port #1", "pcib"),
    ("pci0:0:28:3", 0x060400, 0xe3, 0x81, 0x8086, 0x9c96, 0x0000, 0x0000, INTEL,
     "Wildcat Point-LP PCI Express Root Port #4", "pcib"),
    ("pci0:0:31:0", 0x060100, 0x03, 0x80, 0x8086, 0x9cc3, 0x1028, 0x062d, INTEL,
     "Wildcat Point-LP LPC Controller", "isab"),
    ("pci0:0:31:2", 0x010601, 0x03, 0x00, 0x8086, 0x9c83, 0x1028, 0x062d, INTEL,
     "Wildcat Point-LP SATA Controller [AHCI Mode]", "ahci"),
    ("pci0:0:31:3", 0x0c0500, 0x03, 0x00, 0x8086, 0x9ca2, 0x1028, 0x062d, INTEL,
     "Wildcat Point-LP SMBus Controller", "ichsmb"),
    ("pci0:2:0:0", 0x028000, 0x59, 0x00, 0x8086, 0x095a, 0x8086, 0x5010, INTEL,
     "Wireless 7265", "iwm"),
]

# name -> facts. `iommu`: "vt-d", "amd-vi" or None; `mgmt_if`: FreeBSD name of the lab's wired
# link (the veth the controller reaches the laptop on).
PROFILES = {
    "thinkpad-t480": dict(smbios=('LENOVO', '20L5CTO1WW', 'ThinkPad T480', 'N24ET76W (1.51 )'),
        cpuid='0x806ea',
        devices=_T480, cpu="Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz",
                          vendor="GenuineIntel", iommu="vt-d", release="14.1", mgmt_if="em0",
                          ncpu=8, physmem=16 << 30, wifi="pci0:3:0:0"),
    "thinkpad-x220": dict(smbios=('LENOVO', '4291W1B', 'ThinkPad X220', '8DET76WW (1.46 )'),
        cpuid='0x206a7',
        devices=_X220, cpu="Intel(R) Core(TM) i5-2520M CPU @ 2.50GHz",
                          vendor="GenuineIntel", iommu="vt-d", release="13.2", mgmt_if="em0",
                          ncpu=4, physmem=8 << 30, wifi="pci0:3:0:0"),
    "framework-ax210": dict(smbios=('Framework', 'Laptop', 'A4', '03.19'),
        cpuid='0x806c1',
        devices=_FRAMEWORK_AX210,
                            cpu="11th Gen Intel(R) Core(TM) i7-1165G7 @ 2.80GHz",
                            vendor="GenuineIntel", iommu="vt-d", release="14.2", mgmt_if="ue0",
                            ncpu=8, physmem=32 << 30, wifi="pci0:170:0:0"),
    "thinkpad-e14-amd": dict(smbios=('LENOVO', '21EB0041GE', 'ThinkPad E14 Gen 4',
                                     'R1YET61W(1.30 )'),
        cpuid='0xa50f00',
        devices=_THINKPAD_AMD, cpu="AMD Ryzen 7 5825U with Radeon Graphics",
                             vendor="AuthenticAMD", iommu="amd-vi", release="14.1",
                             mgmt_if="re0", ncpu=16, physmem=16 << 30, wifi="pci0:2:0:0"),
    "macbookpro-2015": dict(smbios=('Apple Inc.', 'MacBookPro12,1', '1.0', '476.0.0.0.0'),
        cpuid='0x306d4',
        devices=_MACBOOK, cpu="Intel(R) Core(TM) i5-5257U CPU @ 2.70GHz",
                            vendor="GenuineIntel", iommu="vt-d", release="14.1", mgmt_if="ue0",
                            ncpu=4, physmem=8 << 30, wifi="pci0:3:0:0", guest_msi=False),
    "latitude-e7450-noiommu": dict(smbios=('Dell Inc.', 'Latitude E7450', '', 'A19'),
        cpuid='0x306d4',
        devices=_LATITUDE_NOIOMMU,
                                   cpu="Intel(R) Core(TM) i5-5300U CPU @ 2.30GHz",
                                   vendor="GenuineIntel", iommu=None, release="15.0",
                                   mgmt_if="em0", ncpu=4, physmem=8 << 30, wifi="pci0:2:0:0"),
}


def names():
    """Every profile name, including the `-13`/`-14`/`-15` release variants."""
    out = list(PROFILES)
    for base in PROFILES:
        out += ["%s-%s" % (base, v) for v in ("13", "14", "15")]
    return out


_VARIANT = {"13": "13.4", "14": "14.2", "15": "15.0"}


def load(name):
    """Profile facts as plain data (for the laptop's state file)."""
    base, release = name, None
    for suffix, rel in _VARIANT.items():
        if name.endswith("-" + suffix) and name[:-len(suffix) - 1] in PROFILES:
            base, release = name[:-len(suffix) - 1], rel
    if base not in PROFILES:
        raise KeyError("unknown profile %r (known: %s)" % (name, ", ".join(names())))
    p = dict(PROFILES[base])
    release = release or p["release"]
    kernel, userland, osreldate = VERSIONS[release]
    devices = []
    for row in p.pop("devices"):
        sel, cls, rev, hdr, ven, dev, sven, sdev, vname, dname, native = row
        devices.append(dict(bsf4=[int(x) for x in sel[3:].split(":")], **{"class": cls},
                            rev=rev, hdr=hdr, vendor=ven, device=dev, subvendor=sven,
                            subdevice=sdev, vendor_name=vname, device_name=dname,
                            native=native))
    p.update(profile=name, devices=devices, release=release, kernel=kernel,
             userland=userland, osreldate=osreldate)
    p.setdefault("guest_msi", True)
    return p
