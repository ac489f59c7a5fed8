#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: host_facts
short_description: Gather what a FreeBSD host needs for a wifibox, with warnings about known problems
version_added: 0.1.0
description:
  - Read-only preflight for the wifibox roles. Returns the fact C(wifibox_host) with the FreeBSD version, the CPU
    vendor (which decides whether AMD-Vi must be enabled), the state of the IOMMU and of vmm(4), the devices ppt(4)
    holds, free memory, and the Wi-Fi cards with their native driver and the kernel module devmatch(8) loads for it
    (the name C(devmatch_blocklist) needs).
  - Warns about what would stop pass-through (AMD-Vi not enabled, no Wi-Fi card, an IOMMU still not initialized
    while a virtual machine exists and ppt(4) holds devices) and about
    cards users reported trouble with (no-MSI Broadcom cards, BCM43602 NVRAM, ath11k's MSI assumption, AX210
    firmware), each with what to do.
  - Commands that fail (for example C(sysctl hw.vmm.*) while vmm is not loaded) give V(null) values, not errors;
    only C(pciconf -lv) must succeed.
author:
  - wifibox.bhyve developers (@wifibox-bhyve)
extends_documentation_fragment:
  - wifibox.bhyve.attributes
  - wifibox.bhyve.attributes.INFO_MODULE
options:
  packages:
    description:
      - Names of pkg(8) packages to look up in the same call (one C(pkg query %n NAME...)); the fact C(packages)
        says for each whether it is installed. A role that installs missing packages saves a module round trip.
    type: list
    elements: str
    default: []
  blocks:
    description:
      - Managed blocks to read in the same call, as M(ansible.builtin.blockinfile) writes them (the lines between the
        last C(BEGIN) and C(END) markers); the fact C(blocks) gives each one's text. A role that compares it with
        what it would write calls M(ansible.builtin.blockinfile) only when they differ and saves a module round trip.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path of the file.
        type: path
        required: true
      marker:
        description: The marker line with C({mark}), as given to M(ansible.builtin.blockinfile).
        type: str
        required: true
notes:
  - The native driver of a card that ppt(4) already holds is not known to the host any more; its C(native_driver)
    and C(kernel_module) are V(null) then.
seealso:
  - module: wifibox.bhyve.pci_info
  - module: wifibox.bhyve.loader_conf
"""

EXAMPLES = r"""
- name: Look at the host before changing it
  wifibox.bhyve.host_facts:

- name: Look at the host and whether the wifibox packages are installed
  wifibox.bhyve.host_facts:
    packages: [wifibox-alpine, edk2-bhyve, socat]

- name: Look at the host and at a managed block of dhclient.conf
  wifibox.bhyve.host_facts:
    blocks:
      - path: /etc/dhclient.conf
        marker: "# {mark} wifibox0"

- name: Enable AMD-Vi when the CPU is an AMD one
  wifibox.bhyve.loader_conf:
    tunables:
      hw.vmm.amdvi.enable: 1
  when: ansible_facts.wifibox_host.cpu.vendor == 'amd'

- name: Keep the native driver of every Wi-Fi card away from it
  wifibox.bhyve.rc_conf:
    add:
      devmatch_blocklist: "{{ ansible_facts.wifibox_host.wireless | map(attribute='kernel_module') | select | list }}"
