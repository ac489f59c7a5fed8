#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: rc_conf
short_description: Set FreeBSD rc.conf variables and add or remove elements of rc.conf lists
version_added: 0.1.0
description:
  - Sets and unsets several rc.conf(5) variables in one task, in C(/etc/rc.conf) or a service's
    C(/etc/rc.conf.d/NAME).
  - Adds or removes single elements of list variables such as C(kld_list), C(devmatch_blocklist) or
    C(cloned_interfaces), leaving the other elements and their order alone.
  - Follows sysrc(8). A value is changed in the B(last) assignment of the variable in the file (the one sh keeps);
    a new variable is appended as C(name="value"), unsetting removes every assignment, and adding to an unset list
    starts from its value in C(/etc/defaults/rc.conf). Elements already present are not added twice.
  - Warns when a file read later (C(/etc/rc.conf.local) after C(/etc/rc.conf)) assigns the same variable, since that
    assignment wins.
  - B(Why not wrap sysrc(8)?) This module edits the text itself, with the same parser as M(wifibox.bhyve.loader_conf).
    All variables of a task are validated first and written in one atomic write, so a bad value leaves the file
    byte-identical; check mode and diff show the exact new file without running anything on the host; and element
    edits need one write instead of one C(sysrc) call per element (community.general's C(sysrc) module takes one
    element per task and has no diff). The cost is that the file must hold only comments and plain assignments,
    which is what C(sysrc) and C(bsdinstall) write; other lines make the module fail without changing the file.
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
      - The file to edit. Defaults to V(/etc/rc.conf), or to V(/etc/rc.conf.d/NAME) with O(service).
      - The file is created when missing; its directory must exist.
    type: path
  service:
    description:
      - Edit the service's own file V(/etc/rc.conf.d/SERVICE), which rc.subr(8) reads after V(/etc/rc.conf) when it
        runs that service.
      - V(/etc/rc.conf.d) must exist; a stock FreeBSD may not have it (create it with M(ansible.builtin.file)).
    type: str
  values:
    description:
      - Variables to set, name to value. V(true)/V(false) are written as V(YES)/V(NO).
      - Names are sh identifiers (letters, digits and underscores). A value may not hold a double quote, a backslash,
        a backquote or a newline.
      - Unless O(expand=true), a value may not hold what sh would expand or run when it reads the file or when
        rc.subr(8) evals it (C($), C($(...)), C(${...}), C(;), C(&), C(|), C(<), C(>), C(\(), C(\))).
    type: dict
  expand:
    description:
      - Allow values (and list elements) that sh expands or runs, such as C(${wifibox_flags}) or C($(hostname)).
      - Off by default because rc.conf is sourced by sh at every boot, so such a value runs a command as root.
    type: bool
    default: false
  unset:
    description:
      - Variables whose every assignment is removed from the file (C(sysrc -x)).
    type: list
    elements: str
  add:
    description:
      - List variables and the elements to add to each, name to list. Elements already in the list are left where
        they are; new ones are appended in the order given.
    type: dict
  remove:
    description:
      - List variables and the elements to remove from each (every occurrence), name to list.
      - Removing from a variable the file does not set changes nothing.
    type: dict
  delimiter:
    description:
      - What separates the elements of the lists in O(add) and O(remove). The default, a space, reads any white space
        as a separator and writes single spaces.
    type: str
    default: ' '
  backup:
    description:
      - Keep a copy of the file, with a time stamp in its name, before changing it.
    type: bool
    default: false
notes:
  - Element edits need the current value, so they fail on a value that uses shell expansion (C($var) or a backquote);
    set the whole value with O(values) instead.
  - A variable set in V(/etc/rc.conf.d/NAME) only applies to service NAME, and overrides V(/etc/rc.conf) there.
seealso:
  - module: wifibox.bhyve.loader_conf
  - module: wifibox.bhyve.kld
  - name: rc.conf(5)
    description: The variables and the order the files are read in.
    link: https://man.freebsd.org/cgi/man.cgi?query=rc.conf&sektion=5
  - name: sysrc(8)
    description: The command whose semantics this module follows.
    link: https://man.freebsd.org/cgi/man.cgi?query=sysrc&sektion=8
