"""dhclient(8), rc.d/dhclient and netif's DHCP in a lab laptop, leasing for real.

The DHCP server is busybox udhcpd in a network namespace this test creates, joined to the
laptop's wifibox0 by a veth pair (one end a member of the bridge); it serves 10.9.0.0/24
with router 10.9.0.1, two DNS servers, domain lab.example and 600 s leases.
"""
import os
import re
import subprocess
import time
import uuid

import pytest

pytestmark = pytest.mark.lab

LEASE_LINES = [r"DHCPDISCOVER on wifibox0 to 255\.255\.255\.255 port 67 interval \d+",
               r"DHCPOFFER from 10\.9\.0\.1",
               r"DHCPREQUEST on wifibox0 to 255\.255\.255\.255 port 67",
               r"DHCPACK from 10\.9\.0\.1",
               r"bound to 10\.9\.0\.(\d+) -- renewal in 300 seconds\."]
PIDFILE = "/var/run/dhclient/dhclient.wifibox0.pid"
LEASES = "/var/db/dhclient.leases.wifibox0"


def run(lp, *argv, **kw):
    r = lp.nsenter(list(argv), **kw)
    return r.returncode, r.stdout, r.stderr


def wait_for(predicate, timeout=30.0, step=0.2):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        result = predicate()
        if result:
            return result
        time.sleep(step)
    return predicate()


