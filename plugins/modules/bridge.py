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
  - Checks everything before it runs a command, as C(bridge_ioctl_add) in FreeBSD's C(sys/net/if_bridge.c) would.
    A member must be an Ethernet, VLAN or gif interface (not V(lo0)), not a member of another bridge, and have the
    MTU of the bridge's other members (the first member gives the bridge its MTU). If a command still fails, the
    commands already run are undone (RV(undone)), or what stays is reported in RV(left) with V(changed=true).
  - Loads V(if_bridge) itself when it is missing, so that a failure can unload it again.
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
      - V(absent) only destroys a bridge and taps (V(tapN) or interfaces in the C(tap) group); any other interface
        listed in O(members), such as V(wlan0) or V(em0), is refused with the reason, and so is an O(name) that is
        not a bridge.
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

from ansible_collections.wifibox.bhyve.plugins.module_utils.commands import CommandError, find_command, run_checked, run_command
from ansible_collections.wifibox.bhyve.plugins.module_utils.conffile import SYSCTL
from ansible_collections.wifibox.bhyve.plugins.module_utils.constants import BRIDGE_MODULE, BRIDGE_NAME, SYSCTL_CONF, TAP_UP_ON_OPEN_SYSCTL
from ansible_collections.wifibox.bhyve.plugins.module_utils.errors import TaskError
from ansible_collections.wifibox.bhyve.plugins.module_utils.fileedit import EditedFile, FileEditError, apply_edits
from ansible_collections.wifibox.bhyve.plugins.module_utils.ifconfig import (
    INTERFACE_NAME,
    TAP_NAME,
    parse_ifconfig,
    parse_interface_list,
)
from ansible_collections.wifibox.bhyve.plugins.module_utils.journal import Journal, StepError
from ansible_collections.wifibox.bhyve.plugins.module_utils.kernel import journal_load, module_present, read_sysctl_int

# What ifconfig's errors mean for this module, and what to do about them (if_bridge(4), sys/net/if_bridge.c:
# bridge_ioctl_add returns EBUSY for a member of another bridge, EEXIST for one of this bridge, ENOENT for a
# missing interface and EINVAL both for a type that cannot be bridged and for an MTU that differs from the
# bridge's, which the module checks before running anything).
_IFCONFIG_HINTS = (
    ('Device busy', 'the interface is a member of another bridge; take it out there with ifconfig BRIDGE deletem IF'),
    ('File exists', 'another interface already has that name or membership; rename or destroy it first'),
    ('Invalid argument', 'the kernel refused it: a bridge member must be an Ethernet, VLAN or gif interface with the '
                         'same MTU as the bridge\'s other members, and only cloned interfaces can be destroyed'),
    ('No such file or directory', 'the interface does not exist'),
)

# A tap made by ``ifconfig tap create`` has the Ethernet MTU (if_tuntap.c).
TAP_DEFAULT_MTU = 1500
# Interface types bridge_ioctl_add accepts besides Ethernet (which shows an "ether" line).
_BRIDGEABLE_GROUPS = ('vlan', 'gif')


def ifconfig_hint(stderr):
    return next((text for key, text in _IFCONFIG_HINTS if key in stderr), None)


class Bridge(object):
    """Reads the interfaces and collects the commands that bring them to the wanted state.

    Nothing runs before every check has passed; ``execute`` then runs the planned
    commands through a Journal, so a failure midway undoes the earlier ones.
    """

    def __init__(self, module):
        self.module = module
        self.commands = []
        self.steps = []
        self.interfaces = parse_interface_list(run_checked(module, ['ifconfig', '-l']))
        self._shown = {}

    def show(self, name):
        if name not in self._shown:
            rc, out, err = run_command(self.module, ['ifconfig', name])
            found = parse_ifconfig(out) if rc == 0 else []
            self._shown[name] = found[0] if found else None
        return self._shown[name]

    def exists(self, name):
        return name in self.interfaces

    def run(self, description, argv, undo):
        """Plan ``argv``, undone by the argvs in ``undo`` (None: cannot be undone)."""
        self.commands.append(argv)
        self.steps.append((description, argv, undo))

    def load(self, name):
        """Plan loading kernel module ``name``; its undo unloads what the load brought in."""
        self.commands.append(['kldload', '-n', name])
        self.steps.append(('loaded %s' % name, ['kldload', '-n', name], 'kld'))

    def execute(self, journal):
        for description, argv, undo in self.steps:
            if undo == 'kld':
                journal_load(journal, argv[-1])
            else:
                journal.command(description, argv, undo, hint=ifconfig_hint if argv[0] == 'ifconfig' else None)


