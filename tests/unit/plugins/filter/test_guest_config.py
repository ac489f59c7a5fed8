# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the wifibox_guest filters: quoting, address facts, masking and validation."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.wifibox.bhyve.plugins.filter import guest_config as gc


def settings(**over):
    base = {
        'flavour': 'wifibox_alpine', 'mode': 'nat', 'ipv6': 'nat66', 'hostname': 'wifibox', 'country': '',
        'networks': [{'ssid': 'home', 'security': 'wpa2_psk', 'psk': 'correct horse'}],
        'lan_address': '10.0.0.1/24', 'dhcp_start': '10.0.0.2', 'dhcp_end': '10.0.0.254',
        'dhcp_max_leases': 64, 'dhcp_lease_time': 864000, 'dns_fallback': ['8.8.8.8'],
        'upstream': {'proto': 'dhcp'}, 'port_forwards': [], 'ipv6_lan_address': 'fd00::ffff/64',
        'ipv6_dns_fallback': ['2001:4860:4860::8888'], 'upstream6': {'proto': 'auto'}, 'uds_ports': [1200, 1201],
    }
    base.update(over)
    return base


def net(**over):
    base = {'ssid': 'home', 'security': 'wpa2_psk', 'psk': 'correct horse'}
    base.update(over)
    return base


@pytest.mark.parametrize('ssid, expected', [
    ('home', '"home"'),
    ('my net 5G', '"my net 5G"'),
    ('say "hi"', '7361792022686922'),
    ('back\\slash', '6261636b5c736c617368'),
    ('caf\u00e9', '636166c3a9'),
    ('tab\there', '7461620968657265'),
    ('\u0001', '01'),
    (' lead', '206c656164'),
    ('trail ', '747261696c20'),
])
def test_wpa_ssid(ssid, expected):
    assert gc.wpa_ssid(ssid) == expected


def test_wpa_ssid_hex_round_trip():
    for ssid in ('caf\u00e9', 'x"y', '\u00a0\u2603'):
        assert bytes.fromhex(gc.wpa_ssid(ssid)).decode('utf-8') == ssid


def test_wpa_ssid_rejects_non_strings():
    with pytest.raises(AnsibleFilterError):
        gc.wpa_ssid(5)


def test_wpa_passphrase():
    assert gc.wpa_passphrase('correct horse') == '"correct horse"'
    assert gc.wpa_passphrase('with #hash, no quote') == '"with #hash, no quote"'
    # A double quote makes the quoted form ambiguous for wpa_supplicant: the derived PSK instead.
    assert gc.wpa_passphrase('with "quotes" #hash', 'net') == gc.wpa_psk_derive('with "quotes" #hash', 'net')
    with pytest.raises(AnsibleFilterError):
        gc.wpa_passphrase('with "quotes" #hash')
    assert gc.wpa_passphrase('AB' * 32) == 'ab' * 32
    assert gc.wpa_passphrase('ab' * 31 + 'zz') == '"%s"' % ('ab' * 31 + 'zz')


def test_wpa_psk_derive_matches_the_ieee_test_vectors():
    # IEEE 802.11i-2004, annex H.4.1 (passphrase, SSID, PSK).
    assert gc.wpa_psk_derive('password', 'IEEE') == \
        'f42c6fc52df0ebef9ebb4b90b38a5f902e83fe1b135a70e23aed762e9710a12e'
    assert gc.wpa_psk_derive('ThisIsAPassword', 'ThisIsASSID') == \
        '0dc0d6eb90555ed6419756b9a15ec3e3209b63df707dd508d14581f8982721af'


def test_wpa_string_and_quoted():
    assert gc.wpa_string('auth=PAP') == '"auth=PAP"'
    assert gc.wpa_string('p"w#1') == 'p"w#1'.encode().hex()
    assert gc.wpa_passphrase_quoted('plain pass')
    assert not gc.wpa_passphrase_quoted('a"b#cdefg')
    assert not gc.wpa_passphrase_quoted('ab' * 32)


@pytest.mark.parametrize('value, expected', [
    ('home', "'home'"), ("it's", "'it'\\''s'"), (True, "'1'"), (False, "'0'"), (64, "'64'"), ('', "''"),
])
def test_uci_quote(value, expected):
    assert gc.uci_quote(value) == expected


