"""pfctl(8) in the lab: parsing and order (pf.conf(5)), anchors, enable/disable, and NAT carried
by real packets in network namespaces this test creates."""
import os
import subprocess
import sys

import pytest

from wifibox_lab.sim import pfctl

USER_RULES = """# a user's pf.conf
ext_if = "em0"
set skip on lo0
scrub in all
nat on $ext_if from 192.168.7.0/24 to any -> ($ext_if)
nat-anchor "wifibox-bhyve"
block in all
pass out all keep state
anchor "user/*"
load anchor "wifibox-bhyve" from "/etc/wb-nat.conf"
"""
OUR_ANCHOR = "nat on em0 inet from 10.0.0.0/24 to any -> (em0)\n"


def test_parse_rules_macros_and_anchors():
    rules, loads = pfctl.parse(USER_RULES)
    assert [r["type"] for r in rules] == ["set", "scrub", "nat", "nat-anchor", "block", "pass", "anchor"]
    assert rules[2]["on"] == "em0" and rules[2]["from"] == "192.168.7.0/24" and rules[2]["target"] == "(em0)"
    assert rules[3]["name"] == "wifibox-bhyve"
    assert loads == [("wifibox-bhyve", "/etc/wb-nat.conf")]


@pytest.mark.parametrize("text, message", [
    ("pass all\nnat on em0 from any to any -> (em0)\n", "2: Rules must be in order: options, ethernet, "
     "normalization, queueing, translation, filtering"),
    ("pass all\nnat-anchor \"x\"\n", "2: Rules must be in order"),
    ("scrub in all\nset skip on lo0\n", "2: Rules must be in order"),
    ("nat on em0 from 10.0.0.0/24 to any ->\n", "1: syntax error"),
    ("nat em0 from 10.0.0.0/24 to any -> (em0)\n", "1: syntax error"),
    ("nat on $uplink from 10.0.0.0/24 to any -> (em0)\n", "1: macro 'uplink' not defined"),
    ("frobnicate all\n", "1: syntax error"),
    ("load anchor \"x\"\n", "1: syntax error"),
])
def test_parse_errors(text, message):
    with pytest.raises(pfctl.ParseError) as exc:
        pfctl.parse(text)
    assert message in str(exc.value)


def test_load_anchor_lines_may_follow_filter_rules():
    pfctl.parse('pass all\nload anchor "a" from "/x"\n')


def test_commands_need_pf_loaded_except_noaction(sim):
    sim.file("/etc/pf.conf", USER_RULES)
    sim.file("/etc/wb-nat.conf", OUR_ANCHOR)
    assert sim.run("pfctl", "-s", "info") == (1, "", "pfctl: /dev/pf: No such file or directory\n")
    rc, out, err = sim.run("pfctl", "-vnf", "/etc/pf.conf")
    assert rc == 0 and 'nat-anchor "wifibox-bhyve"' in out, err
    sim.file("/etc/bad.conf", "pass all\nnat on em0 from any to any -> (em0)\n")
    assert sim.run("pfctl", "-nf", "/etc/bad.conf") == (
        1, "", "/etc/bad.conf:2: Rules must be in order: options, ethernet, normalization, queueing, translation, "
        "filtering\npfctl: Syntax error in config file: pf rules not loaded\n")


def test_rc_pf_start_check_stop_in_a_laptop(lab_laptop):
    """pf_enable through rc(8): service pf start loads pf.ko, the rules with the anchor, and enables pf;
    the translation is in the laptop namespace's iptables; check refuses a broken file; stop disables."""
    lp = lab_laptop
    lp.write_file("/etc/pf.conf", 'ext_if = "em0"\nnat-anchor "wifibox-bhyve"\n'
                  'load anchor "wifibox-bhyve" from "/etc/wb-nat.conf"\npass all\n')
    lp.write_file("/etc/wb-nat.conf", OUR_ANCHOR)
    r = lp.sh("service pf start")
    assert r.returncode == 0 and "Cannot 'start' pf. Set pf_enable to YES" in r.stdout, r.stdout + r.stderr
    assert lp.sh("pfctl -s info").returncode == 1
    assert lp.sh("sysrc pf_enable=YES").returncode == 0
    r = lp.sh("service pf start")
    assert r.returncode == 0 and r.stdout == "Enabling pf.\n", r.stdout + r.stderr
    assert lp.sh("kldstat -q -m pf").returncode == 0
    assert lp.sh("pfctl -s info").stdout == "Status: Enabled\n"
    assert lp.sh("pfctl -a wifibox-bhyve -s nat").stdout == OUR_ANCHOR
    rules = lp.sh("iptables -t nat -S LAB_PF").stdout
    assert "-A LAB_PF -s 10.0.0.0/24 -o em0 -j MASQUERADE" in rules, rules
    lp.write_file("/etc/pf.conf", "pass all\nnat-anchor \"wifibox-bhyve\"\n")
    r = lp.sh("service pf check")
    assert r.returncode != 0 and "/etc/pf.conf:2: Rules must be in order" in r.stderr, r.stdout + r.stderr
    r = lp.sh("service pf stop")
    assert r.returncode == 0 and r.stdout == "Disabling pf.\n"
    assert "MASQUERADE" not in lp.sh("iptables -t nat -S LAB_PF").stdout