def validate(params):
    for option, names in (('name', [params['name']]), ('members', params['members']),
                          ('rename_from', [params['rename_from']] if params['rename_from'] else [])):
        for name in names:
            if not INTERFACE_NAME.match(name):
                raise TaskError('%s: %r is not an interface name (letters, digits, _ . -, at most 15 characters, '
                                'starting with a letter), such as wifibox0 or tap0' % (option, name))
    if params['name'] in params['members']:
        raise TaskError('members: %s cannot be a member of itself; list its taps, such as tap0' % params['name'])


def is_tap(name, shown):
    return bool(TAP_NAME.match(name)) or bool(shown and 'tap' in shown['groups'])


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
        bridge.run('renamed %s to %s' % (source, name), ['ifconfig', source, 'name', name],
                   [['ifconfig', name, 'name', source]])
        current = dict(current, name=name)
        return current
    if not module_present(bridge.module, BRIDGE_MODULE):
        # ifconfig would load it for us, but then nothing would unload it if a later step failed.
        bridge.load(BRIDGE_MODULE)
    bridge.run('created %s' % name, ['ifconfig', 'bridge', 'create', 'name', name, 'up'],
               [['ifconfig', name, 'destroy']])
    return dict(name=name, up=True, flags=['UP'], member_names=[], is_bridge=True, mtu=None)


def owner_bridge(bridge, member, ours):
    """The other bridge that already has ``member``, or None (one ``ifconfig`` call, all interfaces)."""
    for interface in parse_ifconfig(run_checked(bridge.module, ['ifconfig'])):
        if interface['name'] not in ours and member in interface['member_names']:
            return interface['name']
    return None


def check_member(bridge, params, member):
    """Refuse, before anything runs, a member the kernel would refuse; return its MTU."""
    if not bridge.exists(member):
        return TAP_DEFAULT_MTU
    shown = bridge.show(member)
    if shown is None:
        raise TaskError('members: ifconfig %s printed nothing readable; check that interface' % member)
    if shown['ether'] is None and not set(shown['groups']) & set(_BRIDGEABLE_GROUPS):
        raise TaskError('members: %s is not an Ethernet interface (ifconfig shows no ether address%s); if_bridge(4) '
                        'only accepts Ethernet, VLAN and gif interfaces as members; list a tap such as tap0'
                        % (member, ', it is the loopback' if 'lo' in shown['groups'] else ''))
    other = owner_bridge(bridge, member, (params['name'], params['rename_from']))
    if other:
        raise TaskError('members: %s is already a member of %s; take it out there (ifconfig %s deletem %s) '
                        'or list another tap' % (member, other, other, member))
    return shown['mtu']


