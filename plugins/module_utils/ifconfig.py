# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Parse FreeBSD's ``ifconfig`` output (FREEBSD.md section 5).

An interface starts with a header line at column 0::

    wifibox0: flags=1008843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST,LOWER_UP> metric 0 mtu 1500

followed by tab-indented detail lines.  Bridges list each member as
``<TAB>member: tap0 flags=143<LEARNING,...>`` plus a continuation line
(tab and eight spaces) that we skip.
"""

from __future__ import annotations

import re

_HEADER = re.compile(
    r'^(?P<name>[^\s:]+): flags=(?P<flags_value>[0-9a-fA-F]+)<(?P<flags>[^>]*)>'
    r'(?:\s+metric\s+(?P<metric>\d+))?(?:\s+mtu\s+(?P<mtu>\d+))?'
)
_MEMBER = re.compile(r'^\s+member:\s+(?P<name>\S+)\s+flags=(?P<flags_value>[0-9a-fA-F]+)<(?P<flags>[^>]*)>')
_INET = re.compile(r'^\s+inet\s+(?P<address>\S+)(?:\s+netmask\s+(?P<netmask>\S+))?(?:\s+broadcast\s+(?P<broadcast>\S+))?')
_INET6 = re.compile(r'^\s+inet6\s+(?P<address>\S+)(?:\s+prefixlen\s+(?P<prefixlen>\d+))?')
_ETHER = re.compile(r'^\s+ether\s+(?P<ether>[0-9a-fA-F:]+)')
_GROUPS = re.compile(r'^\s+groups:\s+(?P<groups>.*)$')
_STATUS = re.compile(r'^\s+status:\s+(?P<status>.*?)\s*$')
_OPENED = re.compile(r'^\s+Opened by PID (?P<pid>\d+)')

# Interface names: at most IFNAMSIZ-1 = 15 bytes.
INTERFACE_NAME = re.compile(r'^[A-Za-z][A-Za-z0-9_.-]{0,14}$')
TAP_NAME = re.compile(r'^tap\d+$')


def _flag_list(text):
    return [flag for flag in text.split(',') if flag]


def _new_interface(match):
    return {
        'name': match.group('name'),
        'flags': _flag_list(match.group('flags')),
        'flags_value': match.group('flags_value'),
        'metric': int(match.group('metric')) if match.group('metric') else None,
        'mtu': int(match.group('mtu')) if match.group('mtu') else None,
        'up': 'UP' in _flag_list(match.group('flags')),
        'ether': None,
        'inet': [],
        'inet6': [],
        'members': [],
        'groups': [],
        'status': None,
        'opened_by_pid': None,
    }


def _parse_detail(interface, line):
    member = _MEMBER.match(line)
    if member:
        interface['members'].append({'name': member.group('name'), 'flags': _flag_list(member.group('flags'))})
        return
    for pattern, handle in (
        (_INET, lambda m: interface['inet'].append(dict((k, v) for k, v in m.groupdict().items()))),
        (_INET6, lambda m: interface['inet6'].append({'address': m.group('address'), 'prefixlen': m.group('prefixlen')})),
        (_ETHER, lambda m: interface.update(ether=m.group('ether'))),
        (_GROUPS, lambda m: interface.update(groups=m.group('groups').split())),
        (_STATUS, lambda m: interface.update(status=m.group('status'))),
        (_OPENED, lambda m: interface.update(opened_by_pid=int(m.group('pid')))),
    ):
        match = pattern.match(line)
        if match:
            handle(match)
            return


def parse_ifconfig(text):
    """Parse the output of ``ifconfig`` or ``ifconfig NAME`` into a list of interfaces."""
    interfaces = []
    for line in text.splitlines():
        header = _HEADER.match(line)
        if header:
            interfaces.append(_new_interface(header))
        elif interfaces and line[:1].isspace():
            _parse_detail(interfaces[-1], line)
    for interface in interfaces:
        interface['is_bridge'] = 'bridge' in interface['groups']
        interface['member_names'] = [member['name'] for member in interface['members']]
    return interfaces


def parse_interface_list(text):
    """The names ``ifconfig -l`` prints on one line."""
    return text.split()
