"""ifconfig(8) making real Linux bridges and taps in a laptop (FREEBSD.md section 5)."""
import re

import pytest

pytestmark = pytest.mark.lab


def run(lp, *argv):
    r = lp.nsenter(list(argv))
    return r.returncode, r.stdout, r.stderr


def test_create_rename_addm_status(lab_laptop):
    lp = lab_laptop
    assert run(lp, "ifconfig", "bridge", "create") == (0, "bridge0\n", "")
    assert run(lp, "kldstat", "-q", "-n", "if_bridge")[0] == 0  # autoloaded
    assert run(lp, "ifconfig", "bridge0", "name", "wifibox0") == (0, "wifibox0\n", "")
    # the renamed bridge keeps its unit: the next one is bridge1
    assert run(lp, "ifconfig", "bridge", "create", "name", "spare") == (0, "spare\n", "")
    assert run(lp, "ifconfig", "bridge5", "create") == (0, "", "")
    assert run(lp, "ifconfig", "bridge", "create")[1] == "bridge2\n"
    assert run(lp, "ifconfig", "tap", "create") == (0, "tap0\n", "")
    assert run(lp, "ifconfig", "tap0", "create") == (
        1, "", "ifconfig: interface tap0 already exists\n")
    assert run(lp, "ifconfig", "wifibox0", "addm", "tap0") == (0, "", "")
    assert run(lp, "ifconfig", "wifibox0", "addm", "tap0") == (
        1, "", "ifconfig: BRDGADD tap0: File exists\n")
    assert run(lp, "ifconfig", "spare", "addm", "tap0") == (
        1, "", "ifconfig: BRDGADD tap0: Device busy\n")
    assert run(lp, "ifconfig", "wifibox0", "addm", "tap9") == (
        1, "", "ifconfig: BRDGADD tap9: No such file or directory\n")
    assert run(lp, "ifconfig", "wifibox0", "inet", "10.0.0.1/24", "up")[0] == 0
    rc, out, _ = run(lp, "ifconfig", "wifibox0")
    lines = out.splitlines()
    assert lines[0] == ("wifibox0: flags=1008843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST,LOWER_UP>"
                        " metric 0 mtu 1500")
    assert re.fullmatch(r"\tether 58:9c:fc(:[0-9a-f]{2}){3}", lines[1])
    assert lines[2:] == [
        "\tinet 10.0.0.1 netmask 0xffffff00 broadcast 10.0.0.255",
        "\tid 00:00:00:00:00:00 priority 32768 hellotime 2 fwddelay 15",
        "\tmaxage 20 holdcnt 6 proto rstp maxaddr 2000 timeout 1200",
        "\troot id 00:00:00:00:00:00 priority 32768 ifcost 0 port 0",
        "\tmember: tap0 flags=143<LEARNING,DISCOVER,AUTOEDGE,AUTOPTP>",
        lines[7],
        "\tgroups: bridge",
        "\tnd6 options=9<PERFORMNUD,IFDISABLED>"]
    assert re.fullmatch(r"\t        ifmaxaddr 0 port \d+ priority 128 path cost 2000000", lines[7])
    # real Linux objects with the FreeBSD names
    assert "master wifibox0" in lp.nsenter(["ip", "link", "show", "tap0"]).stdout
    assert run(lp, "ifconfig", "-g", "bridge")[1].split() == ["wifibox0", "spare", "bridge5",
                                                             "bridge2"]
    assert run(lp, "ifconfig", "-l")[1].split()[:4] == ["lo0", lp.info["mgmt_if"], "wlan0",
                                                       "wifibox0"]
    assert run(lp, "ifconfig", "wifibox0", "deletem", "tap0") == (0, "", "")
    assert run(lp, "ifconfig", "wifibox0", "deletem", "tap0") == (
        1, "", "ifconfig: BRDGDEL tap0: No such file or directory\n")
    assert run(lp, "ifconfig", "spare", "name", "wifibox0") == (
        1, "", "ifconfig: ioctl SIOCSIFNAME (set name): File exists\n")
    assert run(lp, "ifconfig", "tap0", "destroy") == (0, "", "")
    assert run(lp, "ifconfig", "tap0", "up") == (1, "", "ifconfig: interface tap0 does not exist\n")


def test_unopened_tap_and_thirteen_lacks_lower_up(lab_laptops):
    lp = lab_laptops("thinkpad-x220")  # 13.2
    assert run(lp, "ifconfig", "bridge", "create", "name", "wifibox0", "up")[0] == 0
    assert run(lp, "ifconfig", "wifibox0")[1].startswith(
        "wifibox0: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> metric 0 mtu 1500\n")
    run(lp, "ifconfig", "tap", "create")
    out = run(lp, "ifconfig", "tap0")[1]
    assert "\tstatus: no carrier\n" in out and "Opened by" not in out


