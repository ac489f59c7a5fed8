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
  - Checks everything before it changes anything (each module's C(.ko) file in C(kern.module_path), that nothing
    else depends on a module to unload, that no bridge exists when unloading V(if_bridge), which destroys every
    bridge, the file O(persist) edits). If a load, an unload or the file write still fails, it undoes what it did
    (unloading also the dependencies a load brought in) and says so in RV(undone); what cannot be undone is
    reported in RV(left) with V(changed=true).
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
      - V(loader) sets (or removes) C(NAME_load="YES") in O(loader_conf_path). Other lines of that file that the
        lua loader misreads or skips are kept as they are and named in a warning, as M(wifibox.bhyve.loader_conf)
        does.
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
undone:
  description:
    - When the task failed after changing the host, what it took back (newest first); the host is then as it was
      and C(changed) is V(false).
  returned: failure
  type: list
  elements: str
  sample: ["loaded nmdm"]
left:
  description:
    - When the task failed and could not take everything back, exactly what stays changed, and why; C(changed) is
      V(true) then.
  returned: failure
  type: list
  elements: str
  sample: ["created wifibox0 (undo failed: ifconfig wifibox0 destroy exited with status 1: ...)"]
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

from ansible_collections.wifibox.bhyve.plugins.module_utils.commands import CommandError, find_command, run_checked
from ansible_collections.wifibox.bhyve.plugins.module_utils.conffile import LOADER, RC, join_list, split_list
from ansible_collections.wifibox.bhyve.plugins.module_utils.constants import (
    BRIDGE_MODULE,
    DEFAULT_MODULE_PATH,
    KLD_LIST,
    LOADER_CONF,
    LOADER_LOAD_SUFFIX,
    RC_CONF,
    VMM_DEV_DIR,
    VMM_MODULE,
)
from ansible_collections.wifibox.bhyve.plugins.module_utils.errors import TaskError
from ansible_collections.wifibox.bhyve.plugins.module_utils.fileedit import EditedFile, FileEditError, apply_edits, warn_misread_lines
from ansible_collections.wifibox.bhyve.plugins.module_utils.journal import Journal, StepError
from ansible_collections.wifibox.bhyve.plugins.module_utils.kernel import file_loaded, journal_load, module_state, read_sysctl

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
            others = [other for other in names if other != name]
            if entry['refs'] > 1 and not others:
                raise TaskError(dependency_message(name, entry))
            todo.append(name)
    return now, todo


def module_path(module):
    """The directories kldload(8) searches (kern.module_path), FreeBSD's default when it cannot be read."""
    value = read_sysctl(module, 'kern.module_path')
    return [part for part in (value if value else DEFAULT_MODULE_PATH).split(';') if part]


def _in_hints(directory, name):
    """Whether kldxref's linker.hints of ``directory`` names module ``name`` (kldload resolves module names by it)."""
    try:
        with open(os.path.join(directory, 'linker.hints'), 'rb') as handle:
            data = handle.read()
    except (IOError, OSError):
        return False
    # Module names are stored as a length byte followed by the name.
    encoded = name.encode('ascii', 'replace')
    return bytes(bytearray([len(encoded)])) + encoded in data


def check_loadable(module, todo):
    """Refuse, before loading anything, a module kldload would not find (no NAME.ko, not in linker.hints)."""
    directories = module_path(module)
    for name in todo:
        if not any(os.path.isfile(os.path.join(directory, name + '.ko')) or _in_hints(directory, name)
                   for directory in directories):
            raise TaskError('name: cannot load %s: no %s.ko in the module path (%s, sysctl kern.module_path); '
                            'install the package that provides it or check the name; nothing was loaded'
                            % (name, name, ';'.join(directories)))


def check_unloadable(module, todo):
    """Refuse to unload if_bridge while bridges exist: unloading it destroys every bridge (if_bridge(4))."""
    if BRIDGE_MODULE not in todo:
        return
    bridges = run_checked(module, ['ifconfig', '-g', 'bridge']).split()
    if bridges:
        raise TaskError('cannot unload %s: unloading it destroys every bridge, and %s exist(s); destroy them first '
                        '(wifibox.bhyve.bridge state=absent) or leave %s loaded'
                        % (BRIDGE_MODULE, ', '.join(bridges), BRIDGE_MODULE))


def _load_hint(name):
    def hint(stderr):
        if 'No such file or directory' in stderr:
            return 'no %s.ko in the module path (sysctl kern.module_path); install the package that provides it' % name
        return 'the kernel refused it; see dmesg for its reason'
    return hint


def _unload_hint(name):
    def hint(stderr):
        if 'Device busy' in stderr:
            return busy_message(name)
        return None
    return hint


def load(journal, name):
    journal_load(journal, name, hint=_load_hint(name))


def unload(journal, name):
    entry = file_loaded(journal.module, name)
    if entry is None:
        return
    if entry['refs'] > 1:
        raise TaskError(dependency_message(name, entry))
    journal.command('unloaded %s' % name, ['kldunload', name], [['kldload', '-n', name]], hint=_unload_hint(name))


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
    journal = Journal(module)
    try:
        # Read and check everything first ...
        names = normalise_names(params['name'])
        now, todo = plan(module, names, state)
        if todo and not module.check_mode:
            for program in ('kldload', 'kldunload'):
                find_command(module, program)
        if state == 'present':
            check_loadable(module, todo)
        else:
            check_unloadable(module, todo)
        for name in names:
            if now[name] == 'kernel' and params['persist'] != 'none':
                module.warn('%s is compiled into the kernel; nothing to persist' % name)
        edited = persistence_edit(params, names, state, now)
        if edited is not None and edited.changed:
            edited.check_writable()
    except (TaskError, FileEditError) as exc:
        module.fail_json(msg=str(exc), changed=False, loaded=[], unloaded=[])
    except CommandError as exc:
        module.fail_json(changed=False, loaded=[], unloaded=[], **exc.result())
    try:
        # ... then act; a failure midway undoes what this task did (Journal.fail).
        if not module.check_mode:
            for name in todo:
                (load if state == 'present' else unload)(journal, name)
        changed_file, diffs, backups = apply_edits(module, [edited] if edited else [], params['backup'], journal)
    except (TaskError, FileEditError, StepError, CommandError) as exc:
        journal.fail(getattr(exc, 'msg', None) or str(exc), loaded=[], unloaded=[])
    if params['persist'] == 'loader' and edited is not None:
        warn_misread_lines(module, edited.path, edited.conf)
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