def test_guest_ipinfo():
    info = gc.guest_ipinfo('10.0.0.1/24')
    assert info == {'address': '10.0.0.1', 'prefix': 24, 'cidr': '10.0.0.1/24', 'netmask': '255.255.255.0',
                    'network': '10.0.0.0', 'network_cidr': '10.0.0.0/24', 'broadcast': '10.0.0.255', 'version': 4,
                    'offset': 1}
    info6 = gc.guest_ipinfo('fd00::ffff/64')
    assert info6['network_cidr'] == 'fd00::/64' and info6['version'] == 6 and info6['offset'] == 0xffff
    with pytest.raises(AnsibleFilterError):
        gc.guest_ipinfo('10.0.0.300/24')


def test_mask_secrets_wpa_and_uci():
    text = ('network={\n\tssid="x"\n\tpsk="hunter2hunter2"\n\tsae_password="s3cret-sae"\n\tpassword="eap-pw"\n'
            '\tprivate_key_passwd="key-pw"\n}\n'
            "config wifi-iface 'w'\n\toption key 'uci-key'\n\toption password 'uci-pw'\n\toption priv_key_pwd 'kp'\n"
            "\toption ssid 'visible'\n")
    masked = gc.guest_mask_secrets(text)
    for secret in ('hunter2hunter2', 's3cret-sae', 'eap-pw', 'key-pw', 'uci-key', 'uci-pw', "'kp'"):
        assert secret not in masked
    assert 'ssid="x"' in masked and "option ssid 'visible'" in masked
    assert masked.count('********') == 7


def test_masked_diff_shows_a_changed_secret_without_its_value():
    before = 'ctrl_interface=/var/run/wpa_supplicant\nnetwork={\n\tpsk="old-secret-1"\n\tpriority=0\n}\n'
    after = 'ctrl_interface=/var/run/wpa_supplicant\nnetwork={\n\tpsk="new-secret-2"\n\tpriority=5\n}\n'
    diff = gc.guest_masked_diff(before, after, 'wpa_supplicant.conf')
    assert 'old-secret-1' not in diff and 'new-secret-2' not in diff
    assert '-\tpsk=********(secret 1)' in diff and '+\tpsk=********(secret 2)' in diff
    assert '+\tpriority=5' in diff
    assert gc.guest_masked_diff(before, before) == ''
    assert gc.guest_masked_diff('', after).startswith('--- before: file')


def test_valid_settings_have_no_errors():
    assert gc.guest_validate(settings()) == []
    assert gc.guest_validate(settings(flavour='ifupdown', mode='bridged')) == []
    upstream = {'proto': 'static', 'address': '192.168.1.5/24', 'gateway': '192.168.1.1', 'dns': ['192.168.1.1']}
    assert gc.guest_validate(settings(mode='routed', upstream=upstream)) == []


