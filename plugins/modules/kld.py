#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kld
short_description: Load or unload FreeBSD kernel modules, now and at boot
version_added: 0.1.0
description:
  - Loads (C(kldload -n)) or unloads (C(kldunload)) kernel modules such as V(vmm), V(nmdm) or V(if_bridge), after
    asking kldstat(8) whether they are loaded as a file (C(kldstat -n)) or compiled into the kernel (C(kldstat -q -m)).
  - Modules compiled into the kernel count as loaded (V(if_tap) is part of GENERIC since FreeBSD 13); asking to
    unload one is an error.
  - Refuses to unload a module another loaded module depends on, and explains a busy module (V(vmm) while a
    virtual machine exists) instead of passing on C(Device busy).
  - Optionally makes the state persistent, in rc.conf's C(kld_list) (loaded by rc.d/kld after the disks are
    mounted) or as C(NAME_load="YES") in loader.conf (loaded by the loader, which V(vmm) needs for C(pptdevs)),
    using the same editors as M(wifibox.bhyve.rc_conf) and M(wifibox.bhyve.loader_conf).
author:
  - wifibox.bhyve developers (@wifibox-bhyve)
extends_documentation_fragment:
  - wifibox.bhyve.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The diff shows the change to the file named by O(persist); loading and unloading show no diff.
options:
  name:
    description:
      - Kernel modules (file names as kldload(8) takes them, with or without V(.ko)).
      - They are loaded in the order given and unloaded in the order given, so list the modules that depend on
        others first when unloading.
    type: list
    elements: str
    required: true
  state:
    description:
      - V(present) loads the modules, V(absent) unloads them.
    type: str
    choices: [present, absent]
    default: present
  persist:
    description:
      - Where to make the state last across reboots.
      - V(none) only changes the running kernel.
      - V(kld_list) adds the modules to (or removes them from) C(kld_list) in O(rc_conf_path).
      - V(loader) sets (or removes) C(NAME_load="YES") in O(loader_conf_path).
      - Modules compiled into the kernel are not written anywhere.
    type: str
    choices: [none, kld_list, loader]
    default: none
  rc_conf_path:
    description: The rc.conf file for O(persist=kld_list).
    type: path
    default: /etc/rc.conf
  loader_conf_path:
    description: The loader.conf file for O(persist=loader).
    type: path
    default: /boot/loader.conf
  backup:
    description:
      - Keep a copy of the file O(persist) edits, with a time stamp in its name, before changing it.
    type: bool
    default: false
seealso:
  - module: wifibox.bhyve.loader_conf
  - module: wifibox.bhyve.rc_conf
  - name: kldload(8)
    description: Loading kernel modules.
    link: https://man.freebsd.org/cgi/man.cgi?query=kldload&sektion=8
  - name: kldstat(8)
    description: Listing loaded files and modules.
    link: https://man.freebsd.org/cgi/man.cgi?query=kldstat&sektion=8
"""

EXAMPLES = r"""
- name: Load vmm and nmdm now and from the loader at every boot
  wifibox.bhyve.kld:
    name: [vmm, nmdm]
    persist: loader

- name: Make sure the bridge and tap drivers are there (tap is compiled in on FreeBSD 13+)
  wifibox.bhyve.kld:
    name: [if_bridge, if_tap]

- name: Unload the native Wi-Fi driver so that ppt(4) can claim the card
  wifibox.bhyve.kld:
    name: [if_iwm]
    state: absent
"""

RETURN = r"""
modules:
  description:
    - Each module of O(name) and where it is afterwards (in check mode, where it would be).
    - V(file) when loaded from a .ko file, V(kernel) when compiled into the kernel, V(null) when not loaded.
  returned: always
  type: dict
  sample: {"vmm": "file", "if_tap": "kernel", "if_iwm": null}
loaded:
  description: The modules this task loaded (would load in check mode).
  returned: always
  type: list
  elements: str
  sample: [vmm]