"""

RETURN = r"""
ansible_facts:
  description: The facts gathered.
  returned: always
  type: dict
  contains:
    wifibox_host:
      description: What the host offers for a wifibox.
      type: dict
      contains:
        freebsd:
          description:
            - C(userland) (C(freebsd-version -u)), C(kernel_installed) (C(-k)), C(kernel_running) (C(-r), the same as
              C(uname -r)), C(osreldate) (C(kern.osreldate)) and C(major), the major version as a number.
          type: dict
          sample: {"userland": "14.1-RELEASE-p6", "kernel_installed": "14.1-RELEASE-p6", "kernel_running": "14.1-RELEASE-p5",
                   "osreldate": 1401000, "major": 14}
        cpu:
          description: C(model) (C(hw.model)), C(vendor) (V(intel), V(amd) or V(null)) and C(origin) from dmesg.boot.
          type: dict
          sample: {"model": "AMD Ryzen 7 PRO 4750U with Radeon Graphics", "vendor": "amd", "origin": "AuthenticAMD"}
        vmm:
          description:
            - C(loaded) (vmm(4) loaded or compiled in), C(ppt_devices) (C(hw.vmm.ppt.devices), the number of devices
              ppt(4) holds, V(null) without vmm), C(pptdevs), the devices the kernel booted with in C(pptdevs),
              C(pptdevs2) and C(pptdevs3), and C(vms), the virtual machines that exist (C(/dev/vmm)).
          type: dict
          sample: {"loaded": true, "ppt_devices": 1, "pptdevs": ["3/0/0"], "vms": ["wifibox"]}
        iommu:
          description:
            - C(kind) (V(vt-d) on Intel, V(amd-vi) on AMD), C(enabled) (C(hw.vmm.iommu.enable) or, on AMD,
              C(hw.vmm.amdvi.enable), from sysctl while vmm is loaded, else from kenv), C(initialized)
              (C(hw.vmm.iommu.initialized), V(null) without vmm) and C(amdvi_count).
            - C(units), the IOMMU units the kernel found at boot (C(dmar) on Intel, C(ivhd) on AMD, from the ACPI
              DMAR/IVRS tables, as listed in C(/var/run/dmesg.boot)); V(0) when the firmware offers none (VT-d or
              AMD-Vi off in its setup, or not supported), V(null) when dmesg.boot cannot be read.
            - vmm(4) initializes the IOMMU when the first pass-through device is given to a virtual machine, so
              C(initialized) is V(false) on a correctly set-up host until the wifibox VM has started.
          type: dict
          sample: {"kind": "amd-vi", "enabled": true, "initialized": true, "amdvi_count": 1, "units": 1}
        memory:
          description: C(physical) (C(hw.physmem)), C(free) and C(inactive) in bytes, V(null) when unknown.
          type: dict
          sample: {"physical": 17014808576, "free": 9876543488, "inactive": 2147483648}
        blocks:
          description:
            - One entry per O(blocks) item, in the same order; C(block) is the text between the markers (lines joined
              with newlines), V(null) when the file or either marker is missing; C(mode) is the file's mode
              (octal string), V(null) when the file is missing.
          type: list
          elements: dict
          sample: [{"path": "/etc/dhclient.conf", "marker": "# {mark} wifibox0", "exists": true, "mode": "0644",
                    "block": "timeout 10;"}]
        net_wifibox:
          description:
            - net/wifibox (the original wifibox) is set up, that is its bhyve.conf or its rc.d script exists (wifibox-alpine alone does not count); see
              M(wifibox.bhyve.net_wifibox_info).
          type: bool
        wireless:
          description:
            - The Wi-Fi cards (not Bluetooth controllers), as M(wifibox.bhyve.pci_info) returns them, plus C(native_driver) (the driver holding the
              card now unless it is ppt or none), C(kernel_module) (the module file devmatch loads for that driver,
              such as V(if_iwm)) and C(problems) (known trouble under pass-through, with the fix).
          type: list
          elements: dict
          sample:
            - name: iwm0
              selector: pci0:3:0:0
              pptdev: 3/0/0
              vendor_id: '0x8086'
              device_id: '0x24fd'
              device: Wireless 8265 / 8275
              driver: iwm
              held_by_ppt: false
              native_driver: iwm
              kernel_module: if_iwm
              problems: []
        packages:
          description:
            - For each name in O(packages), whether pkg(8) has it installed (C(pkg query %n)); V({}) without
              O(packages).
          type: dict
          sample: {"wifibox-alpine": true, "edk2-bhyve": true, "socat": false}
        warnings:
          description: The warnings this module printed, so a role can show or assert on them.
          type: list
          elements: str
          sample: []
