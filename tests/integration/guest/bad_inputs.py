# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bad inputs of the wifibox_guest role: (id, role variables, text the error must contain).

Every one of them reaches a generated file or a path; each must be refused, naming the variable,
before any file is written. Shared by the role test (test_guest_bad_input.py) and usable by the
project-wide bad-input table.
"""

from __future__ import annotations

NET = {'ssid': 'home', 'security': 'wpa2_psk', 'psk': 'correct horse battery'}


def net(**over):
    out = dict(NET)
    out.update(over)
    return out


def eap(**over):
    out = {'ssid': 'corp', 'security': 'wpa2_eap', 'eap': 'peap', 'identity': 'alice', 'password': 'pw-secret-1'}
    out.update(over)
    return out


CASES = [
    # Interface names pasted into interfaces.conf and the iptables rules (issue #12).
    ('lan_if_semicolon', {'wifibox_guest_lan_interface': 'eth0;reboot'}, 'wifibox_guest_lan_interface'),
    ('wlan_if_iptables', {'wifibox_guest_wlan_interface': 'wlan0 -j ACCEPT'}, 'wifibox_guest_wlan_interface'),
    ('wlan_if_newline', {'wifibox_guest_wlan_interface': 'wlan0\n-A INPUT -j ACCEPT'}, 'wifibox_guest_wlan_interface'),
    ('lan_if_too_long', {'wifibox_guest_lan_interface': 'e' * 16}, 'wifibox_guest_lan_interface'),
    ('lan_if_empty', {'wifibox_guest_lan_interface': ''}, 'wifibox_guest_lan_interface'),
    ('lan_if_br0', {'wifibox_guest_lan_interface': 'br0'}, 'wifibox_guest_lan_interface'),
    ('same_if', {'wifibox_guest_wlan_interface': 'eth0'}, 'wifibox_guest_wlan_interface'),
    ('lan_if_slash', {'wifibox_guest_lan_interface': 'eth/0'}, 'wifibox_guest_lan_interface'),
    # Addresses.
    ('lan_scope', {'wifibox_guest_ipv6_lan_address': 'fd00::1%eth0;x/64'}, 'wifibox_guest_ipv6_lan_address'),
    ('dns_injection', {'wifibox_guest_dns_fallback': ['8.8.8.8 -j ACCEPT']}, 'wifibox_guest_dns_fallback[0]'),
    ('dns6_v4', {'wifibox_guest_ipv6_dns_fallback': ['8.8.8.8']}, 'wifibox_guest_ipv6_dns_fallback[0]'),
    ('up_dns_v6', {'wifibox_guest_upstream': {'proto': 'static', 'address': '192.168.5.2/24', 'gateway': '192.168.5.1',
                                              'dns': ['2001:db8::1']}}, 'wifibox_guest_upstream.dns[0]'),
    ('up_unknown_key', {'wifibox_guest_upstream': {'proto': 'dhcp', 'gw': '1.2.3.4'}}, 'wifibox_guest_upstream'),
    ('up_gateway_prefix', {'wifibox_guest_upstream': {'proto': 'static', 'address': '192.168.5.2/24',
                                                      'gateway': '192.168.5.1/24'}}, 'wifibox_guest_upstream.gateway'),
    ('dhcp_start_text', {'wifibox_guest_dhcp_range_start': '10.0.0.2\nopt dns 6.6.6.6'},
     'wifibox_guest_dhcp_range_start'),
    # Ports and forwards.
    ('fwd_to_address', {'wifibox_guest_port_forwards': [{'port': 80, 'to_address': '10.0.0.2 -j ACCEPT'}]},
     'wifibox_guest_port_forwards[0].to_address'),
    ('fwd_port_text', {'wifibox_guest_port_forwards': [{'port': '80 -j ACCEPT', 'to_address': '10.0.0.2'}]},
     'wifibox_guest_port_forwards[0].port'),
    ('fwd_unknown', {'wifibox_guest_port_forwards': [{'port': 80, 'to_address': '10.0.0.2', 'src': '0/0'}]},
     'wifibox_guest_port_forwards[0]'),
    ('fwd_proto', {'wifibox_guest_port_forwards': [{'proto': 'icmp', 'port': 80, 'to_address': '10.0.0.2'}]},
     'wifibox_guest_port_forwards[0].proto'),
    ('uds_port_dup', {'wifibox_guest_uds_sockets': [{'path': '/var/run/a', 'port': 1200},
                                                    {'path': '/var/run/b', 'port': 1200}]},
     'wifibox_guest_uds_sockets[1].port'),
    ('uds_path_quote', {'wifibox_guest_uds_sockets': [{'path': '/var/run/x" ; reboot ; "', 'port': 1200}]},
     'wifibox_guest_uds_sockets[0].path'),
    ('uds_user', {'wifibox_guest_uds_sockets': [{'path': '/var/run/x', 'port': 1200, 'user': '$(reboot)'}]},
     'wifibox_guest_uds_sockets[0].user'),
    ('uds_mode', {'wifibox_guest_uds_sockets': [{'path': '/var/run/x', 'port': 1200, 'mode': '999'}]},
     'wifibox_guest_uds_sockets[0].mode'),
    ('forwarding_newline', {'wifibox_guest_forwarding': ['UDP4-RECV:1 UDP4:10.0.0.2:1\nEXEC:reboot STDIO']},
     'wifibox_guest_forwarding[0]'),
    ('forwarding_one_addr', {'wifibox_guest_forwarding': ['UDP4-RECV:1']}, 'wifibox_guest_forwarding[0]'),
    # Names, paths, booleans.
    ('hostname_semicolon', {'wifibox_guest_hostname': 'wifibox;reboot'}, 'wifibox_guest_hostname'),
    ('country_lower', {'wifibox_guest_country': 'de'}, 'wifibox_guest_country'),
    ('config_dir_relative', {'wifibox_guest_config_dir': 'etc/wifibox'}, 'wifibox_guest_config_dir'),
    ('config_dir_dotdot', {'wifibox_guest_config_dir': '/usr/local/../../etc'}, 'wifibox_guest_config_dir'),
    ('iptables_path', {'wifibox_guest_flavour': 'ifupdown', 'wifibox_guest_ifupdown_iptables_path': 'rules.v4'},
     'wifibox_guest_ifupdown_iptables_path'),
    ('radio_path_quote', {'wifibox_guest_flavour': 'openwrt', 'wifibox_guest_openwrt_radio_path': "pci'; reboot"},
     'wifibox_guest_openwrt_radio_path'),
    ('band', {'wifibox_guest_flavour': 'openwrt', 'wifibox_guest_openwrt_band': '7g'}, 'wifibox_guest_openwrt_band'),
    ('channel', {'wifibox_guest_flavour': 'openwrt', 'wifibox_guest_openwrt_channel': 300},
     'wifibox_guest_openwrt_channel'),
    ('wpa_update_text', {'wifibox_guest_wpa_update_config': 'maybe'}, 'wifibox_guest_wpa_update_config'),
    ('dhcp_leases_zero', {'wifibox_guest_dhcp_max_leases': 0}, 'wifibox_guest_dhcp_max_leases'),
    ('lease_time_huge', {'wifibox_guest_dhcp_lease_time': 2 ** 40}, 'wifibox_guest_dhcp_lease_time'),
    # Networks.
    ('net_unknown_key', {'wifibox_guest_networks': [net(pskk='typo')]}, 'wifibox_guest_networks[0]: unknown'),
    ('net_priority_text', {'wifibox_guest_networks': [net(priority='high')]}, 'wifibox_guest_networks[0].priority'),
    ('net_priority_huge', {'wifibox_guest_networks': [net(priority=2 ** 40)]}, 'wifibox_guest_networks[0].priority'),
    ('net_freq_not_channel', {'wifibox_guest_networks': [net(frequencies=[2413])]},
     'wifibox_guest_networks[0].frequencies[0]'),
    ('net_freq_text', {'wifibox_guest_networks': [net(frequencies='2412 5180')]},
     'wifibox_guest_networks[0].frequencies'),
    ('net_hidden_text', {'wifibox_guest_networks': [net(hidden='yes')]}, 'wifibox_guest_networks[0].hidden'),
    ('net_ssid_nul', {'wifibox_guest_networks': [net(ssid='a\x00b')]}, 'wifibox_guest_networks[0].ssid'),
    ('net_bssid', {'wifibox_guest_networks': [net(bssid='02:11:22:33:44:55\n\tpsk=x')]},
     'wifibox_guest_networks[0].bssid'),
    ('net_psk_newline', {'wifibox_guest_networks': [net(psk='correct horse\n}\nnetwork={')]},
     'wifibox_guest_networks[0].psk'),
    ('eap_identity_newline', {'wifibox_guest_networks': [eap(identity='alice\n\tpassword="x"')]},
     'wifibox_guest_networks[0].identity'),
    ('eap_password_tab', {'wifibox_guest_networks': [eap(password='pw\tsecret')]},
     'wifibox_guest_networks[0].password'),
    ('eap_phase2', {'wifibox_guest_networks': [eap(phase2='auth=PAP" ca_cert="/x')]},
     'wifibox_guest_networks[0].phase2'),
    ('eap_domain', {'wifibox_guest_networks': [eap(domain_suffix_match='radius example org')]},
     'wifibox_guest_networks[0].domain_suffix_match'),
    ('eap_method', {'wifibox_guest_networks': [eap(eap='md5')]}, 'wifibox_guest_networks[0].eap'),
]
