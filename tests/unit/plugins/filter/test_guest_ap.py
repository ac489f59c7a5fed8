# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Validation of the access_point role of wifibox_guest, and the radio settings hostapd gets."""

from __future__ import annotations

import pytest

from ansible_collections.wifibox.bhyve.plugins.filter import guest_config as gc

SECRET = 'S3cret-pass-phrase'


def ap_settings(country='DE', **over):
    ap = {
        'ssid': 'wifibox', 'hidden': False, 'security': 'wpa2_psk', 'passphrase': SECRET, 'band': '2g',
        'channel': 6, 'channel_width': 20, 'ieee80211n': True, 'ieee80211ac': False, 'ieee80211ax': False,
        'ht_capab': [], 'vht_capab': [], 'client_isolation': False, 'max_clients': 32,
        'lan_address': '10.0.0.2/24', 'lan_gateway': '10.0.0.1', 'address': '192.168.0.1/24',
        'dhcp_start': '192.168.0.2', 'dhcp_end': '192.168.0.254', 'ipv6_lan_address': 'fd00::ffff/64',
        'ipv6_address': 'fd01::1/64',
    }
    ap.update(over)
    return {
        'flavour': 'wifibox_alpine', 'mode': 'nat', 'ipv6': 'nat66', 'hostname': 'wifibox', 'country': country,
        'networks': [], 'port_forwards': [], 'uds_ports': [1200], 'role': 'access_point', 'ap': ap,
    }


def errors(**kw):
    errs = gc.guest_validate(ap_settings(**kw))
    for err in errs:
        assert SECRET not in err
    return errs


def one(errs, var):
    hits = [e for e in errs if e.startswith(var + ':') or e.startswith(var + '[')]
    assert hits, 'no error about %s in %s' % (var, errs)
    return hits[0]


def test_defaults_are_valid():
    assert errors() == []
    assert errors(country='') == []          # world domain: 2.4 GHz channels 1-11
    assert errors(security='open', passphrase='') == []


@pytest.mark.parametrize('security', ['wpa2_psk', 'wpa3_sae', 'wpa2_wpa3'])
def test_securities_and_passphrase_rules(security):
    assert errors(security=security) == []
    assert 'required' in one(errors(security=security, passphrase=''), 'wifibox_guest_ap_passphrase')
    assert '8 to 63' in one(errors(security=security, passphrase='short'), 'wifibox_guest_ap_passphrase')
    hexpsk = 'ab' * 32
    if security == 'wpa2_psk':
        assert errors(security=security, passphrase=hexpsk) == []
    else:
        assert 'SAE' in one(errors(security=security, passphrase=hexpsk), 'wifibox_guest_ap_passphrase')


def test_open_with_passphrase_and_unknown_security():
    assert "'open'" in one(errors(security='open'), 'wifibox_guest_ap_passphrase')
    assert 'wpa2_eap' in one(errors(security='wpa2_eap'), 'wifibox_guest_ap_security')


def test_channel_not_allowed_in_the_country_lists_the_valid_ones():
    msg = one(errors(country='US', channel=13), 'wifibox_guest_ap_channel')
    assert 'country US' in msg and 'valid: auto, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11' in msg
    assert errors(country='DE', channel=13) == []
    msg = one(errors(country='DE', band='5g', channel=144), 'wifibox_guest_ap_channel')
    assert '36, 40' in msg and '140, 149' in msg and ' 144' not in msg
    assert errors(country='US', band='5g', channel=144) == []
    assert 'not a channel' in one(errors(channel=37, band='5g'), 'wifibox_guest_ap_channel')
    assert errors(channel='auto') == []
    assert errors(channel='11') == []


def test_five_gigahertz_needs_a_country():
    msg = one(errors(country='', band='5g', channel=36), 'wifibox_guest_ap_band')
    assert 'world regulatory domain' in msg and 'wifibox_guest_country' in msg


def test_unknown_band_and_country():
    assert '2g, 5g' in one(errors(band='6g'), 'wifibox_guest_ap_band')
    assert 'regulatory database' in one(errors(country='XX'), 'wifibox_guest_country')


def test_widths_and_standards():
    assert errors(band='5g', channel=36, channel_width=80, ieee80211ac=True) == []
    assert errors(band='5g', channel=36, channel_width=80, ieee80211ax=True) == []
    assert '80 MHz' in one(errors(channel_width=80, ieee80211ax=True), 'wifibox_guest_ap_channel_width')
    assert 'only on 5g' in one(errors(ieee80211ac=True), 'wifibox_guest_ap_ieee80211ac')
    assert 'turn it on' in one(errors(band='5g', channel=36, ieee80211n=False, ieee80211ac=True),
                               'wifibox_guest_ap_ieee80211n')
    assert '40 MHz needs' in one(errors(channel_width=40, ieee80211n=False), 'wifibox_guest_ap_channel_width')
    # US 2.4 GHz: channel 11 pairs with 7 (HT40-), valid; 5 GHz 165 has no pair in the US.
    assert errors(country='US', channel=11, channel_width=40) == []
    msg = one(errors(country='US', band='5g', channel=165, channel_width=40), 'wifibox_guest_ap_channel')
    assert 'secondary channel 169' in msg and '36' in msg
    msg = one(errors(country='US', band='5g', channel=165, channel_width=80, ieee80211ac=True),
              'wifibox_guest_ap_channel')
    assert '80 MHz' in msg and '161' in msg and '165' not in msg.split('valid')[1]
    assert errors(channel_width=30) and errors(channel_width='wide')


