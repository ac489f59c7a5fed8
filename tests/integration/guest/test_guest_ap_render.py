# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Role access_point: every flavour and security rendered by the role and read by the real tools
(hostapd, iptables-restore, busybox udhcpd, radvd, ifquery, a UCI parser)."""

from __future__ import annotations

import os
import stat

import pytest

import uci
from conftest import (check_hostapd, check_ifquery, check_iptables, check_radvd, check_udhcpd, is_root, need_tools,
                      run_hosts, run_role)

PASS = 'ap pass "#1" phrase'

# (id, flavour, security, ipv6, extra variables)
AP_SCENARIOS = [
    ('alpine_wpa2_2g_isolated', 'wifibox_alpine', 'wpa2_psk', 'nat66',
     {'wifibox_guest_ap_client_isolation': True, 'wifibox_guest_ap_max_clients': 8}),
    ('alpine_sae_5g_vht80_hidden', 'wifibox_alpine', 'wpa3_sae', 'off',
     {'wifibox_guest_country': 'US', 'wifibox_guest_ap_band': '5g', 'wifibox_guest_ap_channel': 36,
      'wifibox_guest_ap_channel_width': 80, 'wifibox_guest_ap_ieee80211ac': True, 'wifibox_guest_ap_hidden': True,
      'wifibox_guest_ap_ssid': 'caf\u00e9 "AP"', 'wifibox_guest_ap_vht_capab': ['[SHORT-GI-80]']}),
    ('alpine_open', 'wifibox_alpine', 'open', 'nat66', {'wifibox_guest_ap_passphrase': ''}),
    ('ifupdown_transition_ht40_auto', 'ifupdown', 'wpa2_wpa3', 'nat66',
     {'wifibox_guest_ap_channel': 'auto', 'wifibox_guest_ap_channel_width': 40}),
    ('ifupdown_rawpsk_ax', 'ifupdown', 'wpa2_psk', 'off',
     {'wifibox_guest_ap_passphrase': 'ab' * 32, 'wifibox_guest_ap_ieee80211ax': True,
      'wifibox_guest_ap_channel': 11, 'wifibox_guest_ap_channel_width': 40}),
    ('openwrt_wpa2_5g_he40', 'openwrt', 'wpa2_psk', 'nat66',
     {'wifibox_guest_ap_band': '5g', 'wifibox_guest_ap_channel': 44, 'wifibox_guest_ap_channel_width': 40,
      'wifibox_guest_ap_ieee80211ax': True, 'wifibox_guest_ap_client_isolation': True}),
    ('openwrt_sae', 'openwrt', 'wpa3_sae', 'off', {'wifibox_guest_ap_hidden': True}),
]


def ap_vars(flavour, security, ipv6, extra):
    variables = {'wifibox_guest_flavour': flavour, 'wifibox_guest_role': 'access_point', 'wifibox_guest_ipv6': ipv6,
                 'wifibox_guest_country': 'DE', 'wifibox_guest_ap_security': security,
                 'wifibox_guest_ap_ssid': 'wifibox-ap', 'wifibox_guest_ap_passphrase': PASS}
    variables.update(extra)
    return variables


@pytest.fixture(scope='module')
def ap_rendered(tmp_path_factory):
    if not is_root():
        pytest.fail('the checks run the tools in new network namespaces: run the tests as root')
    need_tools('hostapd', 'busybox', 'iptables-restore', 'ip6tables-restore', 'ifquery', 'radvd', 'unshare')
    work = str(tmp_path_factory.mktemp('aprender'))
    hosts = {name: ap_vars(*rest) for name, *rest in AP_SCENARIOS}
    return run_hosts(work, hosts, '--diff'), hosts, work


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def _conf(text):
    out = {}
    for line in text.splitlines():
        if line and not line.startswith('#'):
            key, _sep, value = line.partition('=')
            out[key] = value
    return out


def _check_hostapd(path, variables):
    assert mode_of(path) == 0o600
    ok, out = check_hostapd(path)
    assert ok, out
    with open(path, encoding='utf-8') as handle:
        conf = _conf(handle.read())
    security = variables['wifibox_guest_ap_security']
    assert conf['interface'] == 'wlan0' and conf['ctrl_interface'] == '/var/run/hostapd'
    assert conf['ignore_broadcast_ssid'] == ('1' if variables.get('wifibox_guest_ap_hidden') else '0')
    assert conf['ap_isolate'] == ('1' if variables.get('wifibox_guest_ap_client_isolation') else '0')
    assert conf['country_code'] == variables['wifibox_guest_country']
    ssid = variables['wifibox_guest_ap_ssid']
    assert conf.get('ssid') == ssid or conf.get('ssid2') == ssid.encode('utf-8').hex()
    keymgmt = {'wpa2_psk': 'WPA-PSK', 'wpa3_sae': 'SAE', 'wpa2_wpa3': 'WPA-PSK SAE'}
    if security == 'open':
        assert conf['wpa'] == '0' and 'wpa_passphrase' not in conf
    else:
        assert conf['wpa'] == '2' and conf['wpa_key_mgmt'] == keymgmt[security]
        secret = variables['wifibox_guest_ap_passphrase']
        assert conf.get('wpa_passphrase', conf.get('wpa_psk')) == secret
    assert conf['ieee80211w' if security != 'wpa2_psk' and security != 'open' else 'wpa'] in '012'
    return conf


@pytest.mark.lab
@pytest.mark.parametrize('scenario', AP_SCENARIOS, ids=[s[0] for s in AP_SCENARIOS])
def test_access_point_files_read_by_the_real_tools(ap_rendered, tmp_path, scenario):
    name, flavour, security, ipv6, _extra = scenario
    run, hosts, work = ap_rendered
    assert run.recap_of(name)['failed'] == 0, run.out[-6000:]
    variables = hosts[name]
    out = os.path.join(work, name)
    iso = variables.get('wifibox_guest_ap_client_isolation', False)
    if flavour == 'openwrt':
        _check_openwrt(out, variables, ipv6)
        return
    if flavour == 'wifibox_alpine':
        app = os.path.join(out, 'appliance')
        hostapd = os.path.join(out, 'hostapd', 'hostapd.conf')
        assert os.readlink(os.path.join(out, 'app_config')) == 'hostapd'
        assert not os.path.exists(os.path.join(out, 'wpa_supplicant', 'wpa_supplicant.conf'))
        assert not os.path.exists(os.path.join(app, 'dhcpcd.conf'))
        v4, v6, udhcpd, radvd = (os.path.join(app, n) for n in ('iptables', 'ip6tables', 'udhcpd.conf', 'radvd.conf'))
        with open(os.path.join(app, 'uds_passthru.conf'), encoding='utf-8') as handle:
            uds = handle.read()
        assert 'network=10.0.0.2:255.255.255.0' in uds and 'path=/var/run/hostapd/wlan0' in uds and 'port=1200' in uds
        with open(os.path.join(app, 'interfaces.conf'), encoding='utf-8') as handle:
            ifaces = handle.read()
        assert 'iface eth0 inet static\n\taddress 10.0.0.2\n\tnetmask 255.255.255.0\n\tgateway 10.0.0.1\n' in ifaces
        assert 'iface wlan0 inet static\n\taddress 192.168.0.1\n\tnetmask 255.255.255.0\n' in ifaces
        assert ('address fd01::1' in ifaces) == (ipv6 == 'nat66')
    else:
        etc = os.path.join(out, 'etc')
        hostapd = os.path.join(etc, 'hostapd', 'hostapd.conf')
        assert not os.path.exists(os.path.join(etc, 'wpa_supplicant', 'wpa_supplicant.conf'))
        v4, v6 = os.path.join(etc, 'iptables', 'rules.v4'), os.path.join(etc, 'iptables', 'rules.v6')
        udhcpd, radvd = os.path.join(etc, 'udhcpd.conf'), os.path.join(etc, 'radvd.conf')
        ok, qout, parsed = check_ifquery(os.path.join(etc, 'network', 'interfaces'), str(tmp_path))
        assert ok, qout
        assert parsed['eth0']['address'][0] == '10.0.0.2' and parsed['eth0']['gateway'] == ['10.0.0.1']
        assert parsed['wlan0']['address'][0] == '192.168.0.1'
        assert parsed['wlan0']['hostapd'] == ['/etc/hostapd/hostapd.conf']
    conf = _check_hostapd(hostapd, variables)
    if variables.get('wifibox_guest_ap_channel_width') == 80:
        assert conf['vht_oper_chwidth'] == '1' and conf['vht_oper_centr_freq_seg0_idx'] == '42'
        assert conf['vht_capab'] == '[SHORT-GI-80]' and conf['hw_mode'] == 'a'
    if variables.get('wifibox_guest_ap_channel') == 'auto':
        assert conf['channel'] == 'acs_survey' and conf['ht_capab'] == '[HT40+]'
    for path, fam in ((v4, 4), (v6, 6)):
        ok, rout = check_iptables(path, fam)
        assert ok, '%s: %s' % (path, rout)
    with open(v4, encoding='utf-8') as handle:
        rules4 = handle.read()
    with open(v6, encoding='utf-8') as handle:
        rules6 = handle.read()
    assert '-A POSTROUTING -o eth0 -j MASQUERADE' in rules4
    assert ('-A POSTROUTING -o eth0 -j MASQUERADE' in rules6) == (ipv6 == 'nat66')
    assert ('-A FORWARD -i wlan0 -o wlan0 -j DROP' in rules4) == iso
    assert '-A FORWARD -i eth0 -j DROP' in rules4
    ok, uout = check_udhcpd(udhcpd, lan_cidr='192.168.0.1/24', lan_if='wlan0')
    assert ok, uout
    with open(udhcpd, encoding='utf-8') as handle:
        text = handle.read()
    assert 'interface\twlan0' in text and 'opt\trouter\t192.168.0.1' in text and '%%' not in text
    if ipv6 == 'nat66':
        ok, rout = check_radvd(radvd)
        assert ok, rout
        with open(radvd, encoding='utf-8') as handle:
            assert 'interface wlan0' in handle.read()


def _check_openwrt(out, variables, ipv6):
    parsed = {}
    for name in ('network', 'wireless', 'firewall', 'dhcp'):
        with open(os.path.join(out, 'etc', 'config', name), encoding='utf-8') as handle:
            parsed[name] = uci.parse(handle.read())
    assert mode_of(os.path.join(out, 'etc', 'config', 'wireless')) == 0o600
    iface = uci.find(parsed['wireless'], 'wifi-iface', 'ap0')[0]['options']
    security = variables['wifibox_guest_ap_security']
    assert iface['mode'] == 'ap' and iface['network'] == 'lan' and iface['ssid'] == 'wifibox-ap'
    assert iface['encryption'] == {'wpa2_psk': 'psk2', 'wpa3_sae': 'sae'}[security] and iface['key'] == PASS
    assert iface['hidden'] == ('1' if variables.get('wifibox_guest_ap_hidden') else '0')
    assert iface['isolate'] == ('1' if variables.get('wifibox_guest_ap_client_isolation') else '0')
    radio = uci.find(parsed['wireless'], 'wifi-device', 'radio0')[0]['options']
    assert radio['band'] == variables.get('wifibox_guest_ap_band', '2g') and radio['country'] == 'DE'
    if variables.get('wifibox_guest_ap_ieee80211ax'):
        assert radio['htmode'] == 'HE40' and radio['channel'] == '44'
    wan = uci.find(parsed['network'], 'interface', 'wan')[0]['options']
    assert wan['ipaddr'] == '10.0.0.2' and wan['gateway'] == '10.0.0.1' and wan['device'] == 'eth0'
    lan = uci.find(parsed['network'], 'interface', 'lan')[0]['options']
    assert lan['ipaddr'] == '192.168.0.1' and ('ip6addr' in lan) == (ipv6 == 'nat66')
    dhcp = uci.find(parsed['dhcp'], 'dhcp', 'lan')[0]['options']
    assert dhcp['start'] == '2' and dhcp['limit'] == '253'
    zone = uci.find(parsed['firewall'], 'zone', None, name='wan')[0]['options']
    assert zone['masq'] == '1'


@pytest.mark.lab
def test_passphrase_never_in_the_output_and_second_run_changes_nothing(ap_rendered):
    run, hosts, work = ap_rendered
    assert PASS not in run.out and ('ab' * 32) not in run.out
    assert '********(secret 1)' in run.out
    again = run_hosts(work, hosts, '--diff')
    for name in hosts:
        assert again.recap_of(name)['changed'] == 0, again.out[-4000:]


@pytest.mark.lab
def test_switching_roles_swaps_hostapd_and_wpa_supplicant(tmp_path):
    net = [{'ssid': 'home', 'security': 'wpa2_psk', 'psk': 'correct horse battery'}]
    base = {'wifibox_guest_networks': net, 'wifibox_guest_ap_passphrase': PASS}
    run = run_role(str(tmp_path), dict(base, wifibox_guest_role='access_point'))
    assert run.recap['failed'] == 0, run.out[-4000:]
    assert os.readlink(run.path('app_config')) == 'hostapd' and os.path.exists(run.path('hostapd', 'hostapd.conf'))
    run = run_role(str(tmp_path), dict(base, wifibox_guest_role='client'))
    assert run.recap['failed'] == 0, run.out[-4000:]
    assert os.readlink(run.path('app_config')) == 'wpa_supplicant'
    assert not os.path.exists(run.path('hostapd', 'hostapd.conf'))
    assert os.path.exists(run.path('wpa_supplicant', 'wpa_supplicant.conf'))
    with open(run.path('appliance', 'interfaces.conf'), encoding='utf-8') as handle:
        assert 'address 10.0.0.1\n' in handle.read()


@pytest.mark.lab
def test_a_channel_outside_the_country_is_refused_before_anything_is_written(tmp_path):
    run = run_role(str(tmp_path), {'wifibox_guest_role': 'access_point', 'wifibox_guest_ap_passphrase': PASS,
                                   'wifibox_guest_country': 'US', 'wifibox_guest_ap_channel': 13})
    assert run.rc != 0
    assert "wifibox_guest_ap_channel: '13' is not a channel an access point may use on 2g in country US; valid: auto, " \
        "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11" in run.out
    assert not os.path.exists(run.dir) or not os.listdir(run.dir)
    assert PASS not in run.out


def test_the_hostapd_check_catches_a_broken_file(tmp_path):
    good = tmp_path / 'good.conf'
    good.write_text('interface=wlan0\ndriver=nl80211\nssid=x\nhw_mode=g\nchannel=6\nwpa=2\nwpa_key_mgmt=WPA-PSK\n'
                    'rsn_pairwise=CCMP\nwpa_passphrase=12345678\n')
    assert check_hostapd(str(good))[0]
    for bad in ('wpa_passphrase=short\n', 'hw_mode=x\n', 'no_such_key=1\n'):
        path = tmp_path / 'bad.conf'
        path.write_text(good.read_text() + bad)
        ok, out = check_hostapd(str(path))
        assert not ok, out
