# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every flavour x mode x IPv6 x security combination rendered by the role and read by the real tools."""

from __future__ import annotations

import copy
import os
import stat
import subprocess

import pytest

import uci
from scenarios import SCENARIOS, host_name
from conftest import (check_ifquery, check_iptables, check_radvd, check_sysctl_keys, check_udhcpd,
                      check_wpa_supplicant, is_root, need_tools, substitute_udhcpd)


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(scope='module', autouse=True)
def _tools():
    if not is_root():
        pytest.fail('the checks run the tools in new network namespaces: run the tests as root')
    need_tools('busybox', 'iptables-restore', 'ip6tables-restore', 'wpa_supplicant', 'ifquery', 'radvd', 'unshare')


def _ssid_written(ssid):
    plain = all(32 <= ord(c) <= 126 for c in ssid) and '"' not in ssid and '\\' not in ssid and ssid == ssid.strip()
    return 'ssid="%s"' % ssid if plain else 'ssid=' + ssid.encode('utf-8').hex()


def _check_wpa(run, path, nets):
    assert mode_of(path) == 0o600
    ok, out = check_wpa_supplicant(path)
    assert ok, out
    text = run.read(path)
    for net in nets:
        assert '\t' + _ssid_written(net['ssid']) + '\n' in text
    assert 'ctrl_interface=/var/run/wpa_supplicant' in text and 'ctrl_interface_group=0' in text


def _check_rules(v4, v6, mode, ipv6):
    for path, fam in ((v4, 4), (v6, 6)):
        ok, out = check_iptables(path, fam)
        assert ok, '%s: %s' % (path, out)
    rules4 = open(v4, encoding='utf-8').read()
    rules6 = open(v6, encoding='utf-8').read()
    assert ('-A POSTROUTING -o wlan0 -j MASQUERADE' in rules4) == (mode == 'nat')
    assert ('-A POSTROUTING -o wlan0 -j MASQUERADE' in rules6) == (mode != 'bridged' and ipv6 == 'nat66')
    assert '-A INPUT -i wlan0 -j DROP' in rules4 and '-A INPUT -i wlan0 -j DROP' in rules6
    if mode != 'bridged':
        assert '-A FORWARD -i wlan0 -o eth0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT' in rules4
        assert '-A FORWARD -i wlan0 -j DROP' in rules4


