"""bhyve/bhyvectl/grub-bhyve argument and device checks (FREEBSD.md section 6).

Only the failing paths run in-process (a successful bhyve stays in the foreground); the
lab tests run a real one under daemon(8).
"""
import os

LINE = ["-c", "1", "-m", "128M", "-A", "-H", "-P", "-S", "-u", "-w", "-s", "0,hostbridge",
        "-s", "31,lpc", "-l", "com1,/dev/nmdm0A", "-s", "6,passthru,3/0/0"]
INIT = "Device emulation initialization error: %s\n"


def _ppt_ready(sim, extra=""):
    sim.file("/boot/loader.conf", 'vmm_load="YES"\nnmdm_load="YES"\npptdevs="3/0/0"\n' + extra)
    sim.power_on()


def test_no_bootrom_and_no_loader(sim):
    _ppt_ready(sim)
    assert sim.run("bhyve", *LINE, "vm1") == (4, "", "virtual machine cannot be booted\n")


def test_passthru_needs_wired_memory(sim):
    _ppt_ready(sim)
    sim.run("grub-bhyve", "-M", "128M", "vm1")
    line = [a for a in LINE if a != "-S"]
    assert sim.run("bhyve", *line, "vm1") == (
        4, "", "bhyve: passthru requires guest memory to be wired\n" + INIT % "Invalid argument")


def test_passthru_needs_ppt(sim):
    sim.file("/boot/loader.conf", 'nmdm_load="YES"\n')
    sim.power_on()
    assert sim.run("grub-bhyve", "-S", "-M", "128M", "vm1")[0] == 0  # autoloads vmm
    rc, out, err = sim.run("bhyve", *LINE, "vm1")
    assert (rc, err) == (4, "bhyve: PCI device at 3/0/0 is not using the ppt(4) driver\n"
                         + INIT % "Device not configured")


def test_passthru_needs_an_iommu(make_sim):
    lp = make_sim("latitude-e7450-noiommu")
    lp.file("/boot/loader.conf", 'vmm_load="YES"\nnmdm_load="YES"\npptdevs="2/0/0"\n')
    lp.power_on()
    assert lp.run("pciconf", "-l", "pci0:2:0:0")[1].startswith("ppt0@")
    lp.run("grub-bhyve", "-S", "-M", "128M", "vm1")
    line = [a.replace("3/0/0", "2/0/0") for a in LINE]
    assert lp.run("bhyve", *line, "vm1")[2].startswith(
        "bhyve: PCI device at 2/0/0 is not using the ppt(4) driver\n")


def test_amd_needs_amdvi_enable(make_sim):
    amd = make_sim("thinkpad-e14-amd")
    base = 'vmm_load="YES"\nnmdm_load="YES"\npptdevs="2/0/0"\n'
    line = [a.replace("3/0/0", "2/0/0") for a in LINE]
    for extra, ok in (("", False), ('hw.vmm.amdvi.enable="1"\n', True)):
        amd.file("/boot/loader.conf", base + extra)
        amd.power_on()
        amd.run("grub-bhyve", "-S", "-M", "128M", "vm1")
        err = amd.run("bhyve", *line, "-s", "9,nonsense", "vm1")[2]
        assert ("not using the ppt(4) driver" in err) != ok, err


def test_nmdm_backend_needs_nmdm(sim):
    sim.file("/boot/loader.conf", 'vmm_load="YES"\npptdevs="3/0/0"\n')
    sim.power_on()
    sim.run("grub-bhyve", "-S", "-M", "128M", "vm1")
    assert sim.run("bhyve", *LINE, "vm1") == (
        4, "", "bhyve: Unable to initialize backend '/dev/nmdm0A' for LPC device com1\n"
        + INIT % "No such file or directory")


def test_memory_must_fit(sim):
    _ppt_ready(sim)
    line = ["-m", "64G", "-S", "-l", "bootrom,/usr/local/share/uefi-firmware/BHYVE_UEFI.fd"]
    assert sim.run("bhyve", *line, "big") == (4, "", "bhyve: Unable to setup memory (12)\n")


def test_loader_and_bhyve_must_agree_on_memory(sim):
    _ppt_ready(sim)
    sim.run("grub-bhyve", "-S", "-M", "256M", "vm1")
    assert sim.run("bhyve", *LINE, "vm1") == (4, "", "bhyve: Unable to setup memory (22)\n")


def test_usage_and_bad_slot(sim):
    rc, _, err = sim.run("bhyve", "-S")
    assert rc == 1 and err.startswith("Usage: bhyve")
    assert sim.run("bhyve", "-s", "40,hostbridge", "x") == (
        4, "", 'bhyve: Invalid PCI slot info field "40,hostbridge"\n')
    assert sim.run("bhyve", "-m", "lots", "x") == (4, "", "bhyve: Invalid memsize 'lots'\n")