"""

EXAMPLES = r"""
- name: Keep the native Wi-Fi drivers away from the card and start the wifibox at boot
  wifibox.bhyve.rc_conf:
    values:
      wifibox_enable: true
      devmatch_enable: true
    add:
      devmatch_blocklist: [if_iwm, if_iwlwifi]
      kld_list: [nmdm]

- name: Configure the host's side of the bridge in the service's own file
  wifibox.bhyve.rc_conf:
    path: /etc/rc.conf.d/netif
    values:
      ifconfig_wifibox0: SYNCDHCP
      background_dhclient_wifibox0: true
    backup: true

- name: Undo
  wifibox.bhyve.rc_conf:
    unset: [wifibox_enable, ifconfig_wifibox0]
    remove:
      devmatch_blocklist: [if_iwm, if_iwlwifi]
"""

RETURN = r"""
undone:
  description: On failure, what the task took back (always empty; the file is written in one atomic step).
  returned: failure
  type: list
  elements: str
  sample: []
left:
  description: On failure, what stays changed (always empty, C(changed) is V(false)).
  returned: failure
  type: list
  elements: str
  sample: []
file:
  description: The file that was read and, when it changed, written.
  returned: always
  type: str
  sample: /etc/rc.conf
values:
  description: The value each variable of the task has in the file afterwards, V(null) when the file does not set it.
  returned: always
  type: dict
  sample: {"wifibox_enable": "YES", "devmatch_blocklist": "if_iwm if_iwlwifi"}
backup_file:
  description: The copy made by O(backup).
  returned: when O(backup=true) and the file changed
  type: str
  sample: /etc/rc.conf.12345.2026-11-22@03:10:00~
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.wifibox.bhyve.plugins.module_utils.conffile import (
    RC,
    check_name,
    check_value,
    join_list,
    scan_value,
    split_list,
    value_text,
)
from ansible_collections.wifibox.bhyve.plugins.module_utils.constants import (
    LOCAL_RC_CONF_DIR,
    RC_CONF,
    RC_CONF_DEFAULTS,
    RC_CONF_DIR,
    RC_CONF_READ_AFTER,
)
from ansible_collections.wifibox.bhyve.plugins.module_utils.errors import TaskError
from ansible_collections.wifibox.bhyve.plugins.module_utils.journal import Journal
from ansible_collections.wifibox.bhyve.plugins.module_utils.shell import check_rc_value
from ansible_collections.wifibox.bhyve.plugins.module_utils.fileedit import EditedFile, FileEditError, apply_edits, read_text, warn_overridden


def validate_name(option, name):
    error = check_name(RC, name)
    if error:
        raise TaskError('%s: %s' % (option, error))


def check_shell(option, name, text, expand):
    if not expand:
        error = check_rc_value(option, name, text)
        if error:
            raise TaskError(error)


def validate_elements(option, name, elements, delimiter, expand=False):
    if not isinstance(elements, list):
        elements = [elements]
    checked = []
    for element in elements:
        text = value_text(option, name, element)
        error = check_value(RC, name, text)
        if error:
            raise TaskError('%s: %s' % (option, error))
        check_shell(option, name, text, expand)
        if not text.strip() or text != text.strip() or (delimiter.strip() and delimiter in text) or (
                not delimiter.strip() and len(text.split()) != 1):
            raise TaskError('%s: %r is not a single element of %s: it is empty or holds the delimiter %r; '
                            'give one element per list item' % (option, text, name, delimiter))
        checked.append(text)
    return checked


