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
