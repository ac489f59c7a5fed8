# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import os

import pytest

from ansible_collections.wifibox.bhyve.plugins.module_utils.pciconf import (
    PciconfParseError,
    device_matches,
    parse_pciconf,
    parse_pptdev,
    parse_selector,
    split_device_name,
)

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'pciconf')


def capture(name):
    with open(os.path.join(FIXTURES, name), encoding='utf-8', newline='') as handle:
        return handle.read()


def parse(name):
    devices, unparsed = parse_pciconf(capture(name))
    assert unparsed == []
    return devices


def by_name(devices):
    return dict((device['name'], device) for device in devices)


def test_t480_lists_every_function_in_order():
    devices = parse('thinkpad-t480-14.txt')
    assert [device['name'] for device in devices] == [
        'hostb0', 'vgapci0', 'xhci0', 'none0', 'pcib1', 'pcib2', 'isab0', 'hdac0', 'em0', 'iwm0', 'nvme0',
    ]


def test_t480_wifi_card_has_every_field():
    card = by_name(parse('thinkpad-t480-14.txt'))['iwm0']
    assert card == {
        'name': 'iwm0',
        'driver': 'iwm',
        'unit': 0,
        'selector': 'pci0:3:0:0',
        'pptdev': '3/0/0',
        'domain': 0,
        'bus': 3,
        'slot': 0,
        'function': 0,
        'class': '0x028000',
        'revision': '0x78',
        'header_type': '0x00',
        'vendor_id': '0x8086',
        'device_id': '0x24fd',
        'subvendor_id': '0x8086',
        'subdevice_id': '0x0010',
        'vendor': 'Intel Corporation',
        'device': 'Wireless 8265 / 8275',
        'class_name': 'network',
        'subclass_name': None,
        'wireless': True,
        'held_by_ppt': False,
    }


def test_only_the_wifi_card_is_wireless():
    devices = parse('thinkpad-t480-14.txt')
    assert [device['name'] for device in devices if device['wireless']] == ['iwm0']
    ethernet = by_name(devices)['em0']
    assert ethernet['class'] == '0x020000' and ethernet['subclass_name'] == 'ethernet'


def test_multifunction_and_bridge_headers_keep_their_width():
    devices = by_name(parse('thinkpad-t480-14.txt'))
    assert devices['isab0']['header_type'] == '0x80'
    assert devices['pcib2']['header_type'] == '0x01'
    assert devices['pcib2']['selector'] == 'pci0:0:28:6'
    assert devices['pcib2']['pptdev'] == '0/28/6'
    assert devices['xhci0']['class'] == '0x0c0330'


def test_card_held_by_ppt():
    card = by_name(parse('thinkpad-t480-ppt.txt'))['ppt0']
    assert card['driver'] == 'ppt' and card['unit'] == 0
    assert card['held_by_ppt'] is True and card['wireless'] is True
    assert card['device'] == 'Wireless 8265 / 8275'


def test_unclaimed_device_has_no_driver():
    devices = by_name(parse('thinkpad-t480-14.txt'))
    assert devices['none0']['driver'] is None
    assert devices['none0']['unit'] == 0
    assert devices['none0']['held_by_ppt'] is False


def test_broadcom_without_native_driver_is_found():
    devices = parse('macbook-bcm4350.txt')
    wireless = [device for device in devices if device['wireless']]
    assert len(wireless) == 1
    card = wireless[0]
    assert (card['name'], card['driver'], card['unit']) == ('none1', None, 1)
    assert (card['vendor_id'], card['device_id']) == ('0x14e4', '0x43a3')
    assert card['subvendor_id'] == '0x106b' and card['pptdev'] == '2/0/0'
    assert card['device'] == 'BCM4350 802.11ac Wireless Network Adapter'


