# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Role access_point: the rendered guest files at work in network namespaces (the fast tier, no VM).

    sta1, sta2 --veth-- air (bridge) --veth-- guest (wlan0 | eth0) --veth-- laptop (tap0 in wifibox0 | lan0) -- wired

The addressing is the hostapd build's, reversed from the client's: the guest's eth0 is
10.0.0.2 with the laptop (10.0.0.1 on wifibox0) as its gateway; wlan0 is 192.168.0.1 and
serves the stations with udhcpd and radvd. The guest runs what the role rendered: sysctl,
interfaces.conf (through ifup), iptables/ip6tables, udhcpd.conf, radvd.conf.

What stands in for what (there is no Wi-Fi in a namespace; the VM tier has hostapd and
mac80211_hwsim): the "air" bridge is the radio, and its port isolation is hostapd's
ap_isolate (the driver not relaying frames between stations). The laptop's side is set by
hand as the wifibox_host role describes it (wifibox0 10.0.0.1/24, forwarding on) with an
iptables MASQUERADE in place of the pf NAT rule; the lab's pfctl will replace that.
All traffic stays in the namespaces the test creates.
"""

from __future__ import annotations

import os
import re

import pytest

from conftest import UDHCPC_SCRIPT, run_role, wait_for

PAGE = 'hello-from-the-wired-side'
PASS = 'station pass phrase'

pytestmark = pytest.mark.lab


def _write(path, text, mode=0o644):
    with open(path, 'w', encoding='utf-8') as handle:
        handle.write(text)
    os.chmod(path, mode)
    return path


def _sysctl(lab, ns, path):
    with open(path, encoding='utf-8') as handle:
        for line in handle:
            line = line.strip()
            if line.startswith('net.ipv4.') or line.startswith('net.ipv6.'):
                lab.run(ns, 'sysctl', '-qw', line)


def _curl(lab, ns, url, timeout=2):
    return lab.run(ns, 'curl', '-s', '-g', '--connect-timeout', str(timeout), '--max-time', str(timeout + 1), url,
                   check=False, timeout=timeout + 10)


def _serve(lab, ns, port, name):
    www = os.path.join(lab.work, 'www')
    log = os.path.join(lab.work, '%s.log' % name)
    lab.spawn(ns, 'python3', '-m', 'http.server', str(port), '--bind', '::', '--directory', www, log=log)
    assert wait_for(lambda: lab.run(ns, 'curl', '-s', '-o', '/dev/null', 'http://127.0.0.1:%d/page' % port,
                                    check=False).returncode == 0, timeout=10), 'server %s did not start' % name
    return log


def _log(path):
    with open(path, encoding='utf-8') as handle:
        return handle.read()


def _lease(lab, ns, script, name):
    lease = os.path.join(lab.work, name + '.lease')
    proc = lab.run(ns, 'env', 'LEASE_FILE=' + lease, 'busybox', 'udhcpc', '-i', 'wlan0', '-s', script,
                   '-n', '-q', '-t', '8', '-T', '1', '-A', '1', check=False, timeout=30)
    assert os.path.exists(lease), 'no DHCP lease in %s:\n%s%s' % (ns, proc.stdout, proc.stderr)
    with open(lease, encoding='utf-8') as handle:
        return dict(line.rstrip('\n').partition('=')[::2] for line in handle)


@pytest.fixture(scope='module')
def ap_files(tmp_path_factory):
    work = str(tmp_path_factory.mktemp('aplab'))
    run = run_role(work, {'wifibox_guest_role': 'access_point', 'wifibox_guest_ap_passphrase': PASS,
                          'wifibox_guest_ap_client_isolation': True, 'wifibox_guest_country': 'DE'})
    assert run.recap['failed'] == 0, run.out[-4000:]
    return run.dir


def test_stations_lease_fetch_through_the_host_and_are_isolated(lab, ap_files):
    app = os.path.join(ap_files, 'appliance')
    work = lab.work
    air, guest, laptop, wired = lab.ns('air'), lab.ns('guest'), lab.ns('laptop'), lab.ns('wired')
    stations = [lab.ns('sta1'), lab.ns('sta2')]
    # The radio: a bridge in "air" with the guest's wlan0 and each station's wlan0 on it.
    lab.run(air, 'ip', 'link', 'add', 'radio', 'type', 'bridge')
    lab.run(air, 'ip', 'link', 'set', 'radio', 'up')
    lab.run(air, 'ip', 'link', 'add', 'ap0', 'type', 'veth', 'peer', 'name', 'wlan0', 'netns', guest)
    for i, sta in enumerate(stations):
        lab.run(air, 'ip', 'link', 'add', 'sta%d' % i, 'type', 'veth', 'peer', 'name', 'wlan0', 'netns', sta)
    for port in ['ap0'] + ['sta%d' % i for i in range(len(stations))]:
        lab.run(air, 'ip', 'link', 'set', port, 'master', 'radio')
        lab.run(air, 'ip', 'link', 'set', port, 'up')
    # The laptop: wifibox0 (bridge with the tap) at 10.0.0.1/24 and a wired uplink.
    lab.run(guest, 'ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'tap0', 'netns', laptop)
    lab.run(laptop, 'ip', 'link', 'add', 'wifibox0', 'type', 'bridge')
    lab.run(laptop, 'ip', 'link', 'set', 'tap0', 'master', 'wifibox0')
    for dev in ('tap0', 'wifibox0'):
        lab.run(laptop, 'ip', 'link', 'set', dev, 'up')
    lab.run(laptop, 'sysctl', '-qw', 'net.ipv6.conf.wifibox0.accept_dad=0')
    lab.run(laptop, 'ip', 'addr', 'add', '10.0.0.1/24', 'dev', 'wifibox0')
    lab.run(laptop, 'ip', '-6', 'addr', 'add', 'fd00::1/64', 'dev', 'wifibox0', 'nodad')
    lab.run(laptop, 'ip', 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', wired)
    lab.run(laptop, 'ip', 'addr', 'add', '172.16.5.2/24', 'dev', 'lan0')
    lab.run(laptop, 'ip', 'link', 'set', 'lan0', 'up')
    lab.run(wired, 'ip', 'addr', 'add', '172.16.5.1/24', 'dev', 'eth0')
    lab.run(wired, 'ip', 'link', 'set', 'eth0', 'up')
    lab.run(laptop, 'sysctl', '-qw', 'net.ipv4.ip_forward=1')          # gateway_enable="YES"
    lab.run(laptop, 'iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', 'lan0', '-s', '10.0.0.0/24',
            '-j', 'MASQUERADE')                                          # pf: nat on lan0 from 10.0.0.0/24
    www = os.path.join(work, 'www')
    os.makedirs(www)
    _write(os.path.join(www, 'page'), PAGE + '\n')
    wired_log = _serve(lab, wired, 8080, 'wired')
    laptop_log = _serve(lab, laptop, 8081, 'laptop')

    # The guest, from the rendered files.
    _sysctl(lab, guest, os.path.join(app, 'sysctl.conf'))
    _sysctl(lab, guest, os.path.join(app, 'sysctl.d', 'ipv6.conf'))
    for dev in ('eth0', 'wlan0'):
        lab.run(guest, 'sysctl', '-qw', 'net.ipv6.conf.%s.accept_dad=0' % dev)
    main = _write(os.path.join(work, 'interfaces'), 'auto lo\niface lo inet loopback\nauto eth0\nauto wlan0\n'
                  'source %s\n' % os.path.join(app, 'interfaces.conf'))
    state = os.path.join(work, 'ifstate')
    os.makedirs(state)
    lab.run(guest, 'ifup', '--no-scripts', '-i', main, '--state-dir', state, 'eth0', 'wlan0')
    routes = lab.run(guest, 'ip', 'route').stdout
    assert 'default via 10.0.0.1 dev eth0' in routes, routes
    assert 'inet 192.168.0.1/24' in lab.run(guest, 'ip', '-4', 'addr', 'show', 'dev', 'wlan0').stdout
    lab.run(guest, 'iptables-restore', os.path.join(app, 'iptables'))
    lab.run(guest, 'ip6tables-restore', os.path.join(app, 'ip6tables'))
    with open(os.path.join(app, 'udhcpd.conf'), encoding='utf-8') as handle:
        conf = _write(os.path.join(work, 'udhcpd.conf'), handle.read() + '\nlease_file %s/udhcpd.leases\n'
                      'pidfile %s/udhcpd.pid\n' % (work, work))
    _write(os.path.join(work, 'udhcpd.leases'), '')
    lab.spawn(guest, 'busybox', 'udhcpd', '-f', '-a', '100', conf, log=os.path.join(work, 'udhcpd.log'))
    lab.spawn(guest, 'radvd', '-n', '-C', os.path.join(app, 'radvd.conf'), '-p', os.path.join(work, 'radvd.pid'),
              '-m', 'stderr', log=os.path.join(work, 'radvd.log'))

    # Each station leases from the guest and fetches the wired side's page through both NATs.
    script = _write(os.path.join(work, 'udhcpc.script'), UDHCPC_SCRIPT, 0o755)
    leases = []
    for i, sta in enumerate(stations):
        lab.run(sta, 'sysctl', '-qw', 'net.ipv6.conf.wlan0.accept_dad=0')
        lease = _lease(lab, sta, script, 'sta%d' % i)
        assert re.match(r'^192\.168\.0\.\d+$', lease['ip']) and lease['ip'] != '192.168.0.1', lease
        assert lease['router'] == '192.168.0.1' and lease['dns'].split() == ['8.8.8.8', '8.8.4.4']
        leases.append(lease)
        got = _curl(lab, sta, 'http://172.16.5.1:8080/page')
        assert got.returncode == 0 and got.stdout.strip() == PAGE, got.stderr
    assert leases[0]['ip'] != leases[1]['ip']
    # The wired server sees the laptop (its NAT); the laptop sees the guest (the guest's MASQUERADE on eth0).
    assert re.search(r'(^|:)172\.16\.5\.2 - - .*"GET /page', _log(wired_log), re.M), _log(wired_log)
    got = _curl(lab, stations[0], 'http://10.0.0.1:8081/page')
    assert got.returncode == 0 and got.stdout.strip() == PAGE
    assert re.search(r'(^|:)10\.0\.0\.2 - - .*"GET /page', _log(laptop_log), re.M), _log(laptop_log)

    # IPv6: radvd on wlan0 gives the stations an fd01::/64 address; NAT66 to the laptop's fd00::1.
    def sta_ula():
        out = lab.run(stations[0], 'ip', '-6', '-o', 'addr', 'show', 'dev', 'wlan0', 'scope', 'global').stdout
        match = re.search(r'inet6 (fd01::[0-9a-f:]+)/64', out)
        return match.group(1) if match else None
    assert wait_for(lambda: sta_ula() is not None, timeout=15), _log(os.path.join(work, 'radvd.log'))
    assert wait_for(lambda: 'default' in lab.run(stations[0], 'ip', '-6', 'route', 'show', 'default').stdout,
                    timeout=10)
    got = _curl(lab, stations[0], 'http://[fd00::1]:8081/page')
    assert got.returncode == 0 and got.stdout.strip() == PAGE, got.stderr
    assert re.search(r'^fd00::ffff - - .*"GET /page', _log(laptop_log), re.M), _log(laptop_log)

    # The laptop reaches the guest's socket pass-through port, nothing else, and no station.
    _serve(lab, guest, 1200, 'uds')
    _serve(lab, guest, 1300, 'other')
    _serve(lab, stations[1], 8022, 'sta2')
    assert _curl(lab, laptop, 'http://10.0.0.2:1200/page').returncode == 0
    assert _curl(lab, laptop, 'http://10.0.0.2:1300/page').returncode != 0
    lab.run(laptop, 'ip', 'route', 'add', '192.168.0.0/24', 'via', '10.0.0.2')
    assert _curl(lab, laptop, 'http://%s:8022/page' % leases[1]['ip']).returncode != 0

    # Client isolation. Without it (as with ap_isolate=0) one station reaches the other directly.
    assert _curl(lab, stations[0], 'http://%s:8022/page' % leases[1]['ip']).stdout.strip() == PAGE
    # hostapd's ap_isolate=1: the radio no longer relays frames between stations ...
    for i in range(len(stations)):
        lab.run(air, 'bridge', 'link', 'set', 'dev', 'sta%d' % i, 'isolated', 'on')
    lab.run(stations[0], 'ip', 'neigh', 'flush', 'all')
    assert _curl(lab, stations[0], 'http://%s:8022/page' % leases[1]['ip']).returncode != 0
    # ... and stations that route to each other through the guest are stopped by the guest's rule.
    lab.run(stations[0], 'ip', 'route', 'add', leases[1]['ip'] + '/32', 'via', '192.168.0.1')
    lab.run(stations[1], 'ip', 'route', 'add', leases[0]['ip'] + '/32', 'via', '192.168.0.1')
    assert _curl(lab, stations[0], 'http://%s:8022/page' % leases[1]['ip']).returncode != 0
    # The control: without the rendered FORWARD rule the detour works, so the rule is what stops it.
    lab.run(guest, 'iptables', '-D', 'FORWARD', '-i', 'wlan0', '-o', 'wlan0', '-j', 'DROP')
    assert _curl(lab, stations[0], 'http://%s:8022/page' % leases[1]['ip']).stdout.strip() == PAGE
    # The stations still reach the wired side.
    assert _curl(lab, stations[1], 'http://172.16.5.1:8080/page').stdout.strip() == PAGE
