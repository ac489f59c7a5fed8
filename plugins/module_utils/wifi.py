# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What FreeBSD and the wifibox know about Wi-Fi cards, kept in one place.

* which kernel module (the file devmatch loads, and devmatch_blocklist names)
  provides each native Wi-Fi driver;
* cards users reported trouble with under pass-through (WIFIBOX.md section 5),
  with what to do about it.
"""

from __future__ import annotations

# Driver name as pciconf prints it -> kernel module file devmatch(8) loads for it.
# devmatch_blocklist matches these file names exactly: "iwm" does not block "if_iwm".
DRIVER_KERNEL_MODULES = {
    'ath': 'if_ath',
    'ath10k': 'if_ath10k',
    'ath11k': 'if_ath11k',
    'bwi': 'if_bwi',
    'bwn': 'if_bwn',
    'ipw': 'if_ipw',
    'iwi': 'if_iwi',
    'iwlwifi': 'if_iwlwifi',
    'iwm': 'if_iwm',
    'iwn': 'if_iwn',
    'malo': 'if_malo',
    'mwl': 'if_mwl',
    'ral': 'if_ral',
    'rtw88': 'if_rtw88',
    'rtw89': 'if_rtw89',
    'rtwn': 'if_rtwn_pci',
    'wpi': 'if_wpi',
}

# Drivers that are not a native Wi-Fi driver (pass-through, or nothing attached).
NOT_NATIVE = ('ppt', None)

BROADCOM = '0x14e4'
# Broadcom cards whose Linux driver is brcmfmac (FullMAC, uses MSI).
_BROADCOM_BRCMFMAC = ('0x43a3', '0x43ba', '0x43dc', '0x43ec', '0x4464', '0x440d')

# (vendor_id, device_id) -> (short name, problem and what to do).
PROBLEM_CARDS = {
    ('0x14e4', '0x43ba'): (
        'BCM43602',
        'brcmfmac in the guest needs the NVRAM file of the card (a brcmfmac43602-pcie .txt, BRCM_FWCONF_FILES) and a '
        'brcmfmac43602-pcie.FreeBSD-BHYVE.bin symlink to its firmware, or wlan0 never appears (wifibox issue #65); '
        'add both to the guest image',
    ),
    ('0x17cb', '0x1101'): (
        'QCA6390 (ath11k)',
        'ath11k assumes it gets all the MSI vectors it asks for, which bhyve pass-through does not provide, so the '
        'driver fails in the guest (wifibox issue #137); use a guest kernel whose ath11k falls back to one MSI '
        'vector, or another card',
    ),
    ('0x17cb', '0x1103'): (
        'WCN6855 (ath11k)',
        'ath11k assumes it gets all the MSI vectors it asks for, which bhyve pass-through does not provide, so the '
        'driver fails in the guest (wifibox issue #137); use a guest kernel whose ath11k falls back to one MSI '
        'vector, or another card',
    ),
    ('0x17cb', '0x1104'): (
        'QCN9074 (ath11k)',
        'ath11k assumes it gets all the MSI vectors it asks for, which bhyve pass-through does not provide, so the '
        'driver fails in the guest (wifibox issue #137); use a guest kernel whose ath11k falls back to one MSI '
        'vector, or another card',
    ),
    ('0x8086', '0x2725'): (
        'Wi-Fi 6E AX210',
        'iwlwifi in the guest needs the AX210 firmware (iwlwifi-ty-a0-gf-a0-*.ucode and its .pnvm), which older '
        'guest images lack, so wlan0 never appears (wifibox issue #111); use a guest image with current Intel '
        'firmware',
    ),
}

_BROADCOM_NO_MSI = (
    'its Linux driver (b43, brcmsmac or wl) does not use MSI interrupts, which bhyve pass-through needs, so it will '
    'most likely not work in the guest; use a card whose Linux driver supports MSI (Intel iwlwifi, Atheros '
    'ath9k/ath10k, Realtek rtw88/rtw89)'
)


# Class codes of Wi-Fi: network/other (almost every laptop card) and wireless 802.11a/b.
# pciconf's "wireless" also covers class 0x0d11, Bluetooth controllers, which are not Wi-Fi.
WIFI_CLASS_PREFIXES = ('0x0280', '0x0d20', '0x0d21')


def is_wifi(device):
    return device['class'].startswith(WIFI_CLASS_PREFIXES)


def kernel_module(driver):
    """The module file that provides ``driver`` (``iwm`` -> ``if_iwm``), or None."""
    if driver in NOT_NATIVE:
        return None
    return DRIVER_KERNEL_MODULES.get(driver)


def card_problems(device):
    """Known problems of a Wi-Fi card under pass-through, each a sentence with the fix."""
    key = (device['vendor_id'], device['device_id'])
    if key in PROBLEM_CARDS:
        name, text = PROBLEM_CARDS[key]
        return ['%s (%s at %s): %s' % (name, device['name'], device['pptdev'], text)]
    if device['vendor_id'] == BROADCOM and device['device_id'] not in _BROADCOM_BRCMFMAC:
        return ['Broadcom %s (%s at %s): %s' % (device['device_id'], device['name'], device['pptdev'], _BROADCOM_NO_MSI)]
    return []