def test_freebsd_12_card_and_chip_words_are_split():
    card = by_name(parse('x220-12.txt'))['iwn0']
    assert card['vendor_id'] == '0x8086'
    assert card['device_id'] == '0x0085'
    assert card['subvendor_id'] == '0x8086'
    assert card['subdevice_id'] == '0x1311'
    assert card['revision'] == '0x34' and card['header_type'] == '0x00'
    assert card['wireless'] is True and card['driver'] == 'iwn'
    host = by_name(parse('x220-12.txt'))['hostb0']
    assert (host['vendor_id'], host['device_id'], host['subvendor_id'], host['subdevice_id']) == (
        '0x8086', '0x0104', '0x17aa', '0x21da')


def test_several_cards_and_driver_names_ending_in_digits():
    devices = parse('amd-two-cards.txt')
    wireless = [device for device in devices if device['wireless']]
    assert [device['name'] for device in wireless] == ['rtw890', 'iwlwifi0', 'none0']
    realtek, intel, bluetooth = wireless
    assert (realtek['driver'], realtek['unit']) == ('rtw89', 0)
    assert realtek['device_id'] == '0xb852' and realtek['pptdev'] == '2/0/0'
    assert (intel['driver'], intel['device_id']) == ('iwlwifi', '0x2725')
    assert intel['device'] == 'Wi-Fi 6E(802.11ax) AX210/AX1675* 2x2 [Typhoon Peak]'
    # A wireless controller (class 0x0d) that the PCI database does not know.
    assert bluetooth['class'] == '0x0d1100'
    assert bluetooth['vendor'] is None and bluetooth['device'] is None
    assert (bluetooth['class_name'], bluetooth['subclass_name']) == ('wireless controller', 'bluetooth')


@pytest.mark.parametrize('line_end', ['\n', '\r\n'])
def test_pasted_output_with_spaces_and_blank_lines(line_end):
    devices, unparsed = parse_pciconf(capture('pasted-spaces.txt').replace('\n', line_end))
    assert unparsed == []
    assert [device['name'] for device in devices] == ['hostb0', 'iwm0']
    assert devices[1]['device'] == 'Wireless 8265 / 8275'
    assert devices[1]['selector'] == 'pci0:3:0:0'
    assert devices[0]['device'] is None


def test_plain_l_output_without_names():
    text = 'iwm0@pci0:3:0:0:\tclass=0x028000 rev=0x78 hdr=0x00 vendor=0x8086 device=0x24fd subvendor=0x8086 subdevice=0x0010\n'
    devices, unparsed = parse_pciconf(text)
    assert unparsed == []
    assert devices[0]['vendor'] is None and devices[0]['wireless'] is True


def test_no_wifi_card_and_no_output():
    assert [device for device in parse('desktop-no-wifi.txt') if device['wireless']] == []
    assert parse('no-devices.txt') == []


def test_name_with_an_apostrophe_runs_to_the_last_quote():
    text = ("none0@pci0:1:0:0:\tclass=0x028000 rev=0x01 hdr=0x00 vendor=0x1234 device=0x5678 subvendor=0x0000 subdevice=0x0000\n"
            "    vendor     = 'Joe's Radios'\n")
    assert parse_pciconf(text)[0][0]['vendor'] == "Joe's Radios"


def test_other_indented_lines_are_ignored_and_strangers_reported():
    text = ("$ pciconf -lvb\n"
            "iwm0@pci0:3:0:0:\tclass=0x028000 rev=0x78 hdr=0x00 vendor=0x8086 device=0x24fd subvendor=0x8086 subdevice=0x0010\n"
            "    bar   [10] = type Memory, range 64, base 0xe1000000, size 8192, enabled\n"
            "    vendor     = 'Intel Corporation'\n")
    devices, unparsed = parse_pciconf(text)
    assert unparsed == ['$ pciconf -lvb']
    assert devices[0]['vendor'] == 'Intel Corporation'


