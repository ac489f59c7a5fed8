# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The rendered guest configuration at work in network namespaces (LAB-PROBE.md probe 1).

upstream (dnsmasq DHCP, web page) --veth-- guest (wlan0 | eth0) --veth-- laptop (tap0 in bridge wifibox0)

The guest runs what the role rendered: its sysctl settings, its interfaces file (through
ifup), its iptables/ip6tables rules, its udhcpd.conf after the %%DNS%% substitution its DHCP
hook does, and radvd. All traffic stays in the namespaces the test creates.
"""

from __future__ import annotations

import os
import re

import pytest

from conftest import UDHCPC_SCRIPT, check_ifquery, substitute_udhcpd, wait_for
from scenarios import host_name

UPSTREAM_DNS = '192.168.50.53'
UPSTREAM_DNS6 = 'fd50::53'
PAGE = 'hello-from-upstream'

pytestmark = pytest.mark.lab


def _write(path, text, mode=0o644):
    with open(path, 'w', encoding='utf-8') as handle:
        handle.write(text)
    os.chmod(path, mode)
    return path


def _apply_sysctl(lab, ns, path):
    """Apply the net.* settings of a rendered sysctl file in NS (kernel.* ones are global: skipped)."""
    with open(path, encoding='utf-8') as handle:
        for line in handle:
            line = line.strip()
            if line.startswith('net.ipv4.') or line.startswith('net.ipv6.'):
                lab.run(ns, 'sysctl', '-qw', line)


def _topology(lab, ipv6=False):
    """Three namespaces wired as in the probe; the upstream serves DHCP (with a DNS option) and a page."""
    work = lab.work
    up, guest, laptop = lab.ns('upstream'), lab.ns('guest'), lab.ns('laptop')
    lab.run(up, 'ip', 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'wlan0', 'netns', guest)
    lab.run(guest, 'ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'tap0', 'netns', laptop)
    lab.run(up, 'ip', 'addr', 'add', '192.168.50.1/24', 'dev', 'up0')
    if ipv6:
        lab.run(up, 'sysctl', '-qw', 'net.ipv6.conf.up0.accept_dad=0')
        lab.run(up, 'ip', '-6', 'addr', 'add', 'fd50::1/64', 'dev', 'up0', 'nodad')
    lab.run(up, 'ip', 'link', 'set', 'up0', 'up')
    lab.run(laptop, 'ip', 'link', 'add', 'wifibox0', 'type', 'bridge')
    lab.run(laptop, 'ip', 'link', 'set', 'tap0', 'master', 'wifibox0')
    lab.run(laptop, 'ip', 'link', 'set', 'tap0', 'up')
    lab.run(laptop, 'ip', 'link', 'set', 'wifibox0', 'up')
    www = os.path.join(work, 'www')
    os.makedirs(www)
    _write(os.path.join(www, 'page'), PAGE + '\n')
    lab.pidfiles.append(os.path.join(work, 'dnsmasq.pid'))
    lab.run(up, 'dnsmasq', '--conf-file=/dev/null', '--port=0', '--interface=up0', '--bind-interfaces',
            '--dhcp-range=192.168.50.100,192.168.50.150,255.255.255.0,1h', '--dhcp-option=3,192.168.50.1',
            '--dhcp-option=6,%s' % UPSTREAM_DNS, '--dhcp-option=15,lab.example', '--no-ping',
            '--dhcp-leasefile=%s/up.leases' % work, '--pid-file=%s/dnsmasq.pid' % work)
    lab.spawn(up, 'python3', '-m', 'http.server', '8080', '--bind', '::', '--directory', www,
              log=os.path.join(work, 'http.log'))
    script = _write(os.path.join(work, 'udhcpc.script'), UDHCPC_SCRIPT, 0o755)
    return up, guest, laptop, script


def _udhcpc(lab, ns, iface, script, name):
    lease = os.path.join(lab.work, name + '.lease')
    proc = lab.run(ns, 'env', 'LEASE_FILE=' + lease, 'busybox', 'udhcpc', '-i', iface, '-s', script,
                   '-n', '-q', '-t', '8', '-T', '1', '-A', '1', check=False, timeout=30)
    assert os.path.exists(lease), 'no DHCP lease on %s in %s:\n%s%s' % (iface, ns, proc.stdout, proc.stderr)
    with open(lease, encoding='utf-8') as handle:
        return dict(line.rstrip('\n').partition('=')[::2] for line in handle)


def _listen(lab, ns, port):
    """A TCP service in NS on every address (as socat or a daemon would be), to test what reaches it."""
    www = os.path.join(lab.work, 'www')
    lab.spawn(ns, 'python3', '-m', 'http.server', str(port), '--bind', '::', '--directory', www)
    assert wait_for(lambda: lab.run(ns, 'curl', '-s', '-o', '/dev/null', 'http://127.0.0.1:%d/page' % port,
                                    check=False).returncode == 0, timeout=10), 'listener on %d did not start' % port


def _curl(lab, ns, url, timeout=2):
    return lab.run(ns, 'curl', '-s', '-g', '--connect-timeout', str(timeout), '--max-time', str(timeout + 1), url,
                   check=False, timeout=timeout + 10)


def _start_guest_nat(lab, guest, app, script, ipv6=False):
    """Bring the guest up from the rendered wifibox-alpine files."""
    work = lab.work
    _apply_sysctl(lab, guest, os.path.join(app, 'sysctl.conf'))
    if ipv6:
        _apply_sysctl(lab, guest, os.path.join(app, 'sysctl.d', 'ipv6.conf'))
        lab.run(guest, 'sysctl', '-qw', 'net.ipv6.conf.eth0.accept_dad=0')
    # The guest's /etc/network/interfaces brings eth0 up from the rendered interfaces.conf.
    main = _write(os.path.join(work, 'interfaces'), 'auto lo\niface lo inet loopback\nauto eth0\nauto wlan0\n'
                  'source %s\n' % os.path.join(app, 'interfaces.conf'))
    state = os.path.join(work, 'ifstate')
    os.makedirs(state, exist_ok=True)
    lab.run(guest, 'ifup', '--no-scripts', '-i', main, '--state-dir', state, 'eth0')
    lab.run(guest, 'iptables-restore', os.path.join(app, 'iptables'))
    lab.run(guest, 'ip6tables-restore', os.path.join(app, 'ip6tables'))
    # wlan0 "inet dhcp": busybox udhcpc, as the guest does; its hook fills the udhcpd.conf template.
    lab.run(guest, 'ip', 'link', 'set', 'wlan0', 'up')
    wlan = _udhcpc(lab, guest, 'wlan0', script, 'guest-wlan0')
    with open(os.path.join(app, 'udhcpd.conf'), encoding='utf-8') as handle:
        template = handle.read()
    conf = os.path.join(work, 'udhcpd.conf')
    text = substitute_udhcpd(template, conf, dns=wlan['dns'], domain=wlan.get('domain', ''),
                             search=wlan.get('domain', ''))
    _write(conf, text + '\nlease_file %s/udhcpd.leases\npidfile %s/udhcpd.pid\n' % (work, work))
    _write(os.path.join(work, 'udhcpd.leases'), '')
    lab.spawn(guest, 'busybox', 'udhcpd', '-f', '-a', '100', conf, log=os.path.join(work, 'udhcpd.log'))
    if ipv6:
        lab.run(guest, 'ip', '-6', 'addr', 'add', 'fd50::2/64', 'dev', 'wlan0', 'nodad')
        lab.run(guest, 'ip', '-6', 'route', 'add', 'default', 'via', 'fd50::1')
        with open(os.path.join(app, 'radvd.conf'), encoding='utf-8') as handle:
            radvd = _write(os.path.join(work, 'radvd.conf'), handle.read().replace('%%DNS%%', UPSTREAM_DNS6))
        lab.spawn(guest, 'radvd', '-n', '-C', radvd, '-p', os.path.join(work, 'radvd.pid'), '-m', 'stderr',
                  log=os.path.join(work, 'radvd.log'))
    return wlan


def _http_log(lab):
    with open(os.path.join(lab.work, 'http.log'), encoding='utf-8') as handle:
        return handle.read()


def _output_dir(rendered, scenario):
    run, hosts, work = rendered
    host = host_name(scenario)
    assert run.recap_of(host)['failed'] == 0, run.out[-4000:]
    assert host in hosts
    return os.path.join(work, host)


def test_nat_lease_fetch_and_firewall(lab, rendered):
    """NAT (IPv4 and NAT66): lease with the upstream DNS, page through MASQUERADE, nothing new gets in."""
    app = os.path.join(_output_dir(rendered, 'wifibox_alpine-nat-nat66-psk'), 'appliance')
    up, guest, laptop, script = _topology(lab, ipv6=True)
    wlan = _start_guest_nat(lab, guest, app, script, ipv6=True)
    assert wlan['ip'].startswith('192.168.50.1')
    lab.run(laptop, 'sysctl', '-qw', 'net.ipv6.conf.wifibox0.accept_dad=0')
    # Like the host's accept_rtadv: take router advertisements whatever the forwarding setting.
    lab.run(laptop, 'sysctl', '-qw', 'net.ipv6.conf.wifibox0.accept_ra=2')

    # The laptop (the FreeBSD host's wifibox0) leases from the rendered udhcpd.conf.
    lease = _udhcpc(lab, laptop, 'wifibox0', script, 'laptop')
    assert re.match(r'^10\.0\.0\.([2-9]|[1-9]\d|1\d\d|2[0-4]\d|25[0-4])$', lease['ip'])
    assert lease['router'] == '10.0.0.1'
    assert lease['dns'].split() == [UPSTREAM_DNS, '8.8.8.8', '8.8.4.4']
    assert lease['domain'] == 'lab.example'

    # The page comes through the guest's MASQUERADE: the server sees the guest's wlan0 address.
    got = _curl(lab, laptop, 'http://192.168.50.1:8080/page')
    assert got.returncode == 0 and got.stdout.strip() == PAGE, got.stderr
    assert re.search(r'(^|:)%s - - .*"GET /page' % re.escape(wlan['ip']), _http_log(lab), re.M)

    # IPv6: radvd from the rendered radvd.conf gives the laptop a ULA address; NAT66 to upstream.
    def laptop_ula():
        out = lab.run(laptop, 'ip', '-6', '-o', 'addr', 'show', 'dev', 'wifibox0', 'scope', 'global').stdout
        match = re.search(r'inet6 (fd00::[0-9a-f:]+)/64', out)
        return match.group(1) if match else None
    if not wait_for(lambda: laptop_ula() is not None, timeout=15):
        diag = [open(os.path.join(lab.work, 'radvd.log'), encoding='utf-8').read()]
        for ns, cmd in ((guest, ['ip', '-6', 'addr']), (laptop, ['ip', '-6', 'addr']), (laptop, ['ip', 'link']),
                        (laptop, ['sysctl', 'net.ipv6.conf.wifibox0']), (guest, ['ip6tables-save', '-c'])):
            diag.append(lab.run(ns, *cmd, check=False).stdout)
        pytest.fail('the laptop got no address from radvd:\n' + '\n'.join(diag))
    ula = laptop_ula()
    assert wait_for(lambda: 'default' in lab.run(laptop, 'ip', '-6', 'route', 'show', 'default').stdout, timeout=10)
    got = _curl(lab, laptop, 'http://[fd50::1]:8080/page')
    assert got.returncode == 0 and got.stdout.strip() == PAGE, got.stderr
    assert re.search(r'^fd50::2 - - .*"GET /page', _http_log(lab), re.M), _http_log(lab)

    # Services on the guest (the UDS pass-through's socat, say) answer on the LAN side only.
    _listen(lab, guest, 1200)
    _listen(lab, laptop, 8022)
    assert _curl(lab, laptop, 'http://10.0.0.1:1200/page').returncode == 0
    assert _curl(lab, up, 'http://%s:1200/page' % wlan['ip']).returncode != 0
    assert _curl(lab, up, 'http://[fd50::2]:1200/page').returncode != 0
    assert lab.run(up, 'ping', '-c', '1', '-W', '1', wlan['ip'], check=False).returncode != 0
    # Even with routes to the guest LAN, the upstream cannot open connections to the laptop.
    lab.run(up, 'ip', 'route', 'add', '10.0.0.0/24', 'via', wlan['ip'])
    lab.run(up, 'ip', '-6', 'route', 'add', 'fd00::/64', 'via', 'fd50::2')
    assert _curl(lab, laptop, 'http://%s:8022/page' % lease['ip']).returncode == 0
    assert _curl(lab, up, 'http://%s:8022/page' % lease['ip']).returncode != 0
    assert _curl(lab, up, 'http://[%s]:8022/page' % ula).returncode != 0
    # ... and the laptop's own connections still work after those attempts.
    assert _curl(lab, laptop, 'http://192.168.50.1:8080/page').returncode == 0


def test_nat_port_forward(lab, rendered):
    """The rendered DNAT forward (wlan0:2222 -> 10.0.0.2:22) is the only way in from upstream."""
    app = os.path.join(_output_dir(rendered, 'wifibox_alpine-nat-nat66-psk'), 'appliance')
    up, guest, laptop, script = _topology(lab)
    wlan = _start_guest_nat(lab, guest, app, script)
    # The host's static set-up from wifibox(8): inet 10.0.0.2/24, defaultrouter 10.0.0.1.
    lab.run(laptop, 'ip', 'addr', 'add', '10.0.0.2/24', 'dev', 'wifibox0')
    lab.run(laptop, 'ip', 'route', 'add', 'default', 'via', '10.0.0.1')
    _listen(lab, laptop, 22)
    _listen(lab, laptop, 8022)
    assert _curl(lab, up, 'http://%s:2222/page' % wlan['ip']).stdout.strip() == PAGE
    assert _curl(lab, up, 'http://%s:8022/page' % wlan['ip']).returncode != 0


def test_bridged_laptop_leases_from_upstream(lab, rendered):
    """Bridged (ifupdown): the laptop leases from the upstream DHCP server through the guest's bridge; no NAT."""
    out = _output_dir(rendered, 'ifupdown-bridged-psk')
    etc = os.path.join(out, 'etc')
    up, guest, laptop, script = _topology(lab)
    ok, log, ifaces = check_ifquery(os.path.join(etc, 'network', 'interfaces'), lab.work)
    assert ok, log
    _apply_sysctl(lab, guest, os.path.join(etc, 'sysctl.d', '90-wifibox.conf'))
    # br0 as the rendered file describes it. wlan0 is a veth here, so its "iw ... 4addr on" pre-up
    # step is left out: the Linux bridge stands in for 4addr.
    assert ifaces['wlan0']['pre-up'] == ['iw dev wlan0 set 4addr on']
    lab.run(guest, 'ip', 'link', 'add', 'br0', 'type', 'bridge')
    for port in ifaces['br0']['bridge_ports'][0].split():
        lab.run(guest, 'ip', 'link', 'set', port, 'master', 'br0')
        lab.run(guest, 'ip', 'link', 'set', port, 'up')
    lab.run(guest, 'ip', 'link', 'set', 'br0', 'up')
    lab.run(guest, 'iptables-restore', os.path.join(etc, 'iptables', 'rules.v4'))
    lab.run(guest, 'ip6tables-restore', os.path.join(etc, 'iptables', 'rules.v6'))
    lease = _udhcpc(lab, laptop, 'wifibox0', script, 'laptop')
    assert lease['ip'].startswith('192.168.50.1') and lease['router'] == '192.168.50.1'
    assert lease['dns'].split() == [UPSTREAM_DNS]
    got = _curl(lab, laptop, 'http://192.168.50.1:8080/page')
    assert got.returncode == 0 and got.stdout.strip() == PAGE
    # No NAT: the server sees the laptop's own address.
    assert re.search(r'(^|:)%s - - .*"GET /page' % re.escape(lease['ip']), _http_log(lab), re.M)
    # The guest itself has no address on the bridge and answers nothing.
    assert 'inet ' not in lab.run(guest, 'ip', '-4', 'addr', 'show', 'dev', 'br0').stdout