def test_rc_conf_builds_the_network_at_boot(lab_laptop):
    from wifibox_lab import api
    lp = lab_laptop
    r = lp.sh("sysrc cloned_interfaces='bridge0 tap0' ifconfig_bridge0_name=wifibox0 "
              "ifconfig_wifibox0='inet 10.0.0.1/24 up' autobridge_interfaces=wifibox0 "
              "autobridge_wifibox0='tap*'")
    assert r.returncode == 0, r.stderr
    out = api.reboot(lp)
    assert "Created clone interfaces: bridge0 tap0." in out
    status = run(lp, "ifconfig", "wifibox0")[1]
    assert "\tinet 10.0.0.1 netmask 0xffffff00 broadcast 10.0.0.255\n" in status
    assert "\tmember: tap0 " in status


def test_autobridge_adds_new_taps_while_devd_runs(lab_laptop):
    lp = lab_laptop
    lp.sh("sysrc autobridge_interfaces=wifibox0 autobridge_wifibox0='tap*'; "
          "ifconfig bridge create name wifibox0 up")
    assert run(lp, "ifconfig", "tap", "create")[1] == "tap0\n"
    assert "\tmember: tap0 " in run(lp, "ifconfig", "wifibox0")[1]
    lp.sh("service devd stop")
    run(lp, "ifconfig", "tap", "create")
    assert "\tmember: tap1 " not in run(lp, "ifconfig", "wifibox0")[1]


def test_native_wifi_wlan0_until_ppt_takes_the_card(lab_laptop):
    from wifibox_lab import api
    lp = lab_laptop
    assert 'wlans_iwm0="wlan0"' in lp.read_file("/etc/rc.conf")
    assert run(lp, "ifconfig", "-g", "wlan")[1] == "wlan0\n"
    assert "\tparent interface: iwm0\n" in run(lp, "ifconfig", "wlan0")[1]
    lp.sh("printf 'vmm_load=\"YES\"\\npptdevs=\"3/0/0\"\\n' >> /boot/loader.conf")
    out = api.reboot(lp)
    assert "Created wlan(4) interfaces" not in out
    assert run(lp, "ifconfig", "wlan0")[2] == "ifconfig: interface wlan0 does not exist\n"


def test_addm_mtu_mismatch(lab_laptop):
    lp = lab_laptop
    lp.sh("ifconfig bridge create; ifconfig tap create; ifconfig tap create; "
          "ifconfig bridge0 addm tap0; ifconfig tap1 mtu 9000")
    assert run(lp, "ifconfig", "bridge0", "addm", "tap1") == (
        1, "", "ifconfig: BRDGADD tap1: Invalid argument\n")


def test_bridge_members_newest_first_and_addm_does_not_bring_them_up(lab_laptop):
    """if_bridge.c: bridge_ioctl_add() inserts the new member at the head of sc_iflist and only
    makes it promiscuous; BRDGGIFS (ifconfig's member: lines) walks that list."""
    lp = lab_laptop
    lp.sh("ifconfig bridge create name wifibox0 up; ifconfig tap create; ifconfig tap create; "
          "ifconfig tap create")
    for tap in ("tap1", "tap0", "tap2"):
        assert run(lp, "ifconfig", "wifibox0", "addm", tap) == (0, "", "")
    members = re.findall(r"\tmember: (\S+) ", run(lp, "ifconfig", "wifibox0")[1])
    assert members == ["tap2", "tap0", "tap1"]
    for tap in ("tap0", "tap1", "tap2"):
        first = run(lp, "ifconfig", tap)[1].splitlines()[0]
        assert "PROMISC" in first and "<UP" not in first, first
    assert run(lp, "ifconfig", "wifibox0", "deletem", "tap0")[0] == 0
    assert run(lp, "ifconfig", "wifibox0", "addm", "tap0")[0] == 0
    assert re.findall(r"\tmember: (\S+) ", run(lp, "ifconfig", "wifibox0")[1]) == [
        "tap0", "tap2", "tap1"]


def test_unloading_if_bridge_destroys_every_bridge(lab_laptop):
    """if_bridge.c MOD_UNLOAD detaches the cloner: every bridge goes, its members stay."""
    lp = lab_laptop
    lp.sh("ifconfig bridge create name wifibox0 up; ifconfig bridge create; ifconfig tap create; "
          "ifconfig wifibox0 addm tap0")
    assert run(lp, "kldunload", "if_bridge") == (0, "", "")
    assert run(lp, "ifconfig", "wifibox0") == (1, "", "ifconfig: interface wifibox0 does not exist\n")
    assert run(lp, "ifconfig", "-g", "bridge") == (0, "", "")
    assert "master" not in lp.nsenter(["ip", "link", "show", "tap0"]).stdout
    assert run(lp, "ifconfig", "bridge", "create") == (0, "bridge0\n", "")  # units are free again