unloaded:
  description: The modules this task unloaded (would unload in check mode).
  returned: always
  type: list
  elements: str
  sample: []
backup_file:
  description: The copy made by O(backup).
  returned: when O(backup=true) and the file changed
  type: str
  sample: /boot/loader.conf.12345.2026-11-22@03:10:00~
"""

import os
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.wifibox.bhyve.plugins.module_utils.commands import CommandError, run_command
from ansible_collections.wifibox.bhyve.plugins.module_utils.conffile import LOADER, RC, join_list, split_list
from ansible_collections.wifibox.bhyve.plugins.module_utils.constants import (
    BRIDGE_MODULE,
    KLD_LIST,
    LOADER_CONF,
    LOADER_LOAD_SUFFIX,
    RC_CONF,
    VMM_DEV_DIR,
    VMM_MODULE,
)
from ansible_collections.wifibox.bhyve.plugins.module_utils.errors import TaskError
from ansible_collections.wifibox.bhyve.plugins.module_utils.fileedit import EditedFile, FileEditError, apply_edits
from ansible_collections.wifibox.bhyve.plugins.module_utils.kernel import file_loaded, module_state

_MODULE_NAME = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.-]*$')


def normalise_names(names):
    result = []
    for name in names:
        bare = name[:-3] if name.endswith('.ko') else name
        if not _MODULE_NAME.match(bare) or bare.endswith('.'):
            raise TaskError('name: %r is not a kernel module name such as vmm or if_bridge.ko; give the file name '
                            'without a directory (kldload looks it up in kern.module_path)' % name)
        if bare not in result:
            result.append(bare)
    return result


def virtual_machines():
    try:
        return sorted(os.listdir(VMM_DEV_DIR))
    except OSError:
        return []


def busy_message(name):
    if name == VMM_MODULE:
        vms = virtual_machines()
        return ('cannot unload vmm: virtual machines still exist (%s in %s); stop them first '
                '(service wifibox stop, or bhyvectl --vm=NAME --destroy for each)'
                % (', '.join(vms) or 'see ls %s' % VMM_DEV_DIR, VMM_DEV_DIR))
    return ('cannot unload %s: the kernel says it is busy (Device busy): another loaded module depends on it, it was '
            'loaded as a dependency, or something uses it; unload the modules that need it or stop its users first' % name)


def dependency_message(name, entry):
    return ('cannot unload %s: %d other loaded module(s) depend on it (kldstat shows %d references to %s); '
            'unload those first, listing them before %s in name' % (name, entry['refs'] - 1, entry['refs'], entry['name'], name))


def refuse_while_bridges_exist(module):
    """Unloading if_bridge destroys every bridge (if_bridge.c MOD_UNLOAD detaches its cloner)."""
    rc, out, dummy = run_command(module, ['ifconfig', '-g', 'bridge'])
    bridges = out.split() if rc == 0 else []
    if bridges:
        raise TaskError('cannot unload if_bridge: the kernel would destroy every bridge with it (%s), with their '
                        'addresses and members; remove them first (wifibox.bhyve.bridge with state=absent, or '
                        'ifconfig NAME destroy)' % ', '.join(bridges))


def plan(module, names, state):
    """Return ({name: state now}, [names to change]) or raise TaskError before anything changes."""
    now = {}
    todo = []
    for name in names:
        where, entry = module_state(module, name)
        now[name] = where
        if state == 'present' and where is None:
            todo.append(name)
        elif state == 'absent' and where == 'kernel':
            raise TaskError('cannot unload %s: it is compiled into the kernel, not loaded from a file; a custom '
                            'kernel without it is the only way to remove it' % name)
        elif state == 'absent' and where == 'file':
            if name == VMM_MODULE and virtual_machines():
                raise TaskError(busy_message(name))
            if name == BRIDGE_MODULE:
                refuse_while_bridges_exist(module)
            others = [other for other in names if other != name]
            if entry['refs'] > 1 and not others:
                raise TaskError(dependency_message(name, entry))
            todo.append(name)
    return now, todo


def load(module, name):
    rc, out, err = run_command(module, ['kldload', '-n', name])
    if rc == 0:
        return
    if 'No such file or directory' in err:
        raise TaskError('cannot load %s: no %s.ko in the module path (sysctl kern.module_path); install the package '
                        'that provides it or check the name' % (name, name))
    raise TaskError('cannot load %s: %s (see dmesg for the kernel\'s reason)' % (name, err.strip() or out.strip() or 'kldload exited %d' % rc))


def unload(module, name):
    entry = file_loaded(module, name)
    if entry is None:
        return
    if entry['refs'] > 1:
        raise TaskError(dependency_message(name, entry))
    rc, out, err = run_command(module, ['kldunload', name])
    if rc == 0:
        return
    if 'Device busy' in err:
        raise TaskError(busy_message(name))
    raise TaskError('cannot unload %s: %s' % (name, err.strip() or out.strip() or 'kldunload exited %d' % rc))


def persistence_edit(params, names, state, now):
    """The EditedFile for O(persist), already edited, or None."""
    persist = params['persist']
    if persist == 'none':
        return None
    names = [name for name in names if not (state == 'present' and now.get(name) == 'kernel')]
    if persist == 'kld_list':
        edited = EditedFile(params['rc_conf_path'], RC)
        current = edited.conf.last(KLD_LIST)
        if current is not None and current.expands:
            raise TaskError('cannot edit kld_list: line %d of %s uses shell expansion; rewrite it as a plain list'
                            % (current.start + 1, edited.path))
        elements = split_list(current.value if current else None)
        if state == 'present':
            wanted = elements + [name for name in names if name not in elements]
        else:
            wanted = [element for element in elements if element not in names and element[:-3] not in names]
        if wanted != elements and (wanted or current is not None):
            edited.conf.set(KLD_LIST, join_list(wanted))
        return edited
    edited = EditedFile(params['loader_conf_path'], LOADER)
    for name in names:
        if state == 'present':
            edited.conf.set(name + LOADER_LOAD_SUFFIX, 'YES', remove_duplicates=True)
        else:
            edited.conf.unset(name + LOADER_LOAD_SUFFIX)
    return edited


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='list', elements='str', required=True),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            persist=dict(type='str', choices=['none', 'kld_list', 'loader'], default='none'),
            rc_conf_path=dict(type='path', default=RC_CONF),
            loader_conf_path=dict(type='path', default=LOADER_CONF),
            backup=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    state = params['state']
    done = []
    try:
        names = normalise_names(params['name'])
        now, todo = plan(module, names, state)
        for name in names:
            if now[name] == 'kernel' and params['persist'] != 'none':
                module.warn('%s is compiled into the kernel; nothing to persist' % name)
        edited = persistence_edit(params, names, state, now)
        if edited is not None and edited.changed:
            edited.check_writable()
        if not module.check_mode:
            for name in todo:
                (load if state == 'present' else unload)(module, name)
                done.append(name)
        changed_file, diffs, backups = apply_edits(module, [edited] if edited else [], params['backup'])
    except (TaskError, FileEditError) as exc:
        module.fail_json(msg=str(exc), loaded=done if state == 'present' else [], unloaded=done if state == 'absent' else [])
    except CommandError as exc:
        module.fail_json(**exc.result())
    after = dict(now)
    for name in todo:
        after[name] = 'file' if state == 'present' else None
    result = dict(
        changed=bool(todo) or changed_file,
        modules=after,
        loaded=todo if state == 'present' else [],
        unloaded=todo if state == 'absent' else [],
    )
    if backups:
        result['backup_file'] = list(backups.values())[0]
    if module._diff and diffs:
        result['diff'] = diffs[0]
    module.exit_json(**result)


if __name__ == '__main__':
    main()