def test_vm_node_lifetime_and_bhyvectl(sim):
    assert sim.run("bhyvectl", "--vm=vm1", "--destroy") == (
        1, "", "vm_open: vm1 could not be opened: No such file or directory\n")
    sim.run("grub-bhyve", "-S", "-M", "128M", "vm1")
    node = os.path.join(sim.root, "dev/vmm/vm1")
    assert os.path.exists(node)
    assert sim.run("kldstat", "-q", "-n", "vmm")[0] == 0  # vm_create loaded vmm.ko
    assert sim.run("bhyvectl", "--vm=vm1", "--destroy") == (0, "", "")
    assert not os.path.exists(node)


def test_grub_bhyve_device_map(sim):
    sim.file("/tmp/device.map", "(hd0) /tmp/missing.img\n")
    assert sim.run("grub-bhyve", "-m", "/tmp/device.map", "-r", "hd0,msdos1", "-M", "128M",
                   "vm1") == (1, "", "grub-bhyve: cannot open `/tmp/missing.img': No such file "
                              "or directory\n")


def test_pkg_installs_grub_bhyve(sim):
    assert sim.run("pkg", "info", "-e", "grub2-bhyve")[0] == 1
    rc, out, _ = sim.run("pkg", "install", "-y", "grub2-bhyve")
    assert rc == 0 and "Installing grub2-bhyve-0.40_11..." in out
    assert os.access(os.path.join(sim.root, "usr/local/sbin/grub-bhyve"), os.X_OK)
    assert sim.run("pkg", "info", "-e", "grub2-bhyve")[0] == 0
    assert sim.run("pkg", "install", "-y", "nope")[2] == (
        "pkg: No packages available to install matching 'nope' have been found in the "
        "repositories\n")
    assert sim.run("pkg", "delete", "-y", "grub2-bhyve")[0] == 0
    assert not os.path.exists(os.path.join(sim.root, "usr/local/sbin/grub-bhyve"))


def test_s_help_lists_the_emulations(sim):
    # bhyve 13+: `-s help` prints the PCI emulations one a line and exits 0
    rc, out, err = sim.run("bhyve", "-s", "help")
    assert rc == 0 and err == "" and "virtio-9p" in out.split("\n") and "passthru" in out.split("\n")
    rc, out, _ = sim.run("bhyve", "-l", "help")
    assert rc == 0 and "bootrom" in out.split("\n") and "com1" in out.split("\n")


def test_iommu_is_initialized_by_the_first_passthru_assignment(sim):
    """iommu.c/vmm.c: hw.vmm.iommu.initialized is 0 while ppt merely holds the card; the first
    vm_assign_pptdev() runs iommu_init(), once per load of vmm.ko."""
    _ppt_ready(sim)
    assert sim.run("pciconf", "-l", "pci0:3:0:0")[1].startswith("ppt0@")
    assert sim.run("sysctl", "-n", "hw.vmm.iommu.initialized") == (0, "0\n", "")
    sim.run("grub-bhyve", "-S", "-M", "128M", "vm1")
    assert sim.run("sysctl", "-n", "hw.vmm.iommu.initialized") == (0, "0\n", "")
    err = sim.run("bhyve", *LINE, "-s", "9,nonsense", "vm1")[2]
    assert "not using the ppt(4) driver" not in err, err
    assert sim.run("sysctl", "-n", "hw.vmm.iommu.initialized") == (0, "1\n", "")
    sim.run("bhyvectl", "--vm=vm1", "--destroy")
    assert sim.run("sysctl", "-n", "hw.vmm.iommu.initialized") == (0, "1\n", "")  # stays
    assert sim.run("kldunload", "vmm")[0] == 0
    assert sim.run("kldload", "vmm")[0] == 0
    assert sim.run("sysctl", "-n", "hw.vmm.iommu.initialized") == (0, "0\n", "")


def test_iommu_stays_uninitialized_without_amdvi(make_sim):
    amd = make_sim("thinkpad-e14-amd")
    amd.file("/boot/loader.conf", 'vmm_load="YES"\nnmdm_load="YES"\npptdevs="2/0/0"\n')
    amd.power_on()
    amd.run("grub-bhyve", "-S", "-M", "128M", "vm1")
    line = [a.replace("3/0/0", "2/0/0") for a in LINE]
    assert "not using the ppt(4) driver" in amd.run("bhyve", *line, "vm1")[2]
    assert amd.run("sysctl", "-n", "hw.vmm.iommu.initialized") == (0, "0\n", "")


def test_pkg_delete_removes_unchanged_sample_configs_and_keeps_edited_ones(sim):
    # pkg-create(8) @sample: X is copied from X.sample at install when absent; at deinstall X
    # goes with X.sample only while it is still the same as X.sample
    assert sim.run("pkg", "install", "-y", "wifibox-core")[0] == 0
    etc = os.path.join(sim.root, "usr/local/etc/wifibox")
    assert os.path.isfile(os.path.join(etc, "bhyve.conf")) and os.path.isfile(os.path.join(etc, "core.conf"))
    with open(os.path.join(etc, "core.conf"), "a") as f:
        f.write("# the user's edit\n")
    assert sim.run("pkg", "delete", "-y", "wifibox-core")[0] == 0
    assert sorted(os.listdir(etc)) == ["core.conf"]
