#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: bridge
short_description: Create the wifibox bridge and its tap members on FreeBSD
version_added: 0.1.0
description:
  - Makes sure a bridge(4) interface (by default V(wifibox0)) exists, is up and has its tap(4) members, as the
    wifibox's C(create_bridge) step does, or destroys it.
  - Creates the bridge with C(ifconfig bridge create name NAME up), creates missing taps, adds them with C(addm),
    renames an existing bridge (O(rename_from)) instead of creating a second one, and only runs the commands that
    are needed, so a second run changes nothing.
  - Optionally sets C(net.link.tap.up_on_open) with sysctl(8) and keeps it in C(/etc/sysctl.conf).
  - Reads the state with C(ifconfig -l) and C(ifconfig NAME) (parsed in the collection's module_utils) and returns
    the members of the bridge.
author:
  - wifibox.bhyve developers (@wifibox-bhyve)
extends_documentation_fragment:
  - wifibox.bhyve.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The diff shows the bridge (exists, up, members) and the sysctl.conf change.
options:
  name:
    description:
      - The bridge interface.
    type: str
    default: wifibox0
  state:
    description:
      - V(present) creates the bridge and its members and brings it up; V(absent) destroys the bridge and the taps
        listed in O(members).
    type: str
    choices: [present, absent]
    default: present
  members:
    description:
      - Tap interfaces that must be members of the bridge (V(tap0)). Missing taps are created and brought up.
      - Names other than C(tapN) are created with C(ifconfig tap create name NAME).
    type: list
    elements: str
    default: []
  purge_members:
    description:
      - Remove members of the bridge that O(members) does not list (they are only taken out of the bridge, not
        destroyed).
    type: bool
    default: false
  rename_from:
    description:
      - When O(name) does not exist but this bridge does (for example V(bridge0) made by C(cloned_interfaces)),
        rename it to O(name) instead of creating a new bridge.
    type: str
  tap_up_on_open:
    description:
      - Set C(net.link.tap.up_on_open), which brings a tap up when bhyve opens it, now and in O(sysctl_conf_path).
      - Leave unset to not touch it.
    type: bool
  sysctl_conf_path:
    description: Where O(tap_up_on_open) is kept for the next boot.
    type: path
    default: /etc/sysctl.conf
  backup:
    description: Keep a copy of O(sysctl_conf_path), with a time stamp in its name, before changing it.
    type: bool
    default: false
notes:
  - This makes the bridge now. To have it at boot, let the wifibox service create it, or list it in
    C(cloned_interfaces) with M(wifibox.bhyve.rc_conf).
seealso:
  - module: wifibox.bhyve.rc_conf
  - name: if_bridge(4)
    description: The bridge driver.
    link: https://man.freebsd.org/cgi/man.cgi?query=if_bridge&sektion=4
  - name: ifconfig(8)
    description: Creating, renaming and destroying interfaces.
    link: https://man.freebsd.org/cgi/man.cgi?query=ifconfig&sektion=8
"""

EXAMPLES = r"""
- name: Bridge wifibox0 with the tap the guest uses
  wifibox.bhyve.bridge:
    name: wifibox0
    members: [tap0]
    tap_up_on_open: true
  register: bridge

- name: Show the members
  ansible.builtin.debug:
    var: bridge.members

- name: Take over bridge0 made at boot by cloned_interfaces
  wifibox.bhyve.bridge:
    rename_from: bridge0
    members: [tap0]

- name: Remove the bridge and its tap
  wifibox.bhyve.bridge:
    members: [tap0]
    state: absent
"""

RETURN = r"""
name:
  description: The bridge.
  returned: always
  type: str
  sample: wifibox0
exists:
  description: Whether the bridge exists afterwards (in check mode, would exist).
  returned: always
  type: bool
  sample: true
up:
  description: Whether the bridge is up afterwards.
  returned: always
  type: bool
  sample: true
members:
  description: The names of the bridge's members afterwards.
  returned: always
  type: list
  elements: str
  sample: [tap0]
flags:
  description: The interface flags of the bridge afterwards, as ifconfig prints them (empty when it does not exist).
  returned: always
  type: list
  elements: str
  sample: [UP, BROADCAST, RUNNING, SIMPLEX, MULTICAST, LOWER_UP]
commands:
  description: The ifconfig and sysctl commands run (in check mode, that would run), in order.
  returned: always
  type: list
  elements: list
  sample: [["ifconfig", "bridge", "create", "name", "wifibox0", "up"], ["ifconfig", "wifibox0", "addm", "tap0"]]
tap_up_on_open:
  description: The value of C(net.link.tap.up_on_open) afterwards, V(null) when O(tap_up_on_open) is not set.
  returned: always
  type: int
  sample: 1
backup_file:
  description: The copy made by O(backup).
  returned: when O(backup=true) and O(sysctl_conf_path) changed
  type: str
  sample: /etc/sysctl.conf.12345.2026-11-22@03:10:00~
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.wifibox.bhyve.plugins.module_utils.commands import CommandError, run_checked, run_command
from ansible_collections.wifibox.bhyve.plugins.module_utils.conffile import SYSCTL
from ansible_collections.wifibox.bhyve.plugins.module_utils.constants import BRIDGE_NAME, SYSCTL_CONF, TAP_UP_ON_OPEN_SYSCTL
from ansible_collections.wifibox.bhyve.plugins.module_utils.errors import TaskError
from ansible_collections.wifibox.bhyve.plugins.module_utils.fileedit import EditedFile, FileEditError, apply_edits
from ansible_collections.wifibox.bhyve.plugins.module_utils.ifconfig import (
    INTERFACE_NAME,
    TAP_NAME,
    parse_ifconfig,
    parse_interface_list,
)
from ansible_collections.wifibox.bhyve.plugins.module_utils.kernel import read_sysctl_int

# What ifconfig's errors mean for this module, and what to do about them.
_IFCONFIG_HINTS = (
    ('Device busy', 'the interface is a member of another bridge; take it out there with ifconfig BRIDGE deletem IF'),
    ('File exists', 'another interface already has that name or membership; rename or destroy it first'),
    ('Invalid argument', 'the member\'s MTU differs from the bridge\'s; give both the same MTU'),
    ('No such file or directory', 'the interface does not exist'),
)


class Bridge(object):
    """Reads the interfaces and collects the commands that bring them to the wanted state."""

    def __init__(self, module):
        self.module = module
        self.commands = []
        self.interfaces = parse_interface_list(run_checked(module, ['ifconfig', '-l']))

    def show(self, name):
        rc, out, err = run_command(self.module, ['ifconfig', name])
        if rc != 0:
            return None
        found = parse_ifconfig(out)
        return found[0] if found else None

    def exists(self, name):
        return name in self.interfaces

    def run(self, argv):
        """Plan ``argv``; nothing runs before every check has passed (see execute)."""
        self.commands.append(argv)

    def execute(self):
        for argv in self.commands:
            try:
                run_checked(self.module, argv)
            except CommandError as exc:
                hint = next((text for key, text in _IFCONFIG_HINTS if key in exc.stderr), None)
                if hint:
                    exc.msg = '%s: %s' % (exc.msg, hint)
                raise


def validate(params):
    for option, names in (('name', [params['name']]), ('members', params['members']),
                          ('rename_from', [params['rename_from']] if params['rename_from'] else [])):
        for name in names:
            if not INTERFACE_NAME.match(name):
                raise TaskError('%s: %r is not an interface name (letters, digits, _ . -, at most 15 characters, '
                                'starting with a letter), such as wifibox0 or tap0' % (option, name))
    if params['name'] in params['members']:
        raise TaskError('members: %s cannot be a member of itself; list its taps, such as tap0' % params['name'])


def ensure_bridge(bridge, params):
    """Return the parsed bridge (None in check mode when it would be created)."""
    name = params['name']
    if bridge.exists(name):
        current = bridge.show(name)
        if current is None or not current['is_bridge']:
            raise TaskError('%s exists but is not a bridge (ifconfig shows no "groups: bridge"); choose another name '
                            'or destroy that interface first' % name)
        return current
    source = params['rename_from']
    if source and bridge.exists(source):
        current = bridge.show(source)
        if current is None or not current['is_bridge']:
            raise TaskError('rename_from: %s is not a bridge; name an existing bridge such as bridge0' % source)
        bridge.run(['ifconfig', source, 'name', name])
        current['name'] = name
        return current
    bridge.run(['ifconfig', 'bridge', 'create', 'name', name, 'up'])
    return dict(name=name, up=True, flags=['UP'], member_names=[], is_bridge=True)


def owner_bridge(bridge, member, ours):
    """The other bridge that already has ``member``, or None (one ``ifconfig`` call, all interfaces)."""
    for interface in parse_ifconfig(run_checked(bridge.module, ['ifconfig'])):
        if interface['name'] not in ours and member in interface['member_names']:
            return interface['name']
    return None


def ensure_members(bridge, params, current):
    name = params['name']
    for member in params['members']:
        if bridge.exists(member) and member not in current['member_names']:
            # A member of another bridge makes addm fail with "Device busy" after the other commands ran.
            other = owner_bridge(bridge, member, (name, params['rename_from']))
            if other:
                raise TaskError('members: %s is already a member of %s; take it out there (ifconfig %s deletem %s) '
                                'or list another tap' % (member, other, other, member))
        if not bridge.exists(member):
            if TAP_NAME.match(member):
                bridge.run(['ifconfig', member, 'create', 'up'])
            else:
                bridge.run(['ifconfig', 'tap', 'create', 'name', member, 'up'])
        if member not in current['member_names']:
            bridge.run(['ifconfig', name, 'addm', member])
    if params['purge_members']:
        for member in current['member_names']:
            if member not in params['members']:
                bridge.run(['ifconfig', name, 'deletem', member])
    if not current['up']:
        bridge.run(['ifconfig', name, 'up'])


def destroy(bridge, params):
    for member in params['members']:
        if bridge.exists(member):
            bridge.run(['ifconfig', member, 'destroy'])
    if bridge.exists(params['name']):
        bridge.run(['ifconfig', params['name'], 'destroy'])


def ensure_tap_up_on_open(module, bridge, params):
    """Return (value now, EditedFile or None)."""
    wanted = params['tap_up_on_open']
    if wanted is None:
        return None, None
    value = 1 if wanted else 0
    current = read_sysctl_int(module, TAP_UP_ON_OPEN_SYSCTL)
    if current is None:
        raise TaskError('sysctl %s does not exist on this host: the tap(4) driver is missing; load if_tap or use a '
                        'kernel with device tuntap' % TAP_UP_ON_OPEN_SYSCTL)
    edited = EditedFile(params['sysctl_conf_path'], SYSCTL)
    edited.conf.set(TAP_UP_ON_OPEN_SYSCTL, str(value), remove_duplicates=True)
    if edited.changed:
        edited.check_writable()
    if current != value:
        bridge.run(['sysctl', '%s=%d' % (TAP_UP_ON_OPEN_SYSCTL, value)])
    return value, edited


def describe(state):
    if state is None:
        return dict(exists=False)
    return dict(exists=True, up=state['up'], members=state['member_names'])


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', default=BRIDGE_NAME),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            members=dict(type='list', elements='str', default=[]),
            purge_members=dict(type='bool', default=False),
            rename_from=dict(type='str'),
            tap_up_on_open=dict(type='bool'),
            sysctl_conf_path=dict(type='path', default=SYSCTL_CONF),
            backup=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    name = params['name']
    try:
        validate(params)
        bridge = Bridge(module)
        before = bridge.show(name) if bridge.exists(name) else None
        tap_value, edited = ensure_tap_up_on_open(module, bridge, params)
        if params['state'] == 'present':
            current = ensure_bridge(bridge, params)
            ensure_members(bridge, params, current)
        else:
            destroy(bridge, params)
        if not module.check_mode:
            bridge.execute()
        changed_file, diffs, backups = apply_edits(module, [edited] if edited else [], params['backup'])
    except (TaskError, FileEditError) as exc:
        module.fail_json(msg=str(exc))
    except CommandError as exc:
        module.fail_json(**exc.result())

    if module.check_mode:
        if params['state'] == 'absent':
            after = None
        else:
            members = [m for m in current['member_names'] if m in params['members'] or not params['purge_members']]
            members += [m for m in params['members'] if m not in members]
            after = dict(up=True, member_names=members, flags=sorted(set(current.get('flags', [])) | {'UP'}))
    else:
        after = bridge.show(name)
    result = dict(
        changed=bool(bridge.commands) or changed_file,
        name=name,
        exists=after is not None,
        up=bool(after and after['up']),
        members=after['member_names'] if after else [],
        flags=after['flags'] if after else [],
        commands=bridge.commands,
        tap_up_on_open=tap_value,
    )
    if backups:
        result['backup_file'] = list(backups.values())[0]
    if module._diff:
        result['diff'] = [dict(before=describe(before), after=describe(after),
                               before_header='interface %s' % name, after_header='interface %s' % name)] + diffs
    module.exit_json(**result)


if __name__ == '__main__':
    main()
