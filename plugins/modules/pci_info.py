#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: pci_info
short_description: List the PCI devices of a FreeBSD host and find its Wi-Fi cards
version_added: 0.1.0
description:
  - Runs C(pciconf -lv) on the host and returns one entry per PCI function, with the driver that holds it,
    its IDs, the names from the PCI database and the forms FreeBSD uses to name it
    (the C(pci0:3:0:0) selector of pciconf(8) and the C(3/0/0) form of C(pptdevs) and bhyve(8)).
  - Marks wireless devices and whether ppt(4) already holds them for pass-through. Wireless means class
    C(0x0280xx) (network/other, where laptop Wi-Fi cards sit) or C(0x0dxxxx) (wireless controllers, which
    includes Bluetooth, C(0x0d11xx)); M(wifibox.bhyve.host_facts) narrows this to the Wi-Fi cards.
  - Reads both the FreeBSD 13+ output and the FreeBSD 12.x output (C(card=)/C(chip=) words).
author:
  - wifibox.bhyve developers (@wifibox-bhyve)
extends_documentation_fragment:
  - wifibox.bhyve.attributes
  - wifibox.bhyve.attributes.INFO_MODULE
options:
  selector:
    description:
      - Only return the device this names.
      - A pciconf selector (V(pci0:3:0:0), V(pci3:0:0)), a pass-through entry (V(3/0/0)) or a device name as
        pciconf prints it (V(iwm0), V(ppt0), V(none2)).
      - When no device matches, O(selector) is not an error; RV(devices) and RV(wireless) are empty.
      - A selector no PCI device can have (bus above 255, slot above 31, function above 7) is an error.
    type: str
notes:
  - Unattached devices are named V(none) plus a counter that pciconf assigns in listing order, so V(none2) can
    name another device after a driver attaches to one listed before it. Prefer selectors to V(noneN) names.
  - Lines of the C(pciconf) output that are not understood are reported as warnings, not errors.
requirements:
  - FreeBSD's pciconf(8), found on the PATH of the remote user.
seealso:
  - name: pciconf(8)
    description: The FreeBSD manual page of the command this module runs.
    link: https://man.freebsd.org/cgi/man.cgi?query=pciconf&sektion=8
"""

EXAMPLES = r"""
- name: Find the Wi-Fi cards of the laptop
  wifibox.bhyve.pci_info:
  register: pci

- name: Show the card to pass through
  ansible.builtin.debug:
    msg: "{{ pci.wireless[0].name }} at {{ pci.wireless[0].pptdev }} ({{ pci.wireless[0].device }})"
  when: pci.wireless | length > 0

- name: Look at one device only
  wifibox.bhyve.pci_info:
    selector: pci0:3:0:0
  register: card

- name: Fail when the card is not held by ppt(4) yet
  ansible.builtin.assert:
    that: card.devices[0].held_by_ppt
    fail_msg: The card is not attached to ppt(4); set pptdevs and vmm_load in /boot/loader.conf and reboot.
"""

RETURN = r"""
devices:
  description: Every PCI function the host lists, in C(pciconf) order, or the one O(selector) names.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The name as printed by pciconf, driver name and unit (V(iwm0), V(ppt0), V(none3)).
      type: str
      sample: iwm0
    driver:
      description: The driver attached to the device, or V(null) when none is attached.
      type: str
      sample: iwm
    unit:
      description: The unit number after the driver name (for unattached devices, pciconf's counter).
      type: int
      sample: 0
    selector:
      description: The device's selector as pciconf(8) and devctl(8) accept it.
      type: str
      sample: pci0:3:0:0
    pptdev:
      description: The V(bus/slot/function) form used by C(pptdevs) in loader.conf and by bhyve's C(passthru).
      type: str
      sample: 3/0/0
    domain:
      description: PCI domain.
      type: int
      sample: 0
    bus:
      description: PCI bus.
      type: int
      sample: 3
    slot:
      description: PCI slot.
      type: int
      sample: 0
    function:
      description: PCI function.
      type: int
      sample: 0
    class:
      description: Class, subclass and programming interface as six hex digits.
      type: str
      sample: '0x028000'
    revision:
      description: Revision ID.
      type: str
      sample: '0x78'
    header_type:
      description: Header type (V(0x00) device, V(0x01) PCI-PCI bridge, bit V(0x80) multi-function).
      type: str
      sample: '0x00'
    vendor_id:
      description: Vendor ID.
      type: str
      sample: '0x8086'
    device_id:
      description: Device ID.
      type: str
      sample: '0x24fd'
    subvendor_id:
      description: Subsystem vendor ID.
      type: str
      sample: '0x8086'
    subdevice_id:
      description: Subsystem device ID.
      type: str
      sample: '0x0010'
    vendor:
      description: Vendor name from the PCI database, or V(null) when the database has none.
      type: str
      sample: Intel Corporation
    device:
      description: Device name from the PCI database, or V(null) when the database has none.
      type: str
      sample: Wireless 8265 / 8275
    class_name:
      description: Class name as pciconf prints it, or V(null).
      type: str
      sample: network
    subclass_name:
      description: Subclass name as pciconf prints it, or V(null) (Wi-Fi cards have none).
      type: str
      sample: null
    wireless:
      description: Whether the device is wireless, class V(0x0280xx) (Wi-Fi cards) or V(0x0dxxxx) (wireless controllers, Bluetooth included).
      type: bool
      sample: true
    held_by_ppt:
      description: Whether ppt(4) holds the device, ready for pass-through.
      type: bool
      sample: false
wireless:
  description: The entries of RV(devices) whose RV(devices[].wireless) is true, in listing order.
  returned: always
  type: list
  elements: dict
  sample:
    - name: iwm0
      driver: iwm
      unit: 0
      selector: pci0:3:0:0
      pptdev: 3/0/0
      class: '0x028000'
      vendor_id: '0x8086'
      device_id: '0x24fd'
      vendor: Intel Corporation
      device: Wireless 8265 / 8275
      wireless: true
      held_by_ppt: false
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.wifibox.bhyve.plugins.module_utils.pciconf import (
    PciconfParseError,
    device_matches,
    parse_pciconf,
)
from ansible_collections.wifibox.bhyve.plugins.module_utils.commands import (
    CommandError,
    run_checked,
)


def validate_selector(module, selector):
    """Fail before running anything on a selector that is malformed or that no PCI device can have."""
    if selector is None:
        return
    try:
        device_matches(dict(domain=0, bus=0, slot=0, function=0, name=''), selector)
    except ValueError as exc:
        module.fail_json(msg='selector: invalid selector %r: %s. Use pci0:3:0:0, 3/0/0 or a name such as iwm0.'
                         % (selector, exc))


def filter_devices(devices, selector):
    if selector is None:
        return devices
    return [device for device in devices if device_matches(device, selector)]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            selector=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    validate_selector(module, module.params['selector'])
    try:
        output = run_checked(module, ['pciconf', '-lv'])
    except CommandError as exc:
        module.fail_json(**exc.result())
    try:
        devices, unparsed = parse_pciconf(output)
    except PciconfParseError as exc:
        module.fail_json(msg='Cannot read the output of pciconf -lv: %s' % exc, stdout=output)
    for line in unparsed:
        module.warn('Ignored a line of pciconf -lv output that is not a device: %r' % line)
    devices = filter_devices(devices, module.params['selector'])
    module.exit_json(
        changed=False,
        devices=devices,
        wireless=[device for device in devices if device['wireless']],
    )


if __name__ == '__main__':
    main()
