#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: loader_conf
short_description: Set boot-time tunables and pass-through devices in FreeBSD's loader.conf
version_added: 0.1.0
description:
  - Sets or removes loader tunables in C(/boot/loader.conf) or in a file of C(/boot/loader.conf.d/), several in
    one task, dotted names included (V(hw.vmm.amdvi.enable)), written as C(name="value") as loader.conf(5) asks.
  - Follows the loader's rule for duplicates, the last assignment wins, and removes the earlier assignments of a
    name it manages.
  - Adds or removes devices in the C(pptdevs) list one by one, leaving the other entries alone. Each variable is
    kept within the 128 bytes kenv(1) can set at runtime; vmm(4) also reads C(pptdevs2) and C(pptdevs3), so new
    devices go to the first of the three with room, and a task that cannot fit them fails without changing the file.
  - Every other line, comment and blank line is kept as it is, in its place; the file is written atomically.
  - Reads the file as the loader (stand/lua/config.lua) does. A quoted value runs to the B(last) double quote of
    its line and the loader rejects a tunable whose value keeps a quote, so a C(vmm_load) line whose comment holds
    double quotes loads nothing. The module warns about every such line, and rewrites the ones of the names it manages (a
    comment holding a double quote is moved to its own line above).
  - Reports RV(reboot_required) when a value it manages differs from what the running kernel booted with
    (kenv(1)), because the loader only reads these files at boot. Everything is read and checked before the file
    is written.
author:
  - wifibox.bhyve developers (@wifibox-bhyve)
extends_documentation_fragment:
  - wifibox.bhyve.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
options:
  path:
    description:
      - The file to edit, V(/boot/loader.conf) or a file in V(/boot/loader.conf.d/) whose name ends in V(.conf)
        (the loader ignores other names there). Any other path is refused.
      - The file is created when missing; its directory must exist.
    type: path
    default: /boot/loader.conf
  tunables:
    description:
      - Loader variables to set (O(state=present)) or remove (O(state=absent)), name to value.
      - Names are loader tunables such as V(hw.vmm.amdvi.enable) or module directives such as V(vmm_load).
      - Values are written between double quotes; V(true)/V(false) become V(YES)/V(NO) and numbers are written as
        they read. A value may not hold a double quote, a backslash, a V($) (the loader expands it) or a newline.
      - At boot the kernel drops a variable whose C(name=value) is longer than 257 bytes, so longer values are
        refused.
      - With O(state=absent) the values are ignored (write V(null)).
      - Use O(pptdevs) for pass-through devices, not V(pptdevs) here.
    type: dict
  pptdevs:
    description:
      - PCI devices in V(bus/slot/function) form (V(3/0/0), as M(wifibox.bhyve.pci_info) returns in C(pptdev))
        to add to (O(state=present)) or remove from (O(state=absent)) the C(pptdevs) lists.
      - Bus, slot and function must be possible PCI numbers (at most 255, 31 and 7), whatever O(validate_pptdevs)
        says.
      - At boot ppt(4) claims these devices before their native driver, when vmm is loaded by the loader
        (V(vmm_load=YES)).
    type: list
    elements: str
  state:
    description:
      - Whether the O(tunables) and O(pptdevs) should be present or absent.
    type: str
    choices: [present, absent]
    default: present
  validate_pptdevs:
    description:
      - Check with C(pciconf -lv) that every device added to O(pptdevs) exists on the host and is not a PCI bridge.
      - Disable to prepare a file for hardware that is not installed yet.
    type: bool
    default: true
  backup:
    description:
      - Keep a copy of the file, with a time stamp in its name, before changing it.
    type: bool
    default: false
