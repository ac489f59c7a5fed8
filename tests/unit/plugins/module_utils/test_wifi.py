# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Wi-Fi driver table and the known problem cards (WIFIBOX.md section 5)."""

import os

import pytest

from ansible_collections.wifibox.bhyve.plugins.module_utils.pciconf import parse_pciconf
from ansible_collections.wifibox.bhyve.plugins.module_utils.wifi import card_problems, is_wifi, kernel_module

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'pciconf')


def devices(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return parse_pciconf(handle.read())[0]


@pytest.mark.parametrize('driver, module', [
    ('iwm', 'if_iwm'), ('iwlwifi', 'if_iwlwifi'), ('iwn', 'if_iwn'), ('ath', 'if_ath'),
    ('rtw88', 'if_rtw88'), ('rtw89', 'if_rtw89'), ('bwn', 'if_bwn'), ('rtwn', 'if_rtwn_pci'),
    ('ppt', None), (None, None), ('unknowndrv', None),
])
def test_kernel_module(driver, module):
    assert kernel_module(driver) == module


def test_ax210_firmware_warning_and_bluetooth_is_not_wifi():
    found = devices('amd-two-cards.txt')
    wifi = [device for device in found if is_wifi(device)]
    assert [device['name'] for device in wifi] == ['rtw890', 'iwlwifi0']
    assert not any(is_wifi(device) for device in found if device['class'] == '0x0d1100')
    (problem,) = card_problems(wifi[1])
    assert 'AX210' in problem and 'firmware' in problem and '3/0/0' in problem
    assert card_problems(wifi[0]) == []


def test_broadcom_cards():
    card = dict(name='bwn0', pptdev='2/0/0', vendor_id='0x14e4', device_id='0x4331')
    assert 'MSI' in card_problems(card)[0]
    card.update(device_id='0x43ba')
    assert 'NVRAM' in card_problems(card)[0]
    card.update(device_id='0x43a3')  # BCM4350, brcmfmac
    assert card_problems(card) == []


def test_ath11k():
    card = dict(name='none1', pptdev='1/0/0', vendor_id='0x17cb', device_id='0x1103')
    assert 'MSI' in card_problems(card)[0] and '#137' in card_problems(card)[0]