class Task(object):
    """The validated input: what to set, unset, add and remove."""

    def __init__(self, params):
        delimiter = params['delimiter']
        if delimiter == '':
            raise TaskError('delimiter: give at least one character, such as a space or a comma')
        self.delimiter = delimiter
        self.expand = params['expand']
        self.values = {}
        for name, value in (params['values'] or {}).items():
            validate_name('values', name)
            text = value_text('values', name, value)
            error = check_value(RC, name, text)
            if error:
                raise TaskError('values: %s' % error)
            check_shell('values', name, text, params['expand'])
            self.values[name] = text
        self.unset = []
        for name in params['unset'] or []:
            validate_name('unset', name)
            self.unset.append(name)
        self.add = {}
        self.remove = {}
        for option, target in (('add', self.add), ('remove', self.remove)):
            for name, elements in (params[option] or {}).items():
                validate_name(option, name)
                target[name] = validate_elements(option, name, elements, delimiter, params['expand'])
        self._check_overlaps()

    def _check_overlaps(self):
        groups = (('values', set(self.values)), ('unset', set(self.unset)),
                  ('add/remove', set(self.add) | set(self.remove)))
        for index, (first, names) in enumerate(groups):
            for second, others in groups[index + 1:]:
                both = sorted(names & others)
                if both:
                    raise TaskError('%s appear in both %s and %s; give each variable in one of them only'
                                    % (', '.join(both), first, second))

    def list_names(self):
        return list(self.add) + [name for name in self.remove if name not in self.add]

    def names(self):
        ordered = list(self.values) + self.unset + list(self.add)
        return ordered + [name for name in self.remove if name not in ordered]


def target_path(params):
    if params['path'] and params['service']:
        raise TaskError('path and service both name the file; give only one of them')
    if params['service']:
        validate_name('service', params['service'])
        return os.path.join(RC_CONF_DIR, params['service'])
    return params['path'] or RC_CONF


def default_value(name):
    """A list's value in /etc/defaults/rc.conf, where sysrc starts from when the file does not set it."""
    return scan_value(read_text(RC_CONF_DEFAULTS), name)


def files_read_after(path):
    later = list(RC_CONF_READ_AFTER.get(path, ()))
    if os.path.dirname(path) == RC_CONF_DIR:
        later.append(os.path.join(LOCAL_RC_CONF_DIR, os.path.basename(path)))
    return later


def edit_list(edited, name, add, remove, delimiter, expand=False):
    current = edited.conf.last(name)
    if current is not None and current.expands:
        raise TaskError(
            'cannot edit the elements of %s: line %d of %s gives it with shell expansion ($ or a backquote), '
            'which this module does not evaluate; rewrite it as a plain list, or set the whole value with values'
            % (name, current.start + 1, edited.path))
    if current is None and not add:
        return
    value = current.value if current is not None else default_value(name)
    elements = split_list(value, delimiter)
    wanted = [element for element in elements if element not in remove]
    wanted += [element for index, element in enumerate(add) if element not in wanted and element not in add[:index]]
    if current is None or wanted != elements:
        value = join_list(wanted, delimiter)
        check_shell('add' if add else 'remove', name, value, expand)
        edited.conf.set(name, value)


def edit(edited, task):
    for name, value in task.values.items():
        edited.conf.set(name, value)
    for name in task.unset:
        edited.conf.unset(name)
    for name in task.list_names():
        edit_list(edited, name, task.add.get(name, []), task.remove.get(name, []), task.delimiter, task.expand)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path'),
            service=dict(type='str'),
            values=dict(type='dict'),
            unset=dict(type='list', elements='str'),
            add=dict(type='dict'),
            remove=dict(type='dict'),
            delimiter=dict(type='str', default=' '),
            expand=dict(type='bool', default=False),
            backup=dict(type='bool', default=False),
        ),
        required_one_of=[('values', 'unset', 'add', 'remove')],
        mutually_exclusive=[('path', 'service')],
        supports_check_mode=True,
    )
    journal = Journal(module)
    try:
        task = Task(module.params)
        path = target_path(module.params)
        edited = EditedFile(path, RC)
        edit(edited, task)
        changed, diffs, backups = apply_edits(module, [edited], module.params['backup'], journal)
    except (TaskError, FileEditError) as exc:
        # One atomic write: it either happened or not; the journal reports it the same way as the other modules.
        journal.fail(str(exc))
    warn_overridden(module, path, files_read_after(path), [name for name in task.names() if name not in task.unset], 'is read')
    result = dict(
        changed=changed,
        file=path,
        values=dict((name, edited.conf.get(name)) for name in task.names()),
    )
    if backups:
        result['backup_file'] = backups[path]
    if module._diff and diffs:
        result['diff'] = diffs[0]
    module.exit_json(**result)


if __name__ == '__main__':
    main()
