"""bhyve's VM life in a laptop, and the lab's fault injection."""
import time

import pytest

from wifibox_lab import api

pytestmark = pytest.mark.lab

PREP = """
printf 'vmm_load="YES"\\nnmdm_load="YES"\\npptdevs="3/0/0"\\n' >> /boot/loader.conf
"""
VMDIR = "mkdir -p /vm/cfg && : > /vm/disk.img && echo '(hd0) /vm/disk.img' > /vm/device.map"
BHYVE = ("bhyve -c 1 -m 128M -A -H -P -S -u -w -s 0,hostbridge -s 31,lpc -l com1,/dev/nmdm0A "
         "-s 4,virtio-blk,/vm/disk.img -s 5,virtio-9p,cfg=/vm/cfg,ro -s 6,passthru,3/0/0 "
         "-s 7,virtio-net,tap0 {flags} wifibox")
START = ("grub-bhyve -S -m /vm/device.map -r hd0,msdos1 -M 128M wifibox && "
         "daemon -p /var/run/vm.pid -o /var/log/vm.log sh -c '" + BHYVE +
         "; echo exit=$? >> /var/log/vm.status'")


@pytest.fixture
def vm_laptop(lab_laptop):
    lp = lab_laptop
    assert lp.sh(PREP).returncode == 0
    api.reboot(lp)
    assert lp.sh(VMDIR + " && pkg install -y grub2-bhyve >/dev/null").returncode == 0
    return lp


def _wait(lp, path, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r = lp.sh("cat %s 2>/dev/null" % path)
        if r.stdout:
            return r.stdout
        time.sleep(0.1)
    raise AssertionError("%s never appeared" % path)


def _bhyve_pid(lp):
    end = time.monotonic() + 10
    while time.monotonic() < end:
        vm = lp.state()["vms"].get("wifibox") or {}
        if vm.get("pid"):
            return vm["pid"]
        time.sleep(0.1)
    raise AssertionError("bhyve did not start: %s" % lp.sh("cat /var/log/vm.log").stdout)


def test_vm_runs_holds_tap_and_powers_off_on_sigterm(vm_laptop):
    lp = vm_laptop
    assert lp.sh(START.format(flags="")).returncode == 0
    pid = _bhyve_pid(lp)
    tap = lp.sh("ifconfig tap0").stdout
    assert "\tstatus: active\n" in tap and "\tOpened by PID %d\n" % pid in tap
    assert lp.sh("ls /dev/vmm").stdout == "wifibox\n"
    assert lp.sh("kldunload vmm").stderr == "kldunload: can't unload file: Device busy\n"
    # a second VM cannot take the same ppt device
    other = BHYVE.format(flags="").replace("wifibox", "other")
    r = lp.sh("grub-bhyve -S -M 128M other && " + other)
    assert r.returncode == 4 and "Device busy" in r.stderr
    lp.sh("kill %d" % pid)  # SIGTERM = ACPI power-off
    assert _wait(lp, "/var/log/vm.status") == "exit=1\n"
    assert "wifibox" in lp.sh("ls /dev/vmm").stdout.split()  # memory stays until destroyed
    assert lp.sh("bhyvectl --vm=wifibox --destroy").returncode == 0
    assert lp.sh("bhyvectl --vm=other --destroy; ls /dev/vmm").stdout == ""


def test_guest_reboot_and_minus_d(vm_laptop):
    lp = vm_laptop
    lp.sh(START.format(flags="-D"))
    _bhyve_pid(lp)
    api.guest_request(lp, "wifibox", "reboot")
    assert _wait(lp, "/var/log/vm.status") == "exit=0\n"
    lp.sh("rm /var/log/vm.status; " + START.format(flags="-D"))
    pid = _bhyve_pid(lp)
    lp.sh("kill %d" % pid)
    assert _wait(lp, "/var/log/vm.status") == "exit=1\n"
    assert lp.sh("ls /dev/vmm").stdout == ""  # -D destroys the VM on power-off


def test_fault_bhyve_exits_4(vm_laptop):
    lp = vm_laptop
    api.fault(lp, "bhyve-exit4")
    lp.sh(START.format(flags=""))
    assert _wait(lp, "/var/log/vm.status") == "exit=4\n"


def test_fault_card_vanishes_after_resume_until_vmm_reload(vm_laptop):
    lp = vm_laptop
    api.fault(lp, "card-vanish")
    api.suspend(lp)
    api.resume(lp)
    assert lp.sh("pciconf -l pci0:3:0:0").stderr == "pciconf: Device not found\n"
    assert lp.sh("kldunload vmm && kldload vmm").returncode == 0
    assert lp.sh("pciconf -l pci0:3:0:0").stdout.startswith("ppt0@")


def test_fault_command_fails_and_disk_full(lab_laptop):
    lp = lab_laptop
    api.fault(lp, "command-fails", "kldload:can't load vmm: Device busy")
    assert lp.sh("kldload vmm") .stderr == "kldload: can't load vmm: Device busy\n"
    api.fault(lp, "disk-full")
    r = lp.sh("sysrc foo=bar")
    assert r.returncode == 1 and r.stderr == "sysrc: /etc/rc.conf: No space left on device\n"
    api.fault(lp, "clear")
    assert lp.sh("sysrc foo=bar").returncode == 0


GUEST = """#!/usr/local/bin/python3.11
import json, os, signal, sys, time
vm = json.loads(os.environ["WIFIBOX_LAB_VM"])
with open("/var/log/guest.json", "w") as f:
    json.dump(vm, f)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))  # ACPI power-off: the guest shuts down
time.sleep(int(sys.argv[1]) if len(sys.argv) > 1 else 600)
sys.exit(2)  # halted
"""


def test_a_real_guest_program_takes_the_stand_ins_place(vm_laptop):
    import json
    lp = vm_laptop
    lp.write_file("/root/guest", GUEST, 0o755)
    api.set_guest_command(lp, ["/root/guest"])
    lp.sh(START.format(flags=""))
    vm = json.loads(_wait(lp, "/var/log/guest.json"))
    assert vm["name"] == "wifibox" and vm["memory_mb"] == 128 and vm["taps"] == ["tap0"]
    assert vm["ppt"] == ["3/0/0"] and vm["lpc"] == {"com1": "/dev/nmdm0A"}
    assert {"bus": 0, "slot": 5, "func": 0, "emul": "virtio-9p", "conf": "cfg=/vm/cfg,ro"} \
        in vm["slots"]
    lp.sh("kill %d" % _bhyve_pid(lp))
    assert _wait(lp, "/var/log/vm.status") == "exit=1\n"
    api.set_guest_command(lp, ["/root/guest", "0"])
    lp.sh("rm /var/log/vm.status; " + START.format(flags=""))
    assert _wait(lp, "/var/log/vm.status") == "exit=2\n"


def test_uefi_vm_already_running_is_busy(vm_laptop):
    lp = vm_laptop
    lp.sh("pkg install -y bhyve-firmware >/dev/null")
    uefi = ("bhyve -c 1 -m 128M -S -s 0,hostbridge -s 31,lpc "
            "-l bootrom,/usr/local/share/uefi-firmware/BHYVE_UEFI.fd uefivm")
    lp.sh("daemon -o /var/log/uefi.log " + uefi)
    end = time.monotonic() + 10
    while not (lp.state()["vms"].get("uefivm") or {}).get("pid") and time.monotonic() < end:
        time.sleep(0.1)
    r = lp.sh(uefi)
    assert (r.returncode, r.stderr) == (4, "bhyve: vm_reinit: Device busy\n")
    lp.sh("bhyvectl --vm=uefivm --destroy")