"""

import os
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.wifibox.bhyve.plugins.module_utils.commands import CommandError, run_checked, run_command
from ansible_collections.wifibox.bhyve.plugins.module_utils.constants import DMESG_BOOT, PPTDEVS_VARIABLES, VMM_DEV_DIR, VMM_MODULE
from ansible_collections.wifibox.bhyve.plugins.module_utils.kernel import module_present, read_kenvs, read_sysctls
from ansible_collections.wifibox.bhyve.plugins.module_utils.netwifibox import BHYVE_CONF as NET_WIFIBOX_BHYVE_CONF
from ansible_collections.wifibox.bhyve.plugins.module_utils.netwifibox import RC_SCRIPT as NET_WIFIBOX_RC_SCRIPT
from ansible_collections.wifibox.bhyve.plugins.module_utils.pciconf import PciconfParseError, parse_pciconf
from ansible_collections.wifibox.bhyve.plugins.module_utils.wifi import NOT_NATIVE, card_problems, is_wifi, kernel_module

_ORIGIN = re.compile(r'Origin\s*=\s*"(?P<origin>[^"]+)"')
_ORIGINS = {'GenuineIntel': 'intel', 'AuthenticAMD': 'amd'}
# An IOMMU unit attaching at boot: Intel DMA remapping units (ACPI DMAR) and AMD-Vi units (ACPI IVRS).
_IOMMU_UNIT = re.compile(r'^(?:dmar|ivhd)\d+: ', re.MULTILINE)


# Every sysctl this module reads, asked in one ``sysctl -i`` call (hw.vmm.* exist only while vmm is loaded).
SYSCTLS = ('kern.osreldate', 'hw.model', 'hw.pagesize', 'hw.physmem', 'vm.stats.vm.v_free_count',
           'vm.stats.vm.v_inactive_count', 'hw.vmm.ppt.devices', 'hw.vmm.iommu.enable', 'hw.vmm.iommu.initialized',
           'hw.vmm.amdvi.enable', 'hw.vmm.amdvi.count')


def first_line(module, argv):
    try:
        rc, out, dummy = run_command(module, argv)
    except CommandError:
        return None
    return out.strip().splitlines()[0] if rc == 0 and out.strip() else None


def as_flag(value):
    try:
        return int(value) != 0 if value is not None else None
    except ValueError:
        return None


def as_int(value):
    try:
        return int(value.strip()) if value is not None else None
    except ValueError:
        return None


def versions(module):
    """(installed kernel, running kernel, userland): freebsd-version(1) prints them in this order for -kru."""
    try:
        rc, out, dummy = run_command(module, ['freebsd-version', '-kru'])
    except CommandError:
        rc, out = 1, ''
    lines = out.strip().splitlines()
    if rc == 0 and len(lines) == 3 and all(line.strip() for line in lines):
        return [line.strip() for line in lines]
    # An older freebsd-version, or one part it cannot tell: each on its own.
    return [first_line(module, ['freebsd-version', '-k']), first_line(module, ['uname', '-r']),
            first_line(module, ['freebsd-version', '-u'])]


def freebsd_version(module, sysctl):
    installed, running, userland = versions(module)
    osreldate = as_int(sysctl['kern.osreldate'])
    major = None
    match = re.match(r'^(\d+)\.', userland or running or '')
    if match:
        major = int(match.group(1))
    elif osreldate:
        major = osreldate // 100000
    return dict(
        userland=userland,
        kernel_installed=installed,
        kernel_running=running,
        osreldate=osreldate,
        major=major,
    )


def read_dmesg_boot():
    try:
        with open(DMESG_BOOT) as handle:
            return handle.read()
    except (IOError, OSError, UnicodeDecodeError):
        return None


def cpu(sysctl, dmesg):
    model = sysctl['hw.model']
    match = _ORIGIN.search(dmesg) if dmesg else None
    origin = match.group('origin') if match else None
    vendor = _ORIGINS.get(origin)
    if vendor is None and model:
        if 'AMD' in model:
            vendor = 'amd'
        elif 'Intel' in model:
            vendor = 'intel'
    return dict(model=model.strip() if model else None, vendor=vendor, origin=origin)


def virtual_machines():
    """The VMs vmm(4) holds: /dev/vmm/NAME exists from vm_create until the VM is destroyed."""
    try:
        return sorted(os.listdir(VMM_DEV_DIR))
    except OSError:
        return []


def vmm(module, sysctl, kenv):
    loaded = module_present(module, VMM_MODULE)
    # vmm(4) cuts the pptdevs values at single spaces (vmm_is_pptdev).
    booted = [entry for var in PPTDEVS_VARIABLES for entry in (kenv.get(var) or '').split(' ') if entry]
    return dict(
        loaded=loaded,
        ppt_devices=as_int(sysctl['hw.vmm.ppt.devices']) if loaded else None,
        pptdevs=booted,
        vms=virtual_machines() if loaded else [],
    )


def iommu(sysctl, kenv, vendor, vmm_loaded, dmesg):
    def tunable(name):
        # The sysctl exists only while vmm is loaded; before that the loader's kenv tells what it will use.
        return sysctl[name] if vmm_loaded else kenv.get(name)

    if vendor == 'amd':
        enabled = as_flag(tunable('hw.vmm.amdvi.enable'))
        if enabled is None:
            enabled = as_flag(kenv.get('hw.vmm.amdvi_enable'))
        kind = 'amd-vi'
    else:
        enabled = as_flag(tunable('hw.vmm.iommu.enable'))
        if enabled is None:
            enabled = True  # RDTUN default 1 on Intel
        kind = 'vt-d' if vendor == 'intel' else None
    return dict(
        kind=kind,
        enabled=enabled,
        initialized=as_flag(sysctl['hw.vmm.iommu.initialized']) if vmm_loaded else None,
        amdvi_count=as_int(sysctl['hw.vmm.amdvi.count']) if vmm_loaded and vendor == 'amd' else None,
        units=len(_IOMMU_UNIT.findall(dmesg)) if dmesg is not None else None,
    )


def memory(sysctl):
    pagesize = as_int(sysctl['hw.pagesize'])

    def pages(name):
        count = as_int(sysctl[name])
        return count * pagesize if count is not None and pagesize else None

    return dict(
        physical=as_int(sysctl['hw.physmem']),
        free=pages('vm.stats.vm.v_free_count'),
        inactive=pages('vm.stats.vm.v_inactive_count'),
    )


def wireless(module):
    output = run_checked(module, ['pciconf', '-lv'])
    try:
        devices, dummy = parse_pciconf(output)
    except PciconfParseError as exc:
        module.fail_json(msg='Cannot read the output of pciconf -lv: %s' % exc, stdout=output)
    cards = []
    for device in devices:
        if not is_wifi(device):
            continue
        card = dict(device)
        native = device['driver'] if device['driver'] not in NOT_NATIVE else None
        card.update(native_driver=native, kernel_module=kernel_module(native), problems=card_problems(device))
        cards.append(card)
    return cards


def packages(module, names):
    """{name: installed} for the pkg(8) packages ``names``, from one ``pkg query %n NAME...``."""
    if not names:
        return {}
    argv = ['pkg', 'query', '%n'] + list(names)
    rc, out, err = run_command(module, argv)
    # pkg query exits 1 when none of the names is installed, 0 when at least one is.
    if rc not in (0, 1):
        module.fail_json(msg='%s exited with status %d (%s): check that pkg(8) is bootstrapped (pkg bootstrap) and '
                             'its database readable, then run again.'
                             % (' '.join(argv), rc, (err or out).strip() or 'no message'),
                         rc=rc, stdout=out, stderr=err)
    installed = set(out.split())
    return dict((name, name in installed) for name in names)


def warnings_for(facts):
    found = []
    cpu_facts, io, vm = facts['cpu'], facts['iommu'], facts['vmm']
    if cpu_facts['vendor'] == 'amd' and not io['enabled']:
        found.append('AMD CPU without hw.vmm.amdvi.enable=1: PCI pass-through will fail. Set it in /boot/loader.conf '
                     '(wifibox.bhyve.loader_conf with tunables: {hw.vmm.amdvi.enable: 1}) and reboot.')
    if io['units'] == 0:
        found.append('The firmware offers no IOMMU (no dmar or ivhd unit in /var/run/dmesg.boot): PCI pass-through '
                     'cannot work. Enable VT-d (Intel) or AMD-Vi/IOMMU (AMD) in the firmware setup and reboot; '
                     'laptops without one cannot run a wifibox.')
    # vmm initializes the IOMMU at the first vm_assign_pptdev() (iommu.c, vmm.c): 0 is normal before a VM with a
    # pass-through device has started, so only a VM that exists while ppt holds devices makes 0 suspicious.
    if vm['loaded'] and io['initialized'] is False and vm['vms'] and vm['ppt_devices']:
        found.append('the IOMMU is not initialized (hw.vmm.iommu.initialized=0) although the virtual machine(s) %s '
                     'exist and ppt(4) holds %d device(s): vmm initializes it when the first pass-through device is '
                     'given to a VM, so no VM got one, or the IOMMU could not start. If the wifibox VM was started '
                     'with the card, enable VT-d or AMD-Vi (IOMMU) in the firmware setup, and on AMD set '
                     'hw.vmm.amdvi.enable=1, then reboot.' % (', '.join(vm['vms']), vm['ppt_devices']))
    if not facts['wireless']:
        found.append('No Wi-Fi card found in pciconf -lv: the wifibox needs a PCI(e) card (USB cards cannot be '
                     'passed through); check that the card is enabled in the firmware setup.')
    for card in facts['wireless']:
        found.extend(card['problems'])
    return found


def managed_block(path, marker):
    """The text between the last BEGIN and END marker lines, as ansible.builtin.blockinfile finds them."""
    found = dict(path=path, marker=marker, exists=False, mode=None, block=None)
    try:
        with open(path, 'rb') as handle:
            found['mode'] = '%04o' % (os.fstat(handle.fileno()).st_mode & 0o7777)
            text = handle.read().decode('utf-8', 'replace')
    except (IOError, OSError):
        return found
    found['exists'] = True
    lines = [line.rstrip('\r\n') for line in text.splitlines(True)]
    begin = end = None
    for index, line in enumerate(lines):
        if line == marker.replace('{mark}', 'BEGIN'):
            begin = index
        if line == marker.replace('{mark}', 'END'):
            end = index
    if begin is not None and end is not None and begin < end:
        found['block'] = '\n'.join(lines[begin + 1:end])
    return found


def main():
    module = AnsibleModule(argument_spec=dict(packages=dict(type='list', elements='str', default=[]),
                                              blocks=dict(type='list', elements='dict', default=[], options=dict(
                                                  path=dict(type='path', required=True),
                                                  marker=dict(type='str', required=True)))),
                           supports_check_mode=True)
    for item in module.params['blocks']:
        if not os.path.isabs(item['path']) or '{mark}' not in item['marker']:
            module.fail_json(msg='blocks: %r needs an absolute path and a marker with {mark} in it '
                                 '(as ansible.builtin.blockinfile takes them)' % item)
    try:
        # One sysctl and one kenv call for every value below (a no-op converge pays for each command).
        sysctl = read_sysctls(module, SYSCTLS)
        kenv = read_kenvs(module)
        facts = dict(freebsd=freebsd_version(module, sysctl), cpu=None)
        dmesg = read_dmesg_boot()
        facts['cpu'] = cpu(sysctl, dmesg)
        facts['vmm'] = vmm(module, sysctl, kenv)
        facts['iommu'] = iommu(sysctl, kenv, facts['cpu']['vendor'], facts['vmm']['loaded'], dmesg)
        facts['memory'] = memory(sysctl)
        facts['wireless'] = wireless(module)
        # net/wifibox (the original) is installed: the role's migration reads it (net_wifibox_info).
        facts['net_wifibox'] = os.path.exists(NET_WIFIBOX_BHYVE_CONF) or os.path.exists(NET_WIFIBOX_RC_SCRIPT)
        facts['packages'] = packages(module, module.params['packages'])
        facts['blocks'] = [managed_block(item['path'], item['marker']) for item in module.params['blocks']]
    except CommandError as exc:
        module.fail_json(**exc.result())
    facts['warnings'] = warnings_for(facts)
    for text in facts['warnings']:
        module.warn(text)
    module.exit_json(changed=False, ansible_facts=dict(wifibox_host=facts))


if __name__ == '__main__':
    main()
