# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ifconfig output parser against outputs written from FREEBSD.md section 5."""

import os

from ansible_collections.wifibox.bhyve.plugins.module_utils.ifconfig import (
    INTERFACE_NAME,
    parse_ifconfig,
    parse_interface_list,
)

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'ifconfig')


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def test_bridge_on_14_with_a_tap_member():
    (bridge,) = parse_ifconfig(fixture('wifibox0-14.txt'))
    assert bridge['name'] == 'wifibox0'
    assert bridge['up'] and bridge['is_bridge']
    assert bridge['flags'] == ['UP', 'BROADCAST', 'RUNNING', 'SIMPLEX', 'MULTICAST', 'LOWER_UP']
    assert bridge['flags_value'] == '1008843'
    assert bridge['mtu'] == 1500 and bridge['metric'] == 0
    assert bridge['member_names'] == ['tap0']
    assert bridge['members'][0]['flags'] == ['LEARNING', 'DISCOVER', 'AUTOEDGE', 'AUTOPTP']
    assert bridge['inet'] == [{'address': '10.0.0.1', 'netmask': '0xffffff00', 'broadcast': '10.0.0.255'}]
    assert bridge['ether'] == '58:9c:fc:10:8a:31'


def test_bridge_down_without_members_on_13():
    (bridge,) = parse_ifconfig(fixture('wifibox0-down-empty-13.txt'))
    assert not bridge['up']
    assert bridge['members'] == [] and bridge['member_names'] == []
    assert bridge['is_bridge']


def test_several_interfaces_options_line_and_tap_details():
    bridge, tap = parse_ifconfig(fixture('bridge0-two-taps.txt'))
    assert bridge['member_names'] == ['tap1', 'tap0']
    assert not tap['is_bridge'] and tap['groups'] == ['tap']
    assert tap['status'] == 'active' and tap['opened_by_pid'] == 1234


def test_an_ordinary_interface_is_not_a_bridge():
    (em0,) = parse_ifconfig(fixture('em0-not-bridge.txt'))
    assert not em0['is_bridge'] and em0['members'] == []
    assert em0['inet6'][0]['prefixlen'] == '64'


def test_interface_list_and_names():
    assert parse_interface_list('em0 lo0 wifibox0 tap0\n') == ['em0', 'lo0', 'wifibox0', 'tap0']
    assert parse_interface_list('') == []
    assert INTERFACE_NAME.match('wifibox0') and INTERFACE_NAME.match('tap0')
    assert not INTERFACE_NAME.match('0tap') and not INTERFACE_NAME.match('a' * 16) and not INTERFACE_NAME.match('a b')


def test_garbage_gives_nothing():
    assert parse_ifconfig('ifconfig: interface wifibox0 does not exist\n') == []