class DhcpServer:
    """udhcpd in its own namespace, its link a member of the laptop's wifibox0."""

    def __init__(self, lp, tmp_path):
        self.lp = lp
        tag = uuid.uuid4().hex[:6]
        self.ns = "wfdh" + tag
        self.link = "dh" + tag  # the laptop's end, a member of wifibox0
        self.dir = tmp_path
        self.proc = None
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        subprocess.run(["ip", "link", "add", "name", self.link, "type", "veth", "peer", "name", "srv0",
                        "netns", self.ns], check=True)
        subprocess.run(["ip", "link", "set", self.link, "netns", str(lp.anchor_pid())], check=True)
        self.ns_run("ip", "addr", "add", "10.9.0.1/24", "dev", "srv0")
        self.ns_run("ip", "link", "set", "srv0", "up")
        assert run(lp, "ifconfig", "bridge", "create", "name", "wifibox0")[0] == 0
        assert run(lp, "ifconfig", "wifibox0", "addm", self.link, "up")[0] == 0
        assert run(lp, "ifconfig", self.link, "up")[0] == 0
        with open(os.path.join(self.dir, "udhcpd.conf"), "w") as f:
            f.write("interface srv0\nstart 10.9.0.20\nend 10.9.0.30\nopt router 10.9.0.1\n"
                    "opt subnet 255.255.255.0\nopt dns 10.9.0.1 10.9.0.2\nopt domain lab.example\n"
                    "opt lease 600\nlease_file %s/leases\npidfile %s/udhcpd.pid\n" % (self.dir, self.dir))

    def ns_run(self, *argv):
        subprocess.run(["ip", "netns", "exec", self.ns, *argv], check=True)

    def start(self):
        open(os.path.join(self.dir, "leases"), "w").close()
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.ns, "busybox", "udhcpd", "-f",
                                      os.path.join(self.dir, "udhcpd.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return self

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def close(self):
        self.stop()
        subprocess.run(["ip", "netns", "del", self.ns], check=False)


@pytest.fixture
def dhcp(lab_laptop, tmp_path):
    server = DhcpServer(lab_laptop, str(tmp_path))
    yield server
    run(lab_laptop, "sh", "-c", "test -f %s && kill $(cat %s)" % (PIDFILE, PIDFILE))
    server.close()


def daemon_pid(lp):
    rc, out, _ = run(lp, "cat", PIDFILE)
    return int(out) if rc == 0 and out.strip() else None


def alive(lp, pid):
    return pid and run(lp, "kill", "-0", str(pid))[0] == 0


def inet(lp):
    found = re.search(r"\tinet (\S+) netmask (\S+) broadcast (\S+)", run(lp, "ifconfig", "wifibox0")[1])
    return found.groups() if found else None


def test_dhclient_leases_daemonises_and_leaves_with_the_interface(lab_laptop, dhcp):
    lp = lab_laptop
    assert run(lp, "dhclient") == (1, "", "usage: dhclient [-bdqu] [-c conffile] [-l leasefile] "
                                          "[-p pidfile] interface\n")
    assert run(lp, "dhclient", "-x", "wifibox0")[0] == 1
    assert run(lp, "dhclient", "nosuch0") == (1, "", "nosuch0: not found\nexiting.\n")
    assert run(lp, "dhclient", lp.info["mgmt_if"])[0] == 1  # the lab's SSH link stays the lab's
    dhcp.start()
    rc, out, err = run(lp, "dhclient", "wifibox0", timeout=90)
    assert rc == 0 and out == "", err
    lines = err.splitlines()
    # one DISCOVER per interval until the server answers (it answers the first one here)
    assert len(lines) == 5, err
    for pattern, line in zip(LEASE_LINES, lines):
        assert re.fullmatch(pattern, line), (pattern, err)
    address = "10.9.0." + re.fullmatch(LEASE_LINES[-1], lines[-1]).group(1)
    # dhclient-script's effects: the address, the default route (none before), resolv.conf
    assert inet(lp) == (address, "0xffffff00", "10.9.0.255")
    assert "default via 10.9.0.1 dev wifibox0" in run(lp, "ip", "-4", "route", "show", "default")[1]
    assert run(lp, "cat", "/etc/resolv.conf")[1] == ("search lab.example\nnameserver 10.9.0.1\n"
                                                     "nameserver 10.9.0.2\n")
    leases = run(lp, "cat", LEASES)[1]
    assert 'interface "wifibox0";\n  fixed-address %s;\n' % address in leases, leases
    for option in ("option subnet-mask 255.255.255.0;", "option routers 10.9.0.1;",
                   "option domain-name-servers 10.9.0.1,10.9.0.2;", 'option domain-name "lab.example";',
                   "option dhcp-lease-time 600;", "option dhcp-server-identifier 10.9.0.1;"):
        assert option in leases, leases
    assert re.search(r"  renew \d \d{4}/\d\d/\d\d \d\d:\d\d:\d\d;\n", leases), leases
    # in the background with its pid file; a second one on the interface is refused
    pid = daemon_pid(lp)
    assert alive(lp, pid)
    assert run(lp, "dhclient", "wifibox0") == (1, "", "dhclient already running, pid: %d.\nexiting.\n" % pid)
    messages = run(lp, "cat", "/var/log/messages")[1]
    # syslog has them too (the bound line still from the process before it daemonised)
    assert re.search(r" dhclient\[\d+\]: bound to %s -- renewal in 300 seconds\.\n" % re.escape(address),
                     messages), messages
    # the interface goes away: dhclient exits and removes its pid file
    assert run(lp, "ifconfig", "wifibox0", "destroy")[0] == 0
    assert wait_for(lambda: not alive(lp, pid), 10)
    assert run(lp, "test", "-e", PIDFILE)[0] == 1
    assert "Interface wifibox0 is gone, dhclient exiting" in run(lp, "cat", "/var/log/messages")[1]


def test_rc_conf_syncdhcp_background_and_plain_dhcp(lab_laptop, dhcp):
    lp = lab_laptop
    dhcp.start()
    # SYNCDHCP: netif runs rc.d/dhclient and waits for the lease
    assert run(lp, "sysrc", "ifconfig_wifibox0=SYNCDHCP")[0] == 0
    rc, out, err = run(lp, "service", "netif", "start", "wifibox0", timeout=120)
    assert rc == 0, (out, err)
    assert "Starting dhclient." in out and re.search(LEASE_LINES[-1], err), (out, err)
    assert inet(lp) and inet(lp)[0].startswith("10.9.0.")
    pid = daemon_pid(lp)
    assert run(lp, "service", "dhclient", "status", "wifibox0")[1] == "dhclient is running as pid %d.\n" % pid
    rc, out, err = run(lp, "service", "netif", "start", "wifibox0")
    assert "dhclient already running? (pid=%d)." % pid in err, (out, err)
    rc, out, _ = run(lp, "service", "dhclient", "stop", "wifibox0")
    assert rc == 0 and out.startswith("Stopping dhclient."), out
    assert not alive(lp, pid)
    # background_dhclient_wifibox0: dhclient -b, netif returns at once and the lease comes later
    assert run(lp, "sysrc", "background_dhclient_wifibox0=YES")[0] == 0
    lease_count = run(lp, "cat", LEASES)[1].count("lease {")
    rc, out, err = run(lp, "service", "netif", "start", "wifibox0")
    assert rc == 0 and out == "Starting dhclient.\n" and err == "", (out, err)
    assert wait_for(lambda: run(lp, "cat", LEASES)[1].count("lease {") > lease_count, 30)
    assert "-b wifibox0" in run(lp, "sh", "-c", "tr '\\0' ' ' < /proc/%d/cmdline" % daemon_pid(lp))[1]
    run(lp, "service", "dhclient", "stop", "wifibox0")
    # plain DHCP: netif leaves dhclient to devd (LINK_UP on ethernet media); service dhclient leases
    assert run(lp, "sysrc", "ifconfig_wifibox0=DHCP", "background_dhclient_wifibox0=NO")[0] == 0
    assert run(lp, "service", "netif", "start", "wifibox0")[1:] == ("", "")
    assert not alive(lp, daemon_pid(lp))  # (SIGTERM leaves dhclient's pid file behind, unlocked)
    rc, out, err = run(lp, "service", "dhclient", "start", "wifibox0", timeout=120)
    assert rc == 0 and re.search(LEASE_LINES[-1], err), (out, err)
    run(lp, "service", "dhclient", "stop", "wifibox0")
    # an interface rc.conf does not mark DHCP is refused; static addresses still work
    assert run(lp, "sysrc", "ifconfig_wifibox0=inet 10.9.0.7/24")[0] == 0
    assert run(lp, "service", "dhclient", "start", "wifibox0") == (
        1, "'wifibox0' is not a DHCP-enabled interface\n", "")
    assert run(lp, "service", "netif", "start", "wifibox0")[0] == 0
    assert inet(lp) == ("10.9.0.7", "0xffffff00", "10.9.0.255")


def test_no_offer_times_out_then_retries_in_the_background(lab_laptop, dhcp):
    """dhclient.conf's timeout and retry: no server -> give up, daemonise, try again later."""
    lp = lab_laptop
    lp.write_file("/etc/dhclient.conf", "# lab test\ntimeout 6;\nretry 4;\n")
    start = time.monotonic()
    rc, out, err = run(lp, "dhclient", "wifibox0", timeout=60)
    took = time.monotonic() - start
    lines = err.splitlines()
    assert rc == 0 and lines[-2:] == ["No DHCPOFFERS received.",
                                      "No working leases in persistent database - sleeping."], err
    intervals = [int(re.fullmatch(LEASE_LINES[0].replace(r"\d+", r"(\d+)"), line).group(1))
                 for line in lines[:-2]]
    assert intervals and all(1 <= i <= 15 for i in intervals), err
    assert 6 <= took < 20, (took, err)
    pid = daemon_pid(lp)
    assert alive(lp, pid)
    dhcp.start()
    assert wait_for(lambda: inet(lp), 40), run(lp, "cat", "/var/log/messages")[1][-2000:]
    assert daemon_pid(lp) == pid  # the same daemon got it


def test_rc_conf_ipv6_accept_rtadv_and_static_inet6(lab_laptop, dhcp):
    """ifconfig_wifibox0_ipv6: accept_rtadv takes the prefix of a real RA (radvd in the server's
    namespace) after rtsol solicits it; a static inet6 address is set as given."""
    lp = lab_laptop
    conf = os.path.join(dhcp.dir, "radvd.conf")
    with open(conf, "w") as f:
        f.write("interface srv0 {\n  AdvSendAdvert on;\n  MinRtrAdvInterval 200;\n  MaxRtrAdvInterval 600;\n"
                "  prefix fd09::/64 { AdvOnLink on; AdvAutonomous on; };\n};\n")
    dhcp.ns_run("sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1")
    radvd = subprocess.Popen(["ip", "netns", "exec", dhcp.ns, "radvd", "-n", "-C", conf, "-p",
                              os.path.join(dhcp.dir, "radvd.pid")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)  # radvd's first unsolicited RA goes out now; the next only after minutes
        assert run(lp, "sysrc", "ifconfig_wifibox0_ipv6=inet6 accept_rtadv")[0] == 0
        assert "IFDISABLED" in run(lp, "ifconfig", "wifibox0")[1]
        rc, out, err = run(lp, "service", "netif", "start", "wifibox0", timeout=60)
        assert rc == 0, (out, err)
        status = run(lp, "ifconfig", "wifibox0")[1]
        assert "\tnd6 options=3<PERFORMNUD,ACCEPT_RTADV>\n" in status, status

        def slaac():
            return re.search(r"inet6 (fd09::[0-9a-f:]+)/64",
                             run(lp, "ip", "-6", "-o", "addr", "show", "dev", "wifibox0")[1])
        assert wait_for(slaac, 15), run(lp, "ip", "-6", "addr")[1]
        assert "dev wifibox0" in run(lp, "ip", "-6", "route", "show", "default")[1]
        assert run(lp, "sysrc", "ifconfig_wifibox0_ipv6=inet6 fd09::5/64")[0] == 0
        assert run(lp, "service", "netif", "start", "wifibox0")[0] == 0
        assert "inet6 fd09::5/64" in run(lp, "ip", "-6", "-o", "addr", "show", "dev", "wifibox0")[1]
        # (netif turns accept_rtadv on, never off: the flag stays until the next boot)
        assert "\tnd6 options=3<PERFORMNUD,ACCEPT_RTADV>\n" in run(lp, "ifconfig", "wifibox0")[1]
        assert run(lp, "rtsol", "nosuch0") == (1, "", "rtsol: failed to initialize nosuch0\n")
    finally:
        radvd.terminate()
        radvd.wait(10)


def test_dhclient_conf_interface_block_overrides_and_mistakes_are_warnings(lab_laptop, dhcp):
    """clparse.c: an `interface "IF" { ... }` block starts from the statements read before it and
    overrides them for IF only; a mistake is a `FILE line N:` warning (with the line and a caret)
    and dhclient carries on; an unknown statement also swallows the statement after it."""
    lp = lab_laptop
    lp.write_file("/etc/dhclient.conf",
                  "# the user's own\n"
                  "retry 300;\n"
                  "timeout 2;\n"
                  "interface \"em0\" { timeout 1; }\n"
                  "interface \"wifibox0\" {\n"
                  "  retry 2;\n"
                  "  initial-interval 1;\n"
                  "  backoff-cutoff 5s;\n"
                  "  frobnicate on;\n"
                  "  timeout 90;\n"
                  "}\n"
                  "timeout 120;\n")
    start = time.monotonic()
    rc, out, err = run(lp, "dhclient", "wifibox0", timeout=60)
    took = time.monotonic() - start
    lines = err.splitlines()
    assert rc == 0 and out == "", err
    assert lines[:9] == ["/etc/dhclient.conf line 8: Expecting numeric lease time",
                         "  backoff-cutoff 5s;", "                 ^",
                         "/etc/dhclient.conf line 9: expecting a statement.",
                         "  frobnicate on;", "  ^",
                         "/etc/dhclient.conf line 10: semicolon expected.",
                         "  timeout 90;", "  ^"], err
    # timeout 2 from before the block (timeout 90 was swallowed, timeout 120 comes after it)
    assert lines[-2:] == ["No DHCPOFFERS received.",
                          "No working leases in persistent database - sleeping."], err
    assert took < 45, (took, err)  # timeout 2, not 90 or 120 (wide margin: a loaded CI)
    discovers = [line for line in lines if line.startswith("DHCPDISCOVER")]
    assert discovers and all(re.fullmatch(r"DHCPDISCOVER on wifibox0 to 255\.255\.255\.255 port 67 interval [1-3]",
                                          line) for line in discovers), err
    assert "/etc/dhclient.conf line 8: Expecting numeric lease time" in run(lp, "cat", "/var/log/messages")[1]
    # retry 2 (the block's): the lease comes seconds after the server answers, not 300 s
    pid = daemon_pid(lp)
    assert alive(lp, pid)
    dhcp.start()
    answered = time.monotonic()
    assert wait_for(lambda: inet(lp), 90), run(lp, "cat", "/var/log/messages")[1][-2000:]
    assert time.monotonic() - answered < 60  # not FreeBSD's default retry of 300 s
    assert daemon_pid(lp) == pid


def test_dhclient_conf_missing_or_other_interfaces_keep_the_defaults(lab_laptop, dhcp):
    """No /etc/dhclient.conf is no mistake; another interface's block changes nothing here, and
    `-c` names another file."""
    lp = lab_laptop
    run(lp, "rm", "-f", "/etc/dhclient.conf")
    lp.write_file("/etc/dhclient.other", "interface \"em0\" { timeout 1; }\ntimeout 3;\n")
    dhcp.start()
    rc, out, err = run(lp, "dhclient", "-c", "/etc/dhclient.other", "wifibox0", timeout=90)
    assert rc == 0 and "line" not in err and re.search(LEASE_LINES[-1], err), err
    run(lp, "sh", "-c", "kill $(cat %s)" % PIDFILE)
    dhcp.stop()
    lp.write_file("/etc/dhclient.conf", "interface \"em0\" { timeout 1; retry 1; }\ntimeout 3;\nretry 1;\n")
    start = time.monotonic()
    rc, out, err = run(lp, "dhclient", "wifibox0", timeout=60)
    assert rc == 0 and err.splitlines()[-1] == "No working leases in persistent database - sleeping.", err
    assert time.monotonic() - start < 40  # timeout 3, not the default 60 (wide margin: a loaded CI)