@pytest.mark.parametrize('over, expected', [
    ({'flavour': 'gentoo'}, "wifibox_guest_flavour: unknown flavour 'gentoo'"),
    ({'mode': 'wds'}, "wifibox_guest_mode: unknown mode 'wds'"),
    ({'ipv6': 'on'}, "wifibox_guest_ipv6: unknown IPv6 mode 'on'"),
    ({'mode': 'bridged'}, "bridged mode is not possible with flavour 'wifibox_alpine'"),
    ({'hostname': 'bad_name'}, 'wifibox_guest_hostname'),
    ({'country': 'Germany'}, 'wifibox_guest_country'),
    ({'networks': [net(psk='short')]}, 'wifibox_guest_networks[0].psk: must be 8 to 63 printable ASCII characters or 64 hex digits; it has 5'),
    ({'networks': [net(psk='x' * 64)]}, 'wifibox_guest_networks[0].psk: must be 8 to 63'),
    ({'networks': [net(psk='caf\u00e9caf\u00e9')]}, 'only printable ASCII'),
    ({'networks': [net(psk=None)]}, "wifibox_guest_networks[0].psk: is required for security 'wpa2_psk'"),
    ({'networks': [net(security='wpa3_sae', psk='ab' * 32)]}, 'SAE needs the passphrase'),
    ({'networks': [net(security='open')]}, "wifibox_guest_networks[0].psk: is set but security is 'open'"),
    ({'networks': [net(ssid='')]}, 'wifibox_guest_networks[0].ssid: is required'),
    ({'networks': [net(ssid='x' * 33)]}, 'wifibox_guest_networks[0].ssid: is 33 bytes long'),
    ({'networks': [net(ssid='\u00e9' * 17)]}, 'is 34 bytes long in UTF-8'),
    ({'networks': [net(security='wpa4')]}, "unknown security 'wpa4'"),
    ({'networks': [net(bssid='zz:11:22:33:44:55')]}, 'wifibox_guest_networks[0].bssid'),
    ({'networks': [net(frequencies=[2412, 100])]}, 'wifibox_guest_networks[0].frequencies[1]'),
    ({'networks': [net(priority=-1)]}, 'wifibox_guest_networks[0].priority'),
    ({'networks': [net(), net(ssid='a\u0001b')], 'flavour': 'openwrt'}, 'wifibox_guest_networks[1].ssid: contains control characters'),
    ({'networks': [{'ssid': 'corp', 'security': 'wpa2_eap', 'eap': 'md5', 'identity': 'x'}]}, "'md5' is not a supported EAP method"),
    ({'networks': [{'ssid': 'corp', 'security': 'wpa2_eap', 'eap': 'peap'}]}, 'wifibox_guest_networks[0].identity: is required'),
    ({'networks': [{'ssid': 'corp', 'security': 'wpa2_eap', 'eap': 'peap', 'identity': 'x'}]}, 'wifibox_guest_networks[0].password: is required'),
    ({'networks': [{'ssid': 'corp', 'security': 'wpa2_eap', 'eap': 'tls', 'identity': 'x'}]}, 'wifibox_guest_networks[0].client_cert: is required'),
    ({'networks': [{'ssid': 'corp', 'security': 'wpa2_eap', 'eap': 'peap', 'identity': 'x', 'password': 'p',
                    'ca_cert': '/nonexistent/ca.pem'}]}, "wifibox_guest_networks[0].ca_cert: file '/nonexistent/ca.pem' does not exist"),
    ({'lan_address': '10.0.0.1'}, 'wifibox_guest_lan_address'),
    ({'lan_address': '10.0.0.0/24'}, 'network or broadcast address'),
    ({'lan_address': 'fd00::1/64'}, 'must be an IPv4 address'),
    ({'dhcp_end': '10.0.1.5'}, 'wifibox_guest_dhcp_range_end: 10.0.1.5 is not a host address inside the guest LAN 10.0.0.0/24'),
    ({'dhcp_start': '10.0.0.1'}, "contains the guest's own address 10.0.0.1"),
    ({'dhcp_start': '10.0.0.200', 'dhcp_end': '10.0.0.100'}, 'reversed'),
    ({'dhcp_start': 'ten'}, "wifibox_guest_dhcp_range_start: 'ten' is not an IP address"),
    ({'dhcp_lease_time': 5}, 'wifibox_guest_dhcp_lease_time'),
    ({'upstream': {'proto': 'static', 'address': '10.0.0.50/16', 'gateway': '10.0.0.254'}}, 'overlaps the upstream network 10.0.0.0/16'),
    ({'upstream': {'proto': 'static', 'address': '192.168.1.5/24', 'gateway': '192.168.2.1'}}, 'is not inside the upstream network'),
    ({'upstream': {'proto': 'static', 'address': '192.168.1.5/24'}}, 'wifibox_guest_upstream.gateway: is required'),
    ({'mode': 'routed'}, 'routed mode needs a static upstream'),
    ({'ipv6_lan_address': 'fd00::1/56'}, 'must be a /64'),
    ({'upstream6': {'proto': 'static', 'address': 'fd00::5/64', 'gateway': 'fd00::1'}}, 'overlaps the upstream prefix'),
    ({'port_forwards': [{'port': 70000, 'to_address': '10.0.0.2'}]}, 'wifibox_guest_port_forwards[0].port'),
    ({'port_forwards': [{'port': 80, 'to_address': '10.0.0.1'}]}, 'wifibox_guest_port_forwards[0].to_address'),
    ({'port_forwards': [{'port': 80, 'proto': 'sctp', 'to_address': '10.0.0.2'}]}, 'must be tcp or udp'),
    ({'flavour': 'ifupdown', 'mode': 'bridged', 'port_forwards': [{'port': 80, 'to_address': '10.0.0.2'}]}, 'port forwards need mode nat or routed'),
    ({'uds_ports': [0]}, 'wifibox_guest_uds_sockets[0].port'),
])
def test_invalid_settings_are_named(over, expected):
    errors = gc.guest_validate(settings(**over))
    assert any(expected in e for e in errors), errors