@pytest.mark.lab
@pytest.mark.parametrize('scenario', SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_render_and_check_with_real_tools(rendered, tmp_path, scenario):
    name, flavour, mode, ipv6, kind, _extra = scenario
    all_run, hosts, work = rendered
    host = host_name(name)
    assert all_run.recap_of(host)['failed'] == 0, all_run.out[-6000:]
    run = copy.copy(all_run)
    run.dir = os.path.join(work, host)
    nets = hosts[host]['wifibox_guest_networks']
    out = run.dir
    if flavour == 'wifibox_alpine':
        _check_wifibox_alpine(run, out, mode, ipv6, nets, tmp_path)
    elif flavour == 'ifupdown':
        _check_ifupdown(run, out, mode, ipv6, nets, tmp_path)
    else:
        _check_openwrt(run, out, mode, ipv6, nets)
    if kind == 'eap':
        wpa_dir = os.path.join(out, 'wpa_supplicant') if flavour == 'wifibox_alpine' else os.path.join(out, 'etc', 'wpa_supplicant')
        assert mode_of(os.path.join(wpa_dir, 'client.key')) == 0o600
        assert mode_of(os.path.join(wpa_dir, 'ca.pem')) == 0o644


def _check_wifibox_alpine(run, out, mode, ipv6, nets, tmp_path):
    app = os.path.join(out, 'appliance')
    expected = ['hostname', 'interfaces.conf', 'udhcpd.conf', 'iptables', 'ip6tables', 'sysctl.conf', 'dhcpcd.conf',
                'radvd.conf', 'uds_passthru.conf', 'forwarding.conf']
    for name in expected:
        assert os.path.isfile(os.path.join(app, name)), name
    assert os.readlink(os.path.join(out, 'app_config')) == 'wpa_supplicant'
    assert run.read('appliance', 'hostname') == 'wifibox\n'
    _check_wpa(run, os.path.join(out, 'wpa_supplicant', 'wpa_supplicant.conf'), nets)
    _check_rules(os.path.join(app, 'iptables'), os.path.join(app, 'ip6tables'), mode, ipv6)
    # udhcpd.conf is a template; the guest's DHCP hook fills it in.
    template = run.read('appliance', 'udhcpd.conf')
    for placeholder in ('%%DNS%%', '%%DOMAIN%%', '%%SEARCH%%'):
        assert placeholder in template
    filled = str(tmp_path / 'udhcpd.conf')
    substitute_udhcpd(template, filled)
    ok, log = check_udhcpd(filled)
    assert ok, log
    radvd = str(tmp_path / 'radvd.conf')
    with open(radvd, 'w', encoding='utf-8') as handle:
        handle.write(run.read('appliance', 'radvd.conf').replace('%%DNS%%', '2001:db8:50::53'))
    ok, log = check_radvd(radvd)
    assert ok, log
    # The guest's /etc/network/interfaces: auto lo, eth0, wlan0, then sources interfaces.conf.
    main = str(tmp_path / 'interfaces')
    with open(main, 'w', encoding='utf-8') as handle:
        handle.write('auto lo\niface lo inet loopback\nauto eth0\nauto wlan0\nsource %s\n'
                     % os.path.join(app, 'interfaces.conf'))
    ok, log, ifaces = check_ifquery(main, str(tmp_path))
    assert ok, log
    assert ifaces['eth0']['address'][0] == '10.0.0.1' and ifaces['eth0']['netmask'][0] == '255.255.255.0'
    assert ('fd00::ffff' in ifaces['eth0']['address']) == (ipv6 == 'nat66')
    if mode == 'routed':
        assert ifaces['wlan0']['address'] == ['192.168.50.2'] and ifaces['wlan0']['gateway'] == ['192.168.50.1']
    for name in ('sysctl.conf', os.path.join('sysctl.d', 'ipv6.conf')):
        ok, missing = check_sysctl_keys(os.path.join(app, name))
        assert ok, missing
    # uds_passthru.conf is sourced by sh: the guest listens on its LAN address only.
    proc = subprocess.run(['sh', '-c', '. "$1"; printf "%s|%s" "$network" "$sockets"', 'sh',
                           os.path.join(app, 'uds_passthru.conf')], capture_output=True, text=True, check=True)
    network, sockets = proc.stdout.split('|')
    assert network == '10.0.0.1:255.255.255.0'
    assert sockets.split() == ['path=/var/run/wpa_supplicant/wlan0,user=root,group=0,mode=770,port=1200',
                               'path=/var/run/wpa_supplicant/p2p-dev-wlan0,user=root,group=0,mode=770,port=1201']


def _check_ifupdown(run, out, mode, ipv6, nets, tmp_path):
    etc = os.path.join(out, 'etc')
    ok, log, ifaces = check_ifquery(os.path.join(etc, 'network', 'interfaces'), str(tmp_path))
    assert ok, log
    assert ifaces['wlan0']['wpa-conf'] == ['/etc/wpa_supplicant/wpa_supplicant.conf']
    _check_wpa(run, os.path.join(etc, 'wpa_supplicant', 'wpa_supplicant.conf'), nets)
    _check_rules(os.path.join(etc, 'iptables', 'rules.v4'), os.path.join(etc, 'iptables', 'rules.v6'), mode, ipv6)
    for name in ('90-wifibox.conf', '91-wifibox-ipv6.conf'):
        ok, missing = check_sysctl_keys(os.path.join(etc, 'sysctl.d', name))
        assert ok, missing
    if mode == 'bridged':
        assert ifaces['br0']['bridge_ports'] == ['eth0 wlan0']
        assert ifaces['wlan0']['pre-up'] == ['iw dev wlan0 set 4addr on']
        assert not os.path.exists(os.path.join(etc, 'udhcpd.conf'))
        assert not os.path.exists(os.path.join(etc, 'radvd.conf'))
        assert 'bridged mode' in run.out.lower() and '4-address' in run.out
        return
    assert ifaces['eth0']['address'][0] == '10.0.0.1'
    ok, log = check_udhcpd(os.path.join(etc, 'udhcpd.conf'))
    assert ok, log
    if ipv6 != 'off':
        ok, log = check_radvd(os.path.join(etc, 'radvd.conf'))
        assert ok, log
    if mode == 'routed':
        assert '192.168.50.2' in ifaces['wlan0']['address']
        assert 'opt\tdns\t192.168.50.1 8.8.8.8 8.8.4.4' in run.read('etc', 'udhcpd.conf')


def _check_openwrt(run, out, mode, ipv6, nets):
    conf = os.path.join(out, 'etc', 'config')
    parsed = {}
    for name in ('network', 'wireless', 'firewall', 'dhcp'):
        parsed[name] = uci.parse(run.read('etc', 'config', name))
    assert mode_of(os.path.join(conf, 'wireless')) == 0o600
    ifaces = uci.find(parsed['wireless'], 'wifi-iface')
    assert [i['options']['ssid'] for i in ifaces] == [n['ssid'] for n in nets]
    assert [i['options']['disabled'] for i in ifaces].count('0') == 1
    encryption = {'open': 'none', 'wpa2_psk': 'psk2', 'wpa3_sae': 'sae', 'wpa2_wpa3': 'sae-mixed', 'wpa2_eap': 'wpa2'}
    for iface, net in zip(ifaces, nets):
        assert iface['options']['mode'] == 'sta'
        assert iface['options']['encryption'] == encryption[net['security']]
        if 'psk' in net:
            assert iface['options']['key'] == net['psk']
        if net['security'] == 'wpa2_eap':
            assert iface['options']['eap_type'] == net['eap']
            assert iface['options']['identity'] == net['identity']
        assert ('wds' in iface['options']) == (mode == 'bridged')
    wan = uci.find(parsed['firewall'], 'zone', name='wan')
    if mode == 'bridged':
        assert not wan
        assert uci.find(parsed['network'], 'device', type='bridge')
        assert uci.find(parsed['dhcp'], 'dhcp', 'lan', ignore='1')
        return
    wan = uci.find(parsed['firewall'], 'zone', None, name='wan')
    assert len(wan) == 1 and wan[0]['options']['input'] == 'DROP' and wan[0]['options']['forward'] == 'DROP'
    assert wan[0]['options']['masq'] == ('1' if mode == 'nat' else '0')
    assert (wan[0]['options'].get('masq6') == '1') == (ipv6 == 'nat66')
    lan = uci.find(parsed['network'], 'interface', 'lan')[0]['options']
    assert lan['ipaddr'] == '10.0.0.1' and lan['netmask'] == '255.255.255.0'
    dhcp = uci.find(parsed['dhcp'], 'dhcp', 'lan')[0]['options']
    assert dhcp['start'] == '2' and dhcp['limit'] == '253'
    if mode == 'nat':
        assert len(uci.find(parsed['firewall'], 'redirect', target='DNAT')) == 2
    else:
        wan_if = uci.find(parsed['network'], 'interface', 'wan')[0]
        assert wan_if['options']['proto'] == 'static' and wan_if['lists']['dns'] == ['192.168.50.1']


@pytest.mark.lab
def test_checks_catch_broken_files(tmp_path):
    """Negative controls: every checker above rejects a broken file."""
    def write(name, text):
        path = str(tmp_path / name)
        with open(path, 'w', encoding='utf-8') as handle:
            handle.write(text)
        return path

    assert not check_iptables(write('r4', '*filter\n-A INPUT -i wlan0 -j NOSUCHTARGET\nCOMMIT\n'), 4)[0]
    assert not check_iptables(write('r6', '*nat\n-A POSTROUTING -o wlan0 -j MASQUERADE\n'), 6)[0]
    assert not check_udhcpd(write('u.conf', 'start 10.0.0.2\nend 10.0.0.9\ninterface eth0\nopt lease abc\n'))[0]
    assert not check_radvd(write('radvd.conf', 'interface eth0 { AdvSendAdvert maybe; };\n'))[0]
    assert not check_wpa_supplicant(write('w.conf', 'network={\n\tssid="x"\n\tpsk="short"\n}\n'))[0]
    assert not check_wpa_supplicant(write('w2.conf', 'network={\n\tssid="x"\n\tnosuchkey=1\n}\n'))[0]
    assert not check_ifquery(write('if', 'iface eth0 inet statik\n'), str(tmp_path))[0]
    assert not check_sysctl_keys(write('s.conf', 'net.ipv4.no_such_key=1\n'))[0]
    with pytest.raises(uci.UciError):
        uci.parse("config wifi-iface 'x'\n\toption ssid 'unterminated\n")
    with pytest.raises(uci.UciError):
        uci.parse("option ssid 'outside'\n")
    assert uci.parse("config a 'b'\n\toption k 'it'\\''s' # c\n")[0]['options']['k'] == "it's"
