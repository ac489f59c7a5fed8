# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The flavour x mode x IPv6 x security scenarios the guest tests render and check."""

from __future__ import annotations

import os

PSK_NETS = [
    {'ssid': 'home', 'security': 'wpa2_psk', 'psk': 'correct horse battery', 'priority': 10},
    {'ssid': 'caf"\u00e9 \\ net', 'security': 'wpa3_sae', 'psk': 'sae-pass "#1"', 'hidden': True,
     'bssid': '02:11:22:33:44:55', 'frequencies': [2412, 5180]},
    {'ssid': ' mixed ', 'security': 'wpa2_wpa3', 'psk': 'transition-mode-1'},
    {'ssid': 'raw\u0001psk', 'security': 'wpa2_psk', 'psk': 'ab' * 32},
    {'ssid': 'Caf\u00e9 libre', 'security': 'open', 'hidden': True},
]
OPENWRT_NETS = [n for n in PSK_NETS if '\u0001' not in n['ssid']]
FORWARDS = [{'proto': 'tcp', 'port': 2222, 'to_address': '10.0.0.2', 'to_port': 22},
            {'proto': 'udp', 'port': 5353, 'to_address': '10.0.0.3'}]
STATIC_UP = {'proto': 'static', 'address': '192.168.50.2/24', 'gateway': '192.168.50.1', 'dns': ['192.168.50.1']}
STATIC_UP6 = {'proto': 'static', 'address': '2001:db8:50::2/64', 'gateway': '2001:db8:50::1', 'dns': ['2001:db8:50::1']}


def eap_nets(tmp):
    files = {}
    for name in ('ca.pem', 'client.pem', 'client.key'):
        path = os.path.join(tmp, name)
        with open(path, 'w', encoding='utf-8') as handle:
            handle.write('-----BEGIN TEST FILE-----\n%s\n-----END TEST FILE-----\n' % name)
        files[name] = path
    return [
        {'ssid': 'corp-peap', 'security': 'wpa2_eap', 'eap': 'peap', 'identity': 'alice@example.org',
         'anonymous_identity': 'anonymous@example.org', 'password': 'peap-password-1', 'ca_cert': files['ca.pem'],
         'domain_suffix_match': 'radius.example.org', 'priority': 3},
        {'ssid': 'corp-ttls', 'security': 'wpa2_eap', 'eap': 'ttls', 'identity': 'bob', 'password': 'ttls "pw"',
         'phase2': 'auth=PAP', 'ca_cert': files['ca.pem']},
        {'ssid': 'corp-tls', 'security': 'wpa2_eap', 'eap': 'tls', 'identity': 'carol', 'ca_cert': files['ca.pem'],
         'client_cert': files['client.pem'], 'private_key': files['client.key'], 'private_key_password': 'key-pass-9'},
    ]


# (id, flavour, mode, ipv6, networks, extra variables)
SCENARIOS = [
    ('wifibox_alpine-nat-nat66-psk', 'wifibox_alpine', 'nat', 'nat66', 'psk', {'wifibox_guest_port_forwards': FORWARDS}),
    ('wifibox_alpine-routed-off-eap', 'wifibox_alpine', 'routed', 'off', 'eap', {'wifibox_guest_upstream': STATIC_UP}),
    ('wifibox_alpine-nat-routed-eap', 'wifibox_alpine', 'nat', 'routed', 'eap',
     {'wifibox_guest_ipv6_lan_address': '2001:db8:60::1/64', 'wifibox_guest_upstream6': STATIC_UP6}),
    ('ifupdown-nat-nat66-psk', 'ifupdown', 'nat', 'nat66', 'psk', {'wifibox_guest_port_forwards': FORWARDS}),
    ('ifupdown-routed-routed-eap', 'ifupdown', 'routed', 'routed', 'eap',
     {'wifibox_guest_upstream': STATIC_UP, 'wifibox_guest_ipv6_lan_address': '2001:db8:60::1/64',
      'wifibox_guest_upstream6': STATIC_UP6}),
    ('ifupdown-bridged-psk', 'ifupdown', 'bridged', 'nat66', 'psk', {}),
    ('openwrt-nat-nat66-psk', 'openwrt', 'nat', 'nat66', 'psk', {'wifibox_guest_port_forwards': FORWARDS}),
    ('openwrt-routed-routed-eap', 'openwrt', 'routed', 'routed', 'eap',
     {'wifibox_guest_upstream': STATIC_UP, 'wifibox_guest_ipv6_lan_address': '2001:db8:60::1/64',
      'wifibox_guest_upstream6': STATIC_UP6, 'wifibox_guest_port_forwards': FORWARDS[:1]}),
    ('openwrt-bridged-psk', 'openwrt', 'bridged', 'off', 'psk', {}),
]


def host_vars(work):
    """Inventory host name -> role variables, one host per scenario."""
    hosts = {}
    for name, flavour, mode, ipv6, kind, extra in SCENARIOS:
        nets = eap_nets(work) if kind == 'eap' else (OPENWRT_NETS if flavour == 'openwrt' else PSK_NETS)
        variables = {'wifibox_guest_flavour': flavour, 'wifibox_guest_mode': mode, 'wifibox_guest_ipv6': ipv6,
                     'wifibox_guest_networks': nets, 'wifibox_guest_country': 'DE'}
        variables.update(extra)
        hosts[host_name(name)] = variables
    return hosts


def host_name(scenario):
    return scenario.replace('-', '_')