def test_capability_lines_of_lvc_are_skipped():
    # pciconf -lvc adds "cap"/"ecap" lines and deeper continuation lines (spaces or tabs).
    text = ("isab0@pci0:0:31:0:\tclass=0x060100 rev=0x05 hdr=0x00 vendor=0x8086 device=0x8c4b subvendor=0x8086 subdevice=0x7270\n"
            "    vendor     = 'Intel Corporation'\n"
            "    cap 09[e0] = vendor (length 12) Intel cap 1 version 0\n"
            "\t\t features: AMT, 4 PCI-e x1 slots\n"
            "none1@pci0:3:0:0:\tclass=0x028000 rev=0x01 hdr=0x00 vendor=0x14e4 device=0x43ba subvendor=0x106b subdevice=0x0152\n"
            "    device     = 'BCM43602 802.11ac Wireless LAN SoC'\n"
            "    cap 10[ac] = PCI-Express 2 endpoint max data 128(256) RO NS\n"
            "                 max read 1024\n"
            "    ecap 0001[100] = AER 1 0 fatal 0 non-fatal 1 corrected\n"
            "    class      = network\n")
    devices, unparsed = parse_pciconf(text)
    assert unparsed == []
    assert [device['name'] for device in devices] == ['isab0', 'none1']
    assert devices[0]['vendor'] == 'Intel Corporation' and devices[0]['device'] is None
    assert (devices[1]['device'], devices[1]['class_name']) == ('BCM43602 802.11ac Wireless LAN SoC', 'network')


def test_broken_device_line_is_an_error_naming_the_line():
    text = 'iwm0@pci0:3:0:0:\tclass=0x028000 rev=0x78 hdr=0x00 vendor=0x8086\n'
    with pytest.raises(PciconfParseError, match=r'line 1 .*missing device, subdevice, subvendor'):
        parse_pciconf(text)


@pytest.mark.parametrize('name, expected', [
    ('iwm0', ('iwm', 0)),
    ('iwlwifi12', ('iwlwifi', 12)),
    ('rtw880', ('rtw88', 0)),
    ('rtw8910', ('rtw89', 10)),
    ('ath10k1', ('ath10k', 1)),
    ('none17', (None, 17)),
    ('ppt3', ('ppt', 3)),
    ('sdhci_pci0', ('sdhci_pci', 0)),
])
def test_split_device_name(name, expected):
    assert split_device_name(name) == expected


@pytest.mark.parametrize('text, expected', [
    ('pci0:3:0:0', (0, 3, 0, 0)),
    ('pci0:3:0:0:', (0, 3, 0, 0)),
    ('iwm0@pci0:3:0:0:', (0, 3, 0, 0)),
    ('pci1:3:0:1', (1, 3, 0, 1)),
    ('pci3:0:1', (0, 3, 0, 1)),
    ('pci3:0', (0, 3, 0, 0)),
])
def test_parse_selector(text, expected):
    assert parse_selector(text) == expected


@pytest.mark.parametrize('text', ['3/0/0', 'pci', 'pci0', 'pcix:1:2', '0:3:0:0'])
def test_parse_selector_rejects(text):
    if text == '3/0/0':
        assert parse_pptdev(text) == (3, 0, 0)
        text = 'pci' + text
    with pytest.raises(ValueError, match='not a PCI selector'):
        parse_selector(text)


@pytest.mark.parametrize('text', ['3/0', '3.0.0', '3/0/0/0', '1000/0/0', 'a/b/c', ' 3/0/0'])
def test_parse_pptdev_rejects(text):
    with pytest.raises(ValueError, match='bus/slot/function'):
        parse_pptdev(text)


@pytest.mark.parametrize('wanted, name', [
    ('pci0:3:0:0', 'iwm0'),
    ('pci3:0:0', 'iwm0'),
    ('3/0/0', 'iwm0'),
    ('iwm0', 'iwm0'),
    ('pci0:0:28:6', 'pcib2'),
    ('none0', 'none0'),
])
def test_device_matches(wanted, name):
    matches = [device['name'] for device in parse('thinkpad-t480-14.txt') if device_matches(device, wanted)]
    assert matches == [name]


@pytest.mark.parametrize('wanted', ['3-0-0', 'wifi card', 'pci0:x:0:0', '3/0'])
def test_device_matches_rejects_nonsense(wanted):
    with pytest.raises(ValueError):
        device_matches(parse('thinkpad-t480-14.txt')[0], wanted)
