"""kenv set/unset, devctl, dmesg, service listing (in-process)."""
import os


def test_kenv_set_and_unset(sim):
    assert sim.run("kenv", "foo=bar") == (0, 'foo="bar"\n', "")
    assert sim.run("kenv", "foo") == (0, "bar\n", "")
    assert sim.run("kenv", "-u", "foo") == (0, "", "")
    assert sim.run("kenv", "-u", "foo") == (255, "", "kenv: unable to unset foo\n")


def test_smbios_in_kenv(sim):
    assert sim.run("kenv", "smbios.system.version") == (0, "ThinkPad T480\n", "")


def test_devctl_set_and_clear_driver(sim):
    sim.run("kldload", "if_iwm")
    # subr_bus.c DEV_SET_DRIVER: no loaded module offers ppt before vmm.ko: ENOENT, and the
    # card stays with iwm (checked before the busy test, -f or not)
    for force in ([], ["-f"]):
        assert sim.run("devctl", "set", "driver", *force, "pci0:3:0:0", "ppt") == (
            1, "", "devctl: Failed to set pci0:3:0:0 driver to ppt: No such file or directory\n")
        assert sim.run("pciconf", "-l", "pci0:3:0:0")[1].startswith("iwm0@")
    sim.run("kldload", "vmm")  # ppt lives in vmm.ko
    assert sim.run("pciconf", "-l", "pci0:3:0:0")[1].startswith("iwm0@")
    assert sim.run("devctl", "set", "driver", "pci0:3:0:0", "iwm") == (0, "", "")  # same driver
    assert sim.run("devctl", "clear", "driver", "pci0:3:0:0") == (0, "", "")  # nothing fixed
    assert sim.run("devctl", "set", "driver", "pci0:3:0:0", "ppt") == (
        1, "", "devctl: Failed to set pci0:3:0:0 driver to ppt: Device busy\n")
    assert sim.run("devctl", "set", "driver", "-f", "pci0:3:0:0", "ppt") == (0, "", "")
    assert sim.run("pciconf", "-l", "pci0:3:0:0")[1].startswith("ppt0@")
    assert sim.run("devctl", "clear", "driver", "pci0:3:0:0") == (
        1, "", "devctl: Failed to clear pci0:3:0:0 driver: Device busy\n")
    assert sim.run("devctl", "clear", "driver", "-f", "pci0:3:0:0") == (0, "", "")
    assert sim.run("pciconf", "-l", "pci0:3:0:0")[1].startswith("iwm0@")
    assert sim.run("devctl", "set", "driver", "-f", "pci0:3:0:0", "ppt") == (0, "", "")
    assert sim.run("pciconf", "-l", "pci0:3:0:0")[1].startswith("ppt0@")
    assert sim.run("devctl", "set", "driver", "pci9:0:0", "ppt")[2] == (
        "devctl: Failed to set pci9:0:0 driver to ppt: No such file or directory\n")


def test_devctl_forced_ppt_does_not_survive_reboot(sim):
    sim.run("kldload", "vmm")
    sim.run("devctl", "set", "driver", "-f", "pci0:3:0:0", "ppt")
    sim.power_on()
    assert sim.run("pciconf", "-l", "pci0:3:0:0")[1].startswith("none")


def test_dmesg_has_cpu_origin_and_amdvi_hint(make_sim):
    intel = make_sim("thinkpad-t480")
    assert '  Origin="GenuineIntel"' in intel.run("dmesg")[1]
    amd = make_sim("thinkpad-e14-amd")
    amd.run("kldload", "vmm")
    out = amd.run("dmesg")[1]
    assert 'Origin="AuthenticAMD"' in out
    assert ("bhyve: Found 1 AMD-Vi/IOMMU device(s), use hw.vmm.amdvi.enable=1 to enable "
            "pass-through.\n") in out


def test_service_lists_scripts(sim):
    p = os.path.join(sim.root, "usr/local/etc/rc.d/wifibox")
    with open(p, "w") as f:
        f.write("#!/bin/sh\n# PROVIDE: wifibox\n# REQUIRE: NETWORKING\n")
    os.chmod(p, 0o755)
    out = sim.run("service", "-l")[1].split()
    assert "wifibox" in out and "devd" in out
    order = sim.run("service", "-r")[1].split()
    assert order.index("/etc/rc.d/netif") < order.index("/usr/local/etc/rc.d/wifibox")
    assert sim.run("service", "nope", "start") == (
        1, "", "nope does not exist in /etc/rc.d or the local startup\n"
        "directories (/usr/local/etc/rc.d), or is not executable\n")