def ensure_members(bridge, params, current):
    name = params['name']
    kept = list(current['member_names'])
    if params['purge_members']:
        for member in current['member_names']:
            if member not in params['members']:
                bridge.run('took %s out of %s' % (member, name), ['ifconfig', name, 'deletem', member],
                           [['ifconfig', name, 'addm', member]])
                kept.remove(member)
    # The first member gives the bridge its MTU; every later one must have the same (bridge_ioctl_add).
    mtu = current['mtu'] if kept else None
    for member in params['members']:
        if member in current['member_names']:
            continue
        member_mtu = check_member(bridge, params, member)
        if mtu is None:
            mtu = member_mtu
        elif member_mtu != mtu:
            raise TaskError('members: %s has MTU %s but %s\'s members have MTU %s; if_bridge(4) refuses a member '
                            'with another MTU; set it first (ifconfig %s mtu %s) or list another tap'
                            % (member, member_mtu, name, mtu, member, mtu))
    for member in params['members']:
        if not bridge.exists(member):
            if TAP_NAME.match(member):
                bridge.run('created %s' % member, ['ifconfig', member, 'create', 'up'], [['ifconfig', member, 'destroy']])
            else:
                bridge.run('created %s' % member, ['ifconfig', 'tap', 'create', 'name', member, 'up'],
                           [['ifconfig', member, 'destroy']])
        if member not in current['member_names']:
            bridge.run('added %s to %s' % (member, name), ['ifconfig', name, 'addm', member],
                       [['ifconfig', name, 'deletem', member]])
    if not current['up']:
        bridge.run('brought %s up' % name, ['ifconfig', name, 'up'], [['ifconfig', name, 'down']])


def destroy(bridge, params):
    """Destroy the bridge and the taps of O(members); refuse any other interface, with the reason."""
    name = params['name']
    current = bridge.show(name) if bridge.exists(name) else None
    if current is not None and not current['is_bridge']:
        raise TaskError('name: %s is not a bridge (ifconfig shows no "groups: bridge"); state=absent only destroys '
                        'bridges and taps, so it was left alone' % name)
    members = current['member_names'] if current else []
    for member in params['members']:
        if not bridge.exists(member):
            continue
        if not is_tap(member, bridge.show(member)):
            raise TaskError('members: %s is not a tap; state=absent only destroys the bridge and its taps (which this '
                            'collection creates), never another interface; remove %s from members (it is only taken '
                            'out of the bridge when the bridge is destroyed)' % (member, member))
    for member in params['members']:
        if bridge.exists(member):
            recreate = [['ifconfig', member, 'create', 'up'] if TAP_NAME.match(member)
                        else ['ifconfig', 'tap', 'create', 'name', member, 'up']]
            if member in members:
                recreate.append(['ifconfig', name, 'addm', member])
            bridge.run('destroyed %s' % member, ['ifconfig', member, 'destroy'], recreate)
    if current is not None:
        recreate = [['ifconfig', 'bridge', 'create', 'name', name] + (['up'] if current['up'] else [])]
        recreate += [['ifconfig', name, 'addm', member] for member in members if member not in params['members']]
        bridge.run('destroyed %s' % name, ['ifconfig', name, 'destroy'], recreate)


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
        bridge.run('set %s=%d' % (TAP_UP_ON_OPEN_SYSCTL, value), ['sysctl', '%s=%d' % (TAP_UP_ON_OPEN_SYSCTL, value)],
                   [['sysctl', '%s=%d' % (TAP_UP_ON_OPEN_SYSCTL, current)]])
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
    journal = Journal(module)
    try:
        # Read and check everything first ...
        validate(params)
        bridge = Bridge(module)
        before = bridge.show(name) if bridge.exists(name) else None
        tap_value, edited = ensure_tap_up_on_open(module, bridge, params)
        if params['state'] == 'present':
            current = ensure_bridge(bridge, params)
            ensure_members(bridge, params, current)
        else:
            destroy(bridge, params)
        if bridge.steps and not module.check_mode:
            for program in set(step[1][0] for step in bridge.steps):
                find_command(module, program)
    except (TaskError, FileEditError) as exc:
        module.fail_json(msg=str(exc), changed=False)
    except CommandError as exc:
        module.fail_json(changed=False, **exc.result())
    try:
        # ... then act; a failure midway undoes what this task did (Journal.fail).
        if not module.check_mode:
            bridge.execute(journal)
        changed_file, diffs, backups = apply_edits(module, [edited] if edited else [], params['backup'], journal)
    except (FileEditError, StepError, CommandError) as exc:
        journal.fail(getattr(exc, 'msg', None) or str(exc), commands=bridge.commands)
    bridge._shown.clear()

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