def test_capability_flags():
    assert errors(ht_capab=['[SHORT-GI-20]', 'LDPC']) == []
    assert "'[HT40+]'" in one(errors(ht_capab=['[HT40+]']), 'wifibox_guest_ap_ht_capab')
    assert 'standard it belongs to is off' in one(errors(vht_capab=['[RXLDPC]']), 'wifibox_guest_ap_vht_capab')
    assert errors(band='5g', channel=36, ieee80211ac=True, vht_capab=['[RXLDPC]', '[SHORT-GI-80]']) == []


def test_addresses():
    assert 'another host' in one(errors(lan_gateway='10.0.1.1'), 'wifibox_guest_ap_lan_gateway')
    assert 'overlaps' in one(errors(address='10.0.0.9/16'), 'wifibox_guest_ap_address')
    assert 'inside the access point network' in one(errors(dhcp_start='192.168.1.2'),
                                                    'wifibox_guest_ap_dhcp_range_start')
    assert "guest's own address" in one(errors(dhcp_start='192.168.0.1'), 'wifibox_guest_ap_dhcp_range_start')
    assert 'reversed' in one(errors(dhcp_start='192.168.0.200', dhcp_end='192.168.0.100'),
                             'wifibox_guest_ap_dhcp_range_start')
    assert '/64' in one(errors(ipv6_address='fd01::1/56'), 'wifibox_guest_ap_ipv6_address')


def test_other_values():
    assert '32 bytes' in one(errors(ssid='x' * 33), 'wifibox_guest_ap_ssid')
    assert 'control character' in one(errors(ssid='a\nb'), 'wifibox_guest_ap_ssid')
    assert 'true or false' in one(errors(hidden='yes'), 'wifibox_guest_ap_hidden')
    assert '2007' in one(errors(max_clients=0), 'wifibox_guest_ap_max_clients')


def test_client_only_settings_are_refused_in_access_point_role():
    cfg = ap_settings()
    cfg.update({'mode': 'routed', 'ipv6': 'routed', 'port_forwards': [{'port': 1, 'to_address': '10.0.0.3'}]})
    errs = gc.guest_validate(cfg)
    assert one(errs, 'wifibox_guest_mode') and one(errs, 'wifibox_guest_ipv6') and one(errs, 'wifibox_guest_port_forwards')
    cfg = ap_settings()
    cfg['role'] = 'hotspot'
    assert 'client, access_point' in one(gc.guest_validate(cfg), 'wifibox_guest_role')


@pytest.mark.parametrize('over, expected', [
    ({}, {'hw_mode': 'g', 'channel': 6, 'ht_capab': '', 'htmode': 'HT20', 'centre': 0, 'frequency': 2437}),
    ({'channel': 11, 'channel_width': 40}, {'ht_capab': '[HT40-]', 'htmode': 'HT40'}),
    ({'channel': 1, 'channel_width': 40, 'ht_capab': ['SHORT-GI-40']}, {'ht_capab': '[HT40+][SHORT-GI-40]'}),
    ({'band': '5g', 'channel': 44, 'channel_width': 80, 'ieee80211ac': True},
     {'hw_mode': 'a', 'ht_capab': '[HT40+]', 'chwidth': 1, 'centre': 42, 'htmode': 'VHT80', 'frequency': 5220}),
    ({'band': '5g', 'channel': 153, 'channel_width': 40, 'ieee80211ax': True}, {'ht_capab': '[HT40-]', 'htmode': 'HE40'}),
    ({'channel': 'auto'}, {'channel': 'acs_survey', 'uci_channel': 'auto'}),
    ({'ieee80211n': False}, {'htmode': 'NOHT'}),
])
def test_radio(over, expected):
    radio = gc.guest_ap_radio(ap_settings(**over))
    for key, value in expected.items():
        assert radio[key] == value, (key, radio)


def test_hostapd_secrets_are_masked():
    text = 'ssid=x\nwpa_passphrase=%s\nwpa_psk=%s\n' % (SECRET, 'ab' * 32)
    masked = gc.guest_mask_secrets(text)
    assert SECRET not in masked and 'ab' * 32 not in masked and 'ssid=x' in masked
