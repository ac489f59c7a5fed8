"""pciconf(8) against FREEBSD.md section 1."""

T480_IWM = ("iwm0@pci0:3:0:0:\tclass=0x028000 rev=0x78 hdr=0x00 vendor=0x8086 device=0x24fd "
            "subvendor=0x8086 subdevice=0x0010")


def test_list_line_format_has_one_tab_after_selector(sim):
    sim.run("kldload", "if_iwm")  # what rc.d/devmatch does at boot
    rc, out, err = sim.run("pciconf", "-l")
    assert rc == 0 and err == ""
    assert T480_IWM in out.splitlines()
    for line in out.splitlines():
        name_sel, rest = line.split("\t")
        assert name_sel.endswith(":") and "@pci0:" in name_sel
        assert rest.startswith("class=0x") and "  " not in rest


def test_verbose_block_matches_documented_excerpt(sim):
    rc, out, _ = sim.run("pciconf", "-lv")
    assert ("hostb0@pci0:0:0:0:\tclass=0x060000 rev=0x08 hdr=0x00 vendor=0x8086 device=0x5914 "
            "subvendor=0x17aa subdevice=0x225d\n"
            "    vendor     = 'Intel Corporation'\n"
            "    device     = 'Xeon E3-1200 v6/7th Gen Core Processor Host Bridge/DRAM Registers'\n"
            "    class      = bridge\n"
            "    subclass   = HOST-PCI\n") in out
    assert ("pcib2@pci0:0:28:6:\tclass=0x060400 rev=0xf1 hdr=0x01 vendor=0x8086 device=0x9d16 "
            "subvendor=0x17aa subdevice=0x225d\n"
            "    vendor     = 'Intel Corporation'\n"
            "    device     = 'Sunrise Point-LP PCI Express Root Port #7'\n"
            "    class      = bridge\n"
            "    subclass   = PCI-PCI\n") in out


def test_wifi_card_prints_network_class_and_no_subclass(sim):
    sim.run("kldload", "if_iwm")
    rc, out, _ = sim.run("pciconf", "-lv", "pci0:3:0:0")
    assert out == (T480_IWM + "\n    vendor     = 'Intel Corporation'\n"
                   "    device     = 'Wireless 8265 / 8275'\n    class      = network\n")


def test_none_counter_counts_unattached_rows_in_order(sim):
    rc, out, _ = sim.run("pciconf", "-l")
    nones = [l.split("@")[0] for l in out.splitlines() if l.startswith("none")]
    assert nones == ["none%d" % i for i in range(len(nones))]
    # the card is unattached until devmatch loads if_iwm: its none number depends on the rows
    card = [l for l in out.splitlines() if "@pci0:3:0:0:" in l][0]
    assert card.startswith("none%d@" % (len(nones) - 1))


def test_device_argument_forms(sim):
    sim.run("kldload", "if_iwm")
    for arg in ("iwm0", "pci0:3:0:0", "pci3:0:0", "pci3:0", "iwm0@pci0:3:0:0:", "pci0:3:0:0:"):
        rc, out, err = sim.run("pciconf", "-l", arg)
        assert (rc, out, err) == (0, T480_IWM + "\n", ""), arg


def test_attached_query(sim):
    sim.run("kldload", "if_iwm")
    assert sim.run("pciconf", "-a", "pci0:3:0:0") == (0, "pci0:3:0:0: attached\n", "")
    sim.run("kldunload", "if_iwm")
    assert sim.run("pciconf", "-a", "pci0:3:0:0") == (2, "pci0:3:0:0: not attached\n", "")


def test_errors(sim):
    assert sim.run("pciconf", "-l", "pci0:x") == (1, "", "pciconf: cannot parse selector pci0:x\n")
    assert sim.run("pciconf", "-l", "iwm7") == (1, "", "pciconf: Device not found\n")
    assert sim.run("pciconf", "-l", "pci9:9:9") == (1, "", "pciconf: Device not found\n")
    assert sim.run("pciconf", "-l", "0bad") == (1, "", "pciconf: Invalid device name\n")


def test_ppt_after_boot_with_pptdevs_and_vmm_load(sim):
    sim.file("/boot/loader.conf", 'vmm_load="YES"\npptdevs="3/0/0"\n')
    sim.power_on()
    rc, out, _ = sim.run("pciconf", "-l", "pci0:3:0:0")
    assert out == T480_IWM.replace("iwm0@", "ppt0@") + "\n"
    assert sim.run("sysctl", "-n", "hw.vmm.ppt.devices") == (0, "1\n", "")
    assert sim.run("kenv", "pptdevs") == (0, "3/0/0\n", "")


def test_pptdevs_without_vmm_load_leaves_card_to_native_driver(sim):
    sim.file("/boot/loader.conf", 'pptdevs="3/0/0"\n')
    sim.power_on()
    assert sim.run("pciconf", "-l", "pci0:3:0:0")[1].startswith("none")
    # rc.d/devmatch then loads the native module
    assert sim.run("devmatch")[1].split().count("if_iwm.ko") == 1
    sim.run("kldload", "-n", "if_iwm")
    assert sim.run("pciconf", "-l", "pci0:3:0:0")[1].startswith("iwm0@")
    assert sim.run("sysctl", "-q", "hw.vmm.ppt.devices")[0] == 1


def test_generic_driver_keeps_card_unless_vmm_comes_from_loader(make_sim):
    x220 = make_sim("thinkpad-x220")
    x220.file("/boot/loader.conf", 'pptdevs="3/0/0"\n')
    x220.power_on()
    assert x220.run("pciconf", "-l", "pci0:3:0:0")[1].startswith("iwn0@")
    x220.run("kldload", "vmm")  # like kld_list="vmm": too late, iwn (GENERIC) holds the card
    assert x220.run("pciconf", "-l", "pci0:3:0:0")[1].startswith("iwn0@")
    x220.file("/boot/loader.conf", 'pptdevs="3/0/0"\nvmm_load="YES"\n')
    x220.power_on()
    assert x220.run("pciconf", "-l", "pci0:3:0:0")[1].startswith("ppt0@")


def test_vmm_loaded_later_grabs_still_unattached_listed_device(sim):
    sim.file("/boot/loader.conf", 'pptdevs="3/0/0"\n')
    sim.power_on()
    sim.run("kldload", "vmm")
    assert sim.run("pciconf", "-l", "pci0:3:0:0")[1].startswith("ppt0@")


def test_broadcom_macbook_has_no_native_driver(make_sim):
    mac = make_sim("macbookpro-2015")
    assert mac.run("devmatch")[1] == ""
    line = mac.run("pciconf", "-lv", "pci0:3:0:0")[1]
    assert line.startswith("none") and "BCM4350 802.11ac" in line


def test_every_profile_lists_a_wifi_card_with_network_class(make_sim):
    from wifibox_lab import profiles
    for name in profiles.names():
        lp = make_sim(name)
        wifi = profiles.load(name)["wifi"]
        rc, out, _ = lp.run("pciconf", "-lv", wifi)
        assert rc == 0 and "class=0x028000" in out and "    class      = network" in out, name
        assert "subclass" not in out, name


def test_double_l_table_header_on_14(sim, make_sim):
    out = sim.run("pciconf", "-ll")[1].splitlines()
    assert out[0] == "drv\tselector\tclass    rev  hdr  vendor device subven subdev"
    assert out[1].startswith("hostb0\tpci0:0:0:0\t0x060000 ")
    # 13.x has no -ll table
    assert make_sim("thinkpad-x220").run("pciconf", "-ll")[1].startswith("hostb0@pci0:0:0:0:\t")