def test_errors_never_contain_secrets(tmp_path):
    ca = tmp_path / 'ca.pem'
    ca.write_text('x')
    nets = [net(psk='Sh0rt!'), net(psk='caf\u00e9-not-ascii-secret'),
            {'ssid': 'corp', 'security': 'wpa2_eap', 'eap': 'tls', 'identity': 'x', 'password': 'eap-secret-pw',
             'private_key_password': 'key-secret-pw', 'ca_cert': str(ca)}]
    errors = gc.guest_validate(settings(networks=nets))
    assert len(errors) >= 3
    for secret in ('Sh0rt!', 'not-ascii-secret', 'eap-secret-pw', 'key-secret-pw'):
        assert all(secret not in e for e in errors)


def test_same_file_name_from_two_places(tmp_path):
    (tmp_path / 'a').mkdir()
    (tmp_path / 'b').mkdir()
    for sub in ('a', 'b'):
        (tmp_path / sub / 'ca.pem').write_text(sub)
    nets = [{'ssid': 'n%d' % i, 'security': 'wpa2_eap', 'eap': 'peap', 'identity': 'x', 'password': 'p',
             'ca_cert': str(tmp_path / sub / 'ca.pem')} for i, sub in enumerate(('a', 'b'))]
    assert any("different file named 'ca.pem'" in e for e in gc.guest_validate(settings(networks=nets)))


def test_filters_are_registered():
    names = {'wpa_ssid', 'wpa_passphrase', 'uci_quote', 'guest_ipinfo', 'guest_validate', 'guest_mask_secrets',
             'guest_masked_diff', 'wpa_string', 'wpa_psk_derive', 'wpa_passphrase_quoted', 'guest_ap_radio'}
    assert set(gc.FilterModule().filters()) == names


@pytest.mark.parametrize('over, expected', [
    ({'lan_interface': 'eth0;reboot'}, 'wifibox_guest_lan_interface'),
    ({'wlan_interface': 'wlan0 -j ACCEPT'}, 'wifibox_guest_wlan_interface'),
    ({'lan_interface': 'eth0', 'wlan_interface': 'eth0'}, "'eth0' is also wifibox_guest_lan_interface"),
    ({'config_dir': '/a/../b'}, "must not contain '.' or '..'"),
    ({'uds_sockets': [{'path': '/x', 'port': 1, 'mode': 770}]}, 'wifibox_guest_uds_sockets[0].mode'),
    ({'forwarding': ['a b c']}, 'wifibox_guest_forwarding[0]'),
    ({'networks': [net(frequencies=[5170, 2413])]}, 'wifibox_guest_networks[0].frequencies[1]'),
    ({'dns_fallback': ['fe80::1%eth0']}, 'no interface scope'),
    ({'networks': [{'ssid': 'c', 'security': 'wpa2_eap', 'eap': 'peap', 'identity': 'a\nb', 'password': 'p'}]},
     'wifibox_guest_networks[0].identity'),
])
def test_values_reaching_files_are_checked(over, expected):
    errors = gc.guest_validate(settings(**over))
    assert any(expected in e for e in errors), errors


def test_valid_extra_settings_pass():
    assert gc.guest_validate(settings(
        lan_interface='lan0', wlan_interface='wlp0s6', config_dir='/usr/local/etc/wifibox-bhyve', root_dir='/',
        uds_sockets=[{'path': '/var/run/wpa_supplicant/wlan0', 'port': 1200, 'group': 0, 'mode': '770'}],
        forwarding=['UDP4-RECV:11223,broadcast,reuseaddr UDP4:10.0.0.2:11223'], wpa_update_config=True,
        networks=[net(frequencies=[2412, 2484, 5180, 5955, 7115])])) == []


def test_channel_frequencies():
    assert [f for f in range(2400, 7200) if gc.is_channel_frequency(f)][:3] == [2412, 2417, 2422]
    assert not gc.is_channel_frequency(2413) and gc.is_channel_frequency(6115) and not gc.is_channel_frequency(6120)
