"""The lab guest's pieces without booting it: bhyve's VM -> qemu argv, exit statuses, the
far side's hostapd configs, the image cache key, the nmdm console's name."""
import json
import os
import shutil

import pytest

from wifibox_lab.guest import air, image, runner


def _vm(tmp_path, slots, ppt=("pci0:3:0:0",), lpc=None, kernel=b"HdrS"):
    esp, root = tmp_path / "esp.img", tmp_path / "root.img"
    esp.write_bytes(b"\0" * 0x202 + kernel + b"\0" * 16)
    root.write_bytes(b"070701")
    base = [dict(bus=0, slot=4, func=0, emul="virtio-blk", conf=str(esp)),
            dict(bus=0, slot=4, func=1, emul="virtio-blk", conf=str(root))]
    return {"name": "wifibox", "memory_mb": 512, "wired": True, "cpus": "2",
            "lpc": lpc or {"com1": "/dev/nmdm-wifibox.1A"}, "slots": base + slots,
            "taps": ["tap0"], "ppt": list(ppt), "laptop_dir": str(tmp_path)}


FILES = {"qmp": "/x/q", "con": "/x/c", "serial": "/x/s"}


def test_bhyve_devices_become_qemu_devices(tmp_path):
    vm = _vm(tmp_path, [dict(bus=0, slot=4, func=2, emul="virtio-9p", conf="config=/c/appliance,ro"),
                        dict(bus=0, slot=4, func=3, emul="virtio-9p", conf="var=/v"),
                        dict(bus=0, slot=5, func=0, emul="e1000", conf="tap0")])
    argv, key = runner.qemu_argv(vm, FILES)
    line = " ".join(argv)
    assert argv[0] == "qemu-system-x86_64" and "-accel tcg,tb-size=64" in line
    assert "-m 512 -smp 2" in line
    assert "-kernel %s/esp.img -initrd %s/root.img" % (tmp_path, tmp_path) in line
    assert "local,path=/c/appliance,mount_tag=config,security_model=none,id=s4_2,readonly=on" in argv
    assert "local,path=/v,mount_tag=var,security_model=none,id=s4_3" in argv
    assert "tap,id=s5_0,ifname=tap0,script=no,downscript=no" in argv
    assert any(a.startswith("e1000,netdev=s5_0,mac=58:9c:fc:") for a in argv)
    assert "wifibox_lab.wifi=1" in line
    assert "labair" not in line  # no air chosen
    assert key == "-wifibox.1"


def test_virtio_net_without_passthru_and_the_air_share(tmp_path):
    vm = _vm(tmp_path, [dict(bus=0, slot=5, func=0, emul="virtio-net", conf="tap3")], ppt=())
    os.makedirs(runner.air_dir(str(tmp_path)))
    argv, _ = runner.qemu_argv(vm, FILES)
    assert any(a.startswith("virtio-net-pci,netdev=s5_0") for a in argv)
    assert "wifibox_lab.wifi=1" not in " ".join(argv) and "labair" not in " ".join(argv)
    vm["ppt"] = ["pci0:3:0:0"]
    argv, _ = runner.qemu_argv(vm, FILES)
    assert "mount_tag=labair" in " ".join(argv)


def test_a_disk_that_is_not_the_lab_image_is_refused(tmp_path):
    with pytest.raises(runner.GuestError, match="not a bootable lab guest image"):
        runner.qemu_argv(_vm(tmp_path, [], kernel=b"FAKE"), FILES)
    vm = _vm(tmp_path, [])
    vm["slots"] = vm["slots"][:1]
    with pytest.raises(runner.GuestError, match="two disks"):
        runner.qemu_argv(vm, FILES)


@pytest.mark.parametrize("reason,code,status", [
    ("guest-shutdown", 0, 1), ("guest-reset", 0, 0), ("guest-panic", 0, 4), (None, 1, 4),
    ("host-signal", 0, 4)])
def test_exit_status_is_bhyves(reason, code, status):
    assert runner.OUTCOME_STATUS[runner.outcome_of(reason, code)] == status


def test_nmdm_names():
    assert runner.nmdm_key("/dev/nmdm0A") == "0"
    assert runner.nmdm_key("/dev/nmdm-wifibox.1B") == "-wifibox.1"
    assert runner.nmdm_key("/dev/ttyu0") is None


@pytest.mark.parametrize("security,lines", [
    ("wpa2_psk", ["wpa_key_mgmt=WPA-PSK", "wpa_passphrase=pw"]),
    ("wpa3_sae", ["wpa_key_mgmt=SAE", "ieee80211w=2", "sae_password=pw"]),
    ("wpa2_wpa3", ["wpa_key_mgmt=WPA-PSK SAE", "ieee80211w=1"]),
    ("wpa2_eap", ["wpa_key_mgmt=WPA-EAP", "eap_server=1", "ieee8021x=1"]),
    ("open", [])])
