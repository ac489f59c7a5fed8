"""sysctl, kenv, uname, freebsd-version against FREEBSD.md sections 7 and 10."""


def test_vmm_oids_only_while_vmm_loaded(sim):
    assert sim.run("sysctl", "hw.vmm.ppt.devices") == (
        1, "", "sysctl: unknown oid 'hw.vmm.ppt.devices'\n")
    assert sim.run("sysctl", "-q", "hw.vmm.ppt.devices") == (1, "", "")
    sim.run("kldload", "vmm")
    assert sim.run("sysctl", "hw.vmm.ppt.devices") == (0, "hw.vmm.ppt.devices: 0\n", "")
    assert sim.run("sysctl", "-n", "hw.vmm.iommu.enable") == (0, "1\n", "")
    assert sim.run("sysctl", "-n", "hw.vmm.vmx.initialized") == (0, "1\n", "")


def test_read_only_tunable(sim):
    sim.run("kldload", "vmm")
    assert sim.run("sysctl", "hw.vmm.amdvi.enable=1") == (
        1, "", "sysctl: oid 'hw.vmm.amdvi.enable' is a read only tunable\n"
        "sysctl: Tunable values are set in /boot/loader.conf\n")
    assert sim.run("sysctl", "hw.model=x")[2] == "sysctl: oid 'hw.model' is read only\n"


def test_set_format(sim):
    assert sim.run("sysctl", "net.link.tap.up_on_open=1") == (
        0, "net.link.tap.up_on_open: 0 -> 1\n", "")
    assert sim.run("sysctl", "-n", "net.link.tap.up_on_open") == (0, "1\n", "")


def test_cpu_and_release(sim):
    assert sim.run("sysctl", "hw.model") == (
        0, "hw.model: Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz\n", "")
    assert sim.run("sysctl", "-n", "kern.osreldate") == (0, "1401000\n", "")
    assert sim.run("freebsd-version") == (0, "14.1-RELEASE-p6\n", "")
    assert sim.run("freebsd-version", "-kru") == (
        0, "14.1-RELEASE-p5\n14.1-RELEASE-p5\n14.1-RELEASE-p6\n", "")
    assert sim.run("uname", "-r") == (0, "14.1-RELEASE-p5\n", "")
    assert sim.run("uname", "-m") == (0, "amd64\n", "")
    assert sim.run("uname") == (0, "FreeBSD\n", "")


def test_amd_cpu_and_amdvi(make_sim):
    amd = make_sim("thinkpad-e14-amd")
    assert amd.run("sysctl", "-n", "hw.model")[1] == "AMD Ryzen 7 5825U with Radeon Graphics\n"
    amd.file("/boot/loader.conf", 'vmm_load="YES"\npptdevs="2/0/0"\n')
    amd.power_on()
    assert amd.run("sysctl", "-n", "hw.vmm.amdvi.enable")[1] == "0\n"
    amd.file("/boot/loader.conf", 'vmm_load="YES"\npptdevs="2/0/0"\nhw.vmm.amdvi.enable="1"\n')
    amd.power_on()
    assert amd.run("sysctl", "-n", "hw.vmm.amdvi.enable")[1] == "1\n"


def test_version_variants(make_sim):
    assert make_sim("thinkpad-t480-13").run("uname", "-r")[1].startswith("13.")
    assert make_sim("thinkpad-t480-15").run("freebsd-version")[1] == "15.0-RELEASE\n"


def test_kenv(sim):
    sim.file("/boot/loader.conf", 'pptdevs="3/0/0"\n')
    sim.power_on()
    assert sim.run("kenv", "pptdevs") == (0, "3/0/0\n", "")
    # kenv.c returns the -1 of kenv(2) from main(): exit status 255
    assert sim.run("kenv", "pptdevs2") == (255, "", "kenv: unable to get pptdevs2\n")
    assert sim.run("kenv", "-q", "pptdevs2") == (255, "", "")
    assert sim.run("kenv", "-v", "pptdevs") == (0, 'pptdevs="3/0/0"\n', "")
    assert 'pptdevs="3/0/0"\n' in sim.run("kenv")[1]


def test_kenv_set_refuses_values_over_128_bytes(sim):
    """kenv(2) KENV_SET copies at most KENV_MVALLEN + 1 bytes: longer fails, nothing is cut."""
    assert sim.run("kenv", "x=" + "a" * 128) == (0, 'x="%s"\n' % ("a" * 128), "")
    assert sim.run("kenv", "x=" + "b" * 129) == (
        255, "", "kenv: unable to set x to %s\n" % ("b" * 129))
    assert sim.run("kenv", "x")[1] == "a" * 128 + "\n"


def test_vm_page_queues(sim):
    """host_facts reads vm.stats.vm.v_inactive_count; FreeBSD always has it (vm_meter.c)."""
    names = ("v_free_count", "v_inactive_count", "v_active_count", "v_laundry_count", "v_wire_count")
    counts = [int(sim.run("sysctl", "-n", "vm.stats.vm." + n)[1]) for n in names]
    assert all(c >= 0 for c in counts) and counts[1] > 0
    assert sum(counts) == int(sim.run("sysctl", "-n", "vm.stats.vm.v_page_count")[1])