def test_iptables_translation_order_and_anchor():
    main, _ = pfctl.parse('nat on em0 from 192.168.7.0/24 to any -> 198.51.100.9\nnat-anchor "wb"\n')
    anchor, _ = pfctl.parse(OUR_ANCHOR + "nat on em0 from 10.9.0.0/16 to ! 10.0.0.0/8 -> (em0)\n", main=False)
    pf = {"enabled": True, "main": main, "anchors": {"wb": anchor}}
    assert pfctl.iptables_rules(pf) == [
        ["-A", "LAB_PF", "-o", "em0", "-s", "192.168.7.0/24", "-j", "SNAT", "--to-source", "198.51.100.9"],
        ["-A", "LAB_PF", "-o", "em0", "-s", "10.0.0.0/24", "-j", "MASQUERADE"],
        ["-A", "LAB_PF", "-o", "em0", "-s", "10.9.0.0/16", "!", "-d", "10.0.0.0/8", "-j", "MASQUERADE"],
    ]
    pf["enabled"] = False
    assert pfctl.iptables_rules(pf) == []


# --- real packets -------------------------------------------------------------------

def _sh(*cmd, check=True):
    proc = subprocess.run(list(cmd), capture_output=True, text=True, timeout=30, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("%s: %s%s" % (cmd, proc.stdout, proc.stderr))
    return proc


@pytest.fixture
def nets():
    if os.geteuid() != 0:
        pytest.fail("the packet test creates network namespaces: run as root")
    tag = "wbpf%d" % (os.getpid() % 100000)
    names = {role: "%s-%s" % (tag, role) for role in ("inside", "laptop", "wired")}
    procs = []
    for name in names.values():
        _sh("ip", "netns", "add", name)
        _sh("ip", "-n", name, "link", "set", "lo", "up")
    yield names, procs
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=5)
    for name in names.values():
        _sh("ip", "netns", "del", name, check=False)


def test_nat_carries_real_packets(sim, nets, tmp_path):
    names, procs = nets
    inside, laptop, wired = names["inside"], names["laptop"], names["wired"]
    _sh("ip", "-n", inside, "link", "add", "eth0", "type", "veth", "peer", "name", "wifibox0", "netns", laptop)
    _sh("ip", "-n", laptop, "link", "add", "em0", "type", "veth", "peer", "name", "eth0", "netns", wired)
    for ns, dev, addr in ((inside, "eth0", "10.0.0.2/24"), (laptop, "wifibox0", "10.0.0.1/24"),
                          (laptop, "em0", "172.16.5.2/24"), (wired, "eth0", "172.16.5.1/24")):
        _sh("ip", "-n", ns, "addr", "add", addr, "dev", dev)
        _sh("ip", "-n", ns, "link", "set", dev, "up")
    _sh("ip", "-n", inside, "route", "add", "default", "via", "10.0.0.1")
    _sh("ip", "netns", "exec", laptop, "sysctl", "-qw", "net.ipv4.ip_forward=1")
    www = tmp_path / "www"
    www.mkdir()
    (www / "page").write_text("wired-page\n")
    log = open(tmp_path / "http.log", "w")
    procs.append(subprocess.Popen(["ip", "netns", "exec", wired, sys.executable, "-m", "http.server", "8080",
                                   "--bind", "172.16.5.1", "--directory", str(www)], stdout=log, stderr=log))

    def fetch():
        return _sh("ip", "netns", "exec", inside, "curl", "-s", "--connect-timeout", "2", "--max-time", "3",
                   "http://172.16.5.1:8080/page", check=False).stdout.strip() == "wired-page"

    def pfctl_cmd(*args):
        code = ("import sys; from wifibox_lab.sim.main import main; "
                "sys.exit(main('pfctl', sys.argv[1], sys.argv[3:], sys.argv[2]))")
        return _sh("ip", "netns", "exec", laptop, sys.executable, "-c", code, sim.dir, sim.root, *args, check=False)

    sim.run("kldload", "pf")
    sim.file("/etc/pf.conf", 'nat-anchor "wifibox-bhyve"\n'
             'load anchor "wifibox-bhyve" from "/etc/wb-nat.conf"\npass all\n')
    sim.file("/etc/wb-nat.conf", OUR_ANCHOR)
    import time
    for _ in range(50):
        if _sh("ip", "netns", "exec", wired, "curl", "-s", "-o", "/dev/null", "http://172.16.5.1:8080/page",
               check=False).returncode == 0:
            break
        time.sleep(0.1)
    assert not fetch()                     # no translation: the wired side has no route back
    assert pfctl_cmd("-f", "/etc/pf.conf").returncode == 0
    assert not fetch()                     # loaded but not enabled
    proc = pfctl_cmd("-e")
    assert proc.returncode == 0 and proc.stderr == "pf enabled\n", proc.stderr
    assert fetch()
    assert "172.16.5.2 - -" in (tmp_path / "http.log").read_text()
    assert pfctl_cmd("-a", "wifibox-bhyve", "-s", "nat").stdout == OUR_ANCHOR
    assert pfctl_cmd("-s", "nat").stdout == 'nat-anchor "wifibox-bhyve"\n'
    # A wrong rule (the wrong uplink) fails the fetch.
    sim.file("/etc/wrong.conf", "nat on em1 inet from 10.0.0.0/24 to any -> (em1)\n")
    assert pfctl_cmd("-a", "wifibox-bhyve", "-f", "/etc/wrong.conf").returncode == 0
    assert not fetch()
    assert pfctl_cmd("-a", "wifibox-bhyve", "-f", "/etc/wb-nat.conf").returncode == 0
    assert fetch()
    assert pfctl_cmd("-d").returncode == 0
    assert not fetch()
    assert pfctl_cmd("-s", "info").stdout == "Status: Disabled\n"