notes:
  - Only the file named by O(path) is read and written. A value set here can still be overridden by a file the loader
    reads later (V(/boot/loader.conf.d/*.conf), then V(/boot/loader.conf.local)); the module warns when one of them
    sets a name it manages.
  - Lines the loader reports as malformed or rejects are kept and reported with a warning (the loader skips them);
    the ones that set a name this task manages are replaced by a correct line.
  - C(_load) directives are compared with the loaded kernel modules (kldstat(8)) instead of kenv.
seealso:
  - module: wifibox.bhyve.pci_info
  - module: wifibox.bhyve.kld
  - name: loader.conf(5)
    description: The file format and the loader's variables.
    link: https://man.freebsd.org/cgi/man.cgi?query=loader.conf&sektion=5
  - name: vmm(4)
    description: The pptdevs variables and PCI pass-through.
    link: https://man.freebsd.org/cgi/man.cgi?query=vmm&sektion=4
"""

EXAMPLES = r"""
- name: Load vmm at boot and let ppt(4) claim the Wi-Fi card
  wifibox.bhyve.loader_conf:
    tunables:
      vmm_load: "YES"
    pptdevs:
      - 3/0/0
  register: loader

- name: Enable AMD-Vi pass-through on AMD laptops, in a file of its own
  wifibox.bhyve.loader_conf:
    path: /boot/loader.conf.d/wifibox.conf
    tunables:
      hw.vmm.amdvi.enable: 1
    backup: true

- name: Give the card back to its native driver at the next boot
  wifibox.bhyve.loader_conf:
    pptdevs:
      - 3/0/0
    state: absent

- name: Remove tunables
  wifibox.bhyve.loader_conf:
    tunables:
      hw.vmm.amdvi.enable:
      if_tap_load:
    state: absent

- name: Reboot when the loader has to read the new values
  ansible.builtin.reboot:
  when: loader.reboot_required
"""

RETURN = r"""
file:
  description: The file that was read and, when it changed, written.
  returned: always
  type: str
  sample: /boot/loader.conf
tunables:
  description: The value each tunable of O(tunables) has in the file afterwards, V(null) when it is not set.
  returned: always
  type: dict
  sample: {"vmm_load": "YES", "hw.vmm.amdvi.enable": "1"}
pptdevs:
  description: Every device in C(pptdevs), C(pptdevs2) and C(pptdevs3) of the file afterwards, in order.
  returned: always
  type: list
  elements: str
  sample: ["3/0/0"]
pptdevs_variables:
  description: The value of each of the three variables afterwards, V(null) when it is not set.
  returned: always
  type: dict
  sample: {"pptdevs": "3/0/0", "pptdevs2": null, "pptdevs3": null}
reboot_required:
  description:
    - Whether a value this task manages differs from what the running kernel booted with, so that it takes effect
      only after a reboot. Stays V(true) on later runs until the host has rebooted.
  returned: always
  type: bool
  sample: true
reboot_reasons:
  description: Why a reboot is needed, one sentence per value.
  returned: always
  type: list
  elements: str
  sample: ["pptdevs: the kernel booted with (none), the file now has 3/0/0"]
backup_file:
  description: The copy made by O(backup).
  returned: when O(backup=true) and the file changed
  type: str
  sample: /boot/loader.conf.12345.2026-11-22@03:10:00~
"""

import os
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.wifibox.bhyve.plugins.module_utils.commands import CommandError, run_checked
from ansible_collections.wifibox.bhyve.plugins.module_utils.conffile import (
    LOADER,
    check_name,
    check_value,
    join_list,
    value_text,
)
from ansible_collections.wifibox.bhyve.plugins.module_utils.constants import (
    KENV_BOOT_MAX_LENGTH,
    KENV_MAX_VALUE_LENGTH,
    LOADER_CONF,
    LOADER_CONF_DIR,
    LOADER_CONF_DIR_SUFFIX,
    LOADER_CONF_LOCAL,
    LOADER_LOAD_SUFFIX,
    PPTDEVS_VARIABLES,
)
from ansible_collections.wifibox.bhyve.plugins.module_utils.errors import TaskError
from ansible_collections.wifibox.bhyve.plugins.module_utils.fileedit import (
    EditedFile, FileEditError, apply_edits, warn_misread_lines, warn_overridden,
)
from ansible_collections.wifibox.bhyve.plugins.module_utils.kernel import module_state, read_kenv
from ansible_collections.wifibox.bhyve.plugins.module_utils.pciconf import (
    PciconfParseError,
    format_pptdev,
    parse_pciconf,
    parse_pptdev,
)

# Suffixes of loader module directives other than _load: not kernel environment values we can compare.
_MODULE_DIRECTIVE_SUFFIXES = ('_name', '_type', '_flags', '_before', '_after', '_error')


# --- validate ---------------------------------------------------------------------------
def validate_path(path):
    normal = os.path.normpath(path)
    if normal == os.path.normpath(LOADER_CONF):
        return
    if os.path.dirname(normal) == os.path.normpath(LOADER_CONF_DIR):
        if not normal.endswith(LOADER_CONF_DIR_SUFFIX) or os.path.basename(normal) == LOADER_CONF_DIR_SUFFIX:
            raise TaskError(
                'path: the loader reads only files ending in %s from %s, so %s would be ignored; rename it, '
                'for example %s%s' % (LOADER_CONF_DIR_SUFFIX, LOADER_CONF_DIR, path, path, LOADER_CONF_DIR_SUFFIX)
            )
        return
    raise TaskError(
        'path: %s is neither %s nor a file %s/NAME%s, the only files this module edits; give one of those'
        % (path, LOADER_CONF, LOADER_CONF_DIR, LOADER_CONF_DIR_SUFFIX)
    )


def validate_tunables(tunables, state):
    wanted = {}
    for name, value in (tunables or {}).items():
        error = check_name(LOADER, name)
        if error:
            raise TaskError('tunables: %s' % error)
        if name in PPTDEVS_VARIABLES:
            raise TaskError('tunables: %s is managed by the pptdevs option, which keeps the three variables within '
                            'the kernel limit; list the devices in pptdevs instead' % name)
        if state == 'absent':
            wanted[name] = None
            continue
        if value is None:
            raise TaskError('tunables: %s has no value; give one, or use state=absent to remove it' % name)
        text = value_text('tunables', name, value)
        error = check_value(LOADER, name, text)
        if error:
            raise TaskError('tunables: %s' % error)
        wanted[name] = text
    return wanted


# The largest bus, slot and function numbers a PCI address can have (PCI_BUSMAX, PCI_SLOTMAX, PCI_FUNCMAX).
PCI_LIMITS = (('bus', 255), ('slot', 31), ('function', 7))


def validate_pptdevs(pptdevs):
    devices = []
    for entry in pptdevs or []:
        try:
            numbers = parse_pptdev(entry.strip())
        except ValueError:
            raise TaskError('pptdevs: %r is not a device in bus/slot/function form; write it as B/S/F with decimal '
                            'numbers, such as 3/0/0 for pciconf\'s pci0:3:0:0' % entry)
        for number, (what, limit) in zip(numbers, PCI_LIMITS):
            if number > limit:
                raise TaskError('pptdevs: %r has %s %d, but a PCI %s number is at most %d, so no device can be there; '
                                'copy the pptdev of the card from wifibox.bhyve.pci_info' % (entry, what, number, what, limit))
        device = format_pptdev(*numbers)
        if device not in devices:
            devices.append(device)
    return devices


def check_devices_exist(module, devices):
    """Fail unless pciconf lists each device as a non-bridge PCI function."""
    output = run_checked(module, ['pciconf', '-lv'])
    try:
        listed, dummy = parse_pciconf(output)
    except PciconfParseError as exc:
        raise TaskError('cannot read the output of pciconf -lv to check pptdevs: %s; set validate_pptdevs=false '
                        'to skip the check' % exc)
    by_pptdev = dict((item['pptdev'], item) for item in listed)
    for device in devices:
        found = by_pptdev.get(device)
        if found is None:
            known = ', '.join('%s (%s)' % (item['pptdev'], item['name']) for item in listed if item['wireless'])
            raise TaskError(
                'pptdevs: this host has no PCI device at %s (pciconf -lv lists none at pci0:%s); '
                'find the card with wifibox.bhyve.pci_info%s, or set validate_pptdevs=false for hardware not '
                'installed yet' % (device, device.replace('/', ':'), '; its Wi-Fi cards are %s' % known if known else '')
            )
        if int(found['header_type'], 16) & 0x7f == 1:
            raise TaskError('pptdevs: %s is %s, a PCI-PCI bridge, which ppt(4) cannot claim; pass the device behind '
                            'it instead' % (device, found['name']))


# --- compute ------------------------------------------------------------------------------
_SSCANF_INT = re.compile(r'\s*([-+]?[0-9]+)')


def kernel_pptdev(token):
    """The B/S/F vmm(4) reads in one pptdevs entry (sscanf "%d/%d/%d"), or None when it reads none."""
    numbers, pos = [], 0
    for index in range(3):
        if index:
            if token[pos:pos + 1] != '/':
                return None
            pos += 1
        match = _SSCANF_INT.match(token, pos)
        if not match:
            return None
        numbers.append(int(match.group(1)))
        pos = match.end()
    return format_pptdev(*numbers)


def kernel_entries(value):
    """The entries of a pptdevs value as vmm(4) cuts them: at each single space (tabs do not separate)."""
    return [token for token in (value or '').split(' ') if token]


def _normalise(entry):
    return kernel_pptdev(entry) or entry


def plan_pptdevs(layout, add, remove):
    """New {variable: [entries]} after removing ``remove`` and adding ``add``.

    Existing entries stay in their variable; a new one goes to the first
    variable it fits in within KENV_MAX_VALUE_LENGTH.  A device counts as
    present only when the kernel reads it from an entry.
    """
    layout = dict((var, [e for e in layout[var] if _normalise(e) not in remove]) for var in PPTDEVS_VARIABLES)
    present = set(kernel_pptdev(e) for entries in layout.values() for e in entries) - set([None])
    for device in add:
        if device in present:
            continue
        for var in PPTDEVS_VARIABLES:
            if len(join_list(layout[var] + [device])) <= KENV_MAX_VALUE_LENGTH:
                layout[var].append(device)
                present.add(device)
                break
        else:
            used = sum(len(join_list(layout[var])) for var in PPTDEVS_VARIABLES)
            raise TaskError(
                'pptdevs: %s does not fit: %s each hold at most %d bytes (the most kenv(1) can set) and '
                'already use %d bytes in all; pass fewer devices through, or remove unused entries with '
                'state=absent' % (device, ', '.join(PPTDEVS_VARIABLES), KENV_MAX_VALUE_LENGTH, used)
            )
    return layout


def edit(conf, tunables, pptdevs, state):
    for name, value in tunables.items():
        if value is None:
            conf.unset(name)
        else:
            conf.set(name, value, remove_duplicates=True)
    if pptdevs:
        current = dict((var, kernel_entries(conf.get(var))) for var in PPTDEVS_VARIABLES)
        if state == 'present':
            layout = plan_pptdevs(current, pptdevs, set())
        else:
            layout = plan_pptdevs(current, [], set(pptdevs))
        for var in PPTDEVS_VARIABLES:
            found = conf.find(var)
            if layout[var] == current[var] and len(found) <= 1 and not any(item.problem for item in found):
                continue
            if layout[var]:
                conf.set(var, join_list(layout[var]), remove_duplicates=True)
            else:
                conf.unset(var)


def file_pptdevs(conf):
    return [_normalise(e) for var in PPTDEVS_VARIABLES for e in kernel_entries(conf.get(var))]


def kept_at_boot(name, value):
    """The value the kernel will hold after a boot with ``name=value`` in the loader's environment.

    kern_environment.c drops a ``name=value`` string longer than KENV_BOOT_MAX_LENGTH bytes whole.
    """
    if value is None or len(('%s=%s' % (name, value)).encode('utf-8')) > KENV_BOOT_MAX_LENGTH:
        return None
    return value


# --- compare with the running kernel ---------------------------------------------------------
def reboot_reasons(module, conf, tunables, pptdevs_managed):
    """Why a reboot is needed: what the file will give the kernel at boot differs from kenv now."""
    reasons = []
    for name in tunables:
        value = conf.get(name)
        if name.endswith(LOADER_LOAD_SUFFIX):
            kmod = name[:-len(LOADER_LOAD_SUFFIX)]
            if value is not None and value.lower() == 'yes' and module_state(module, kmod)[0] is None:
                reasons.append('%s: %s is not loaded; the loader loads it at boot' % (name, kmod))
            continue
        if name.endswith(_MODULE_DIRECTIVE_SUFFIXES):
            continue
        booted = read_kenv(module, name)
        value = kept_at_boot(name, value)
        if booted != value:
            reasons.append('%s: the kernel booted with %s, the file now has %s' % (
                name, 'no value' if booted is None else repr(booted), 'no value' if value is None else repr(value)))
    if pptdevs_managed:
        booted = [kernel_pptdev(e) for var in PPTDEVS_VARIABLES for e in kernel_entries(read_kenv(module, var))]
        booted = [device for device in booted if device]
        now = [kernel_pptdev(e) for var in PPTDEVS_VARIABLES for e in kernel_entries(kept_at_boot(var, conf.get(var)))]
        now = [device for device in now if device]
        if sorted(set(booted)) != sorted(set(now)):
            reasons.append('pptdevs: the kernel booted with %s, the file now has %s' % (
                ' '.join(booted) or '(none)', ' '.join(now) or '(none)'))
    return reasons


def files_read_after(path):
    """The files the loader reads after ``path``, whose assignments win over it."""
    later = []
    real = os.path.realpath(path)
    if real == os.path.realpath(LOADER_CONF) and os.path.isdir(LOADER_CONF_DIR):
        later = sorted(os.path.join(LOADER_CONF_DIR, name) for name in os.listdir(LOADER_CONF_DIR)
                       if name.endswith(LOADER_CONF_DIR_SUFFIX))
    if real != os.path.realpath(LOADER_CONF_LOCAL):
        later.append(LOADER_CONF_LOCAL)
    return [name for name in later if os.path.isfile(name) and os.path.realpath(name) != real]


def warn_long_values(module, conf):
    for name in conf.names():
        value = conf.get(name)
        if value is None or name.endswith((LOADER_LOAD_SUFFIX,) + _MODULE_DIRECTIVE_SUFFIXES):
            continue
        if kept_at_boot(name, value) is None:
            size = len(('%s=%s' % (name, value)).encode('utf-8'))
            hint = ('; remove the devices with state=absent and add them again to spread them over %s'
                    % ', '.join(PPTDEVS_VARIABLES)) if name in PPTDEVS_VARIABLES else '; shorten it'
            module.warn('%s in %s is %d bytes long as name=value, and at boot the kernel drops a loader variable '
                        'longer than %d bytes entirely, so %s will not be set at all%s'
                        % (name, module.params['path'], size, KENV_BOOT_MAX_LENGTH, name, hint))
    for var in PPTDEVS_VARIABLES:
        unread = [e for e in kernel_entries(conf.get(var)) if kernel_pptdev(e) is None]
        if unread:
            module.warn('%s in %s has entries vmm(4) cannot read as bus/slot/function (it separates entries by single '
                        'spaces and reads each as %%d/%%d/%%d): %s' % (var, module.params['path'], ', '.join(map(repr, unread))))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', default=LOADER_CONF),
            tunables=dict(type='dict'),
            pptdevs=dict(type='list', elements='str'),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            validate_pptdevs=dict(type='bool', default=True),
            backup=dict(type='bool', default=False),
        ),
        required_one_of=[('tunables', 'pptdevs')],
        supports_check_mode=True,
    )
    params = module.params
    try:
        validate_path(params['path'])
        tunables = validate_tunables(params['tunables'], params['state'])
        pptdevs = validate_pptdevs(params['pptdevs'])
        if pptdevs and params['state'] == 'present' and params['validate_pptdevs']:
            check_devices_exist(module, pptdevs)
        edited = EditedFile(params['path'], LOADER)
        edit(edited.conf, tunables, pptdevs, params['state'])
        # Read everything (kenv, kldstat, the later files) before writing: a command that fails here leaves the file
        # as it was.
        reasons = reboot_reasons(module, edited.conf, tunables, bool(params['pptdevs']))
        later_files = files_read_after(params['path'])
        changed, diffs, backups = apply_edits(module, [edited], params['backup'])
        warn_misread_lines(module, params['path'], edited.conf)
        warn_long_values(module, edited.conf)
        warn_overridden(module, params['path'], later_files,
                        [name for name, value in tunables.items() if value is not None]
                        + (list(PPTDEVS_VARIABLES) if params['pptdevs'] and params['state'] == 'present' else []),
                        'the loader reads')
    except (TaskError, FileEditError) as exc:
        module.fail_json(msg=str(exc))
    except CommandError as exc:
        module.fail_json(**exc.result())
    result = dict(
        changed=changed,
        file=params['path'],
        tunables=dict((name, edited.conf.get(name)) for name in tunables),
        pptdevs=file_pptdevs(edited.conf),
        pptdevs_variables=dict((var, edited.conf.get(var)) for var in PPTDEVS_VARIABLES),
        reboot_required=bool(reasons),
        reboot_reasons=reasons,
    )
    if backups:
        result['backup_file'] = backups[params['path']]
    if module._diff and diffs:
        result['diff'] = diffs[0]
    module.exit_json(**result)


if __name__ == '__main__':
    main()