def test_routed_no_nat_and_firewall(lab, rendered):
    """Routed (static wlan0 from the rendered interfaces.conf, brought up by ifup): no NAT, nothing new gets in."""
    app = os.path.join(_output_dir(rendered, 'wifibox_alpine-routed-off-eap'), 'appliance')
    up, guest, laptop, script = _topology(lab)
    work = lab.work
    _apply_sysctl(lab, guest, os.path.join(app, 'sysctl.conf'))
    main = _write(os.path.join(work, 'interfaces'), 'auto lo\niface lo inet loopback\nauto eth0\nauto wlan0\n'
                  'source %s\n' % os.path.join(app, 'interfaces.conf'))
    state = os.path.join(work, 'ifstate')
    os.makedirs(state)
    lab.run(guest, 'ifup', '--no-scripts', '-i', main, '--state-dir', state, 'eth0', 'wlan0')
    assert '192.168.50.2/24' in lab.run(guest, 'ip', '-4', 'addr', 'show', 'dev', 'wlan0').stdout
    assert 'default via 192.168.50.1' in lab.run(guest, 'ip', 'route').stdout
    rules = os.path.join(app, 'iptables')
    lab.run(guest, 'iptables-restore', rules)
    # The upstream router routes the guest LAN to the guest's static address.
    lab.run(up, 'ip', 'route', 'add', '10.0.0.0/24', 'via', '192.168.50.2')
    with open(os.path.join(app, 'udhcpd.conf'), encoding='utf-8') as handle:
        template = handle.read()
    conf = os.path.join(work, 'udhcpd.conf')
    text = substitute_udhcpd(template, conf, dns='', domain='lab.example', search='lab.example')
    _write(conf, text + '\nlease_file %s/udhcpd.leases\npidfile %s/udhcpd.pid\n' % (work, work))
    _write(os.path.join(work, 'udhcpd.leases'), '')
    lab.spawn(guest, 'busybox', 'udhcpd', '-f', '-a', '100', conf, log=os.path.join(work, 'udhcpd.log'))
    lease = _udhcpc(lab, laptop, 'wifibox0', script, 'laptop')
    assert lease['router'] == '10.0.0.1'
    # The static upstream DNS comes first when the hook has none to add.
    assert lease['dns'].split() == ['192.168.50.1', '8.8.8.8', '8.8.4.4']
    got = _curl(lab, laptop, 'http://192.168.50.1:8080/page')
    assert got.returncode == 0 and got.stdout.strip() == PAGE, got.stderr
    # No NAT: the server sees the laptop's own address.
    assert re.search(r'(^|:)%s - - .*"GET /page' % re.escape(lease['ip']), _http_log(lab), re.M)
    _listen(lab, laptop, 8022)
    _listen(lab, guest, 1200)
    assert _curl(lab, up, 'http://%s:8022/page' % lease['ip']).returncode != 0
    assert _curl(lab, up, 'http://192.168.50.2:1200/page').returncode != 0
    assert _curl(lab, laptop, 'http://10.0.0.1:1200/page').returncode == 0
