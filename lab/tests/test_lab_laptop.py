"""Lab laptops on real namespaces: SSH, Ansible, the boot model end to end. Needs root."""
import os
import subprocess

import pytest

pytestmark = pytest.mark.lab
ANSIBLE = os.path.join(os.path.dirname(__file__), "..", "..", ".venv", "bin", "ansible")


def test_ansible_ping_over_ssh(lab_laptop):
    r = subprocess.run([ANSIBLE, "-i", lab_laptop.inventory_path, lab_laptop.name, "-m",
                        "ansible.builtin.ping"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert '"ping": "pong"' in r.stdout
    # interpreter discovery finds the package's python, as on FreeBSD
    assert "/usr/local/bin/python3.11" in r.stdout


def test_pciconf_over_ssh_then_ppt_after_reboot(lab_laptop):
    from wifibox_lab import api
    r = lab_laptop.ssh("pciconf", "-lv")
    assert r.returncode == 0, r.stderr
    assert "iwm0@pci0:3:0:0:\tclass=0x028000 rev=0x78 hdr=0x00 vendor=0x8086" in r.stdout
    assert "    device     = 'Wireless 8265 / 8275'" in r.stdout
    r = lab_laptop.ssh("sh", "-c", "'printf %s\\\\n vmm_load=\\\"YES\\\" pptdevs=\\\"3/0/0\\\" "
                       ">> /boot/loader.conf'")
    assert r.returncode == 0, r.stderr
    api.reboot(lab_laptop)
    r = lab_laptop.ssh("pciconf", "-l", "pci0:3:0:0")
    assert r.stdout.startswith("ppt0@pci0:3:0:0:\t"), r.stdout
    assert lab_laptop.ssh("sysctl", "-n", "hw.vmm.ppt.devices").stdout == "1\n"
    assert lab_laptop.ssh("kenv", "pptdevs").stdout == "3/0/0\n"


def test_laptop_looks_like_freebsd(lab_laptop):
    r = lab_laptop.ssh("uname -s; uname -r; freebsd-version; hostname; command -v python3.11")
    assert r.stdout.split("\n")[:5] == ["FreeBSD", "14.1-RELEASE-p5", "14.1-RELEASE-p6",
                                        lab_laptop.name, "/usr/local/bin/python3.11"]


def test_ansible_reboot_module_reboots_the_laptop(lab_laptop):
    lp = lab_laptop
    lp.sh("printf 'vmm_load=\"YES\"\\npptdevs=\"3/0/0\"\\n' >> /boot/loader.conf")
    before = lp.ssh("sysctl", "-n", "kern.boottime").stdout
    r = subprocess.run([ANSIBLE, "-i", lp.inventory_path, lp.name, "-m", "ansible.builtin.reboot",
                        "-a", "reboot_timeout=60"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and '"rebooted": true' in r.stdout, r.stdout + r.stderr
    assert lp.ssh("sysctl", "-n", "kern.boottime").stdout != before
    assert lp.ssh("pciconf", "-l", "pci0:3:0:0").stdout.startswith("ppt0@")


def test_shutdown_usage(lab_laptop):
    r = lab_laptop.sh("shutdown -p now")
    assert r.returncode == 1 and "can only reboot" in r.stderr
    r = lab_laptop.sh("shutdown -r soon")
    assert r.stderr == "shutdown: time is not of the form +minutes or now: soon\n"