def test_hostapd_configs(security, lines):
    text = air.hostapd_conf("net", security, "pw")
    for line in lines:
        assert line + "\n" in text
    assert "ssid=net\n" in text and "channel=6\n" in text
    if security == "open":
        assert "wpa=" not in text
    assert "ignore_broadcast_ssid" not in text
    assert "ignore_broadcast_ssid=1" in air.hostapd_conf("net", security, "pw", hidden=True)
    assert "wds_sta=1" in air.hostapd_conf("net", security, "pw", four_addr=True)
    with pytest.raises(ValueError):
        air.hostapd_conf("net", "wep", "pw")


def test_eap_users_allow_every_method():
    text = air.eap_users_file({"alice": "wonderland"})
    assert text.splitlines()[0] == "* PEAP,TTLS,TLS"
    assert '"alice" MSCHAPV2,TTLS-MSCHAPV2,TTLS-PAP,GTC "wonderland" [2]' in text


def test_image_cache_key_follows_the_guest_files(tmp_path, monkeypatch):
    files = tmp_path / "files"
    shutil.copytree(image.FILES, files)
    monkeypatch.setattr(image, "FILES", str(files))
    first = image.input_hash(image.inputs())
    assert image.input_hash(image.inputs()) == first
    with open(files / "etc" / "rc.guest", "a") as f:
        f.write("# changed\n")
    changed = image.inputs()
    assert image.input_hash(changed) != first
    assert json.dumps(changed)  # all of it is plain data (build.json)


def _elf(pvh=True):
    """A minimal 64-bit ELF with one PT_NOTE segment: Xen's PHYS32_ENTRY note, or another."""
    import struct
    ntype = image.XEN_ELFNOTE_PHYS32_ENTRY if pvh else 6
    note = struct.pack("<III", 4, 4, ntype) + b"Xen\0" + struct.pack("<I", 0x1000000)
    phoff, noteoff = 64, 64 + 56
    header = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0x1000000, phoff,
                                                              0, 0, 64, 56, 1, 64, 0, 0)
    phdr = struct.pack("<IIQQQQQQ", 4, 4, noteoff, 0, 0, len(note), len(note), 4)
    return header + phdr + note


def _bzimage(payload, version=0x20f, setup_sects=1):
    """A bzImage's setup header (boot protocol) with `payload` where payload_offset says."""
    import struct
    head = bytearray((setup_sects + 1) * 512)
    head[0x1f1] = setup_sects
    head[0x202:0x206] = b"HdrS"
    head[0x206:0x208] = struct.pack("<H", version)
    head[0x248:0x250] = struct.pack("<II", 16, len(payload))
    return bytes(head) + b"\0" * 16 + payload + b"\0" * 8


def test_the_kernel_is_taken_out_of_its_bzimage_for_a_pvh_boot():
    import gzip
    import lzma
    for pack in (lambda d: lzma.compress(d, format=lzma.FORMAT_XZ), gzip.compress):
        elf, why = image.pvh_vmlinux(_bzimage(pack(_elf())))
        assert why is None and elf == _elf()
    assert image.pvh_vmlinux(_bzimage(lzma.compress(_elf(pvh=False)))) == (
        None, "the kernel has no PVH entry note (CONFIG_PVH)")
    assert image.pvh_vmlinux(_bzimage(b"\x28\xb5\x2f\xfd" + b"z" * 20))[1].startswith("payload compression")
    assert image.pvh_vmlinux(_bzimage(gzip.compress(_elf()), version=0x207))[1] == "boot protocol older than 2.08"
    assert image.pvh_vmlinux(b"\0" * 4096) == (None, "not a bzImage")


def test_the_runner_boots_a_bzimage_or_a_pvh_vmlinux(tmp_path):
    for kernel in (b"HdrS", _elf()):
        vm = _vm(tmp_path, [])
        with open(tmp_path / "esp.img", "wb") as f:
            f.write(kernel if kernel != b"HdrS" else b"\0" * 0x202 + kernel + b"\0" * 16)
        argv, _ = runner.qemu_argv(vm, FILES)
        assert "-kernel %s/esp.img" % tmp_path in " ".join(argv)
    (tmp_path / "esp.img").write_bytes(_elf(pvh=False))
    with pytest.raises(runner.GuestError, match="not a bootable lab guest image"):
        runner.qemu_argv(vm, FILES)
