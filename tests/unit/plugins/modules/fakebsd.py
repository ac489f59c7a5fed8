# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A small stateful FreeBSD for unit tests: loaded kernel modules, interfaces, sysctls.

Unlike conftest.FakeHost (answers scripted per argv), commands here change a state,
so a test can ask whether a failed task left the host as it found it.  The output
formats follow FREEBSD.md sections 4 and 5 (kldstat rows, ifconfig blocks).  Faults:
``fail_on(predicate)`` makes the matching call exit 1 (the lab's command-fails, for one
call), ``missing`` lists programs get_bin_path does not find.
"""

import copy
import os

HEADER = 'Id Refs Address                Size Name\n'


def is_read(call):
    """Calls that only read: sysctl -n OID, ifconfig, ifconfig -l, ifconfig -g GROUP, ifconfig NAME."""
    if call[0] == 'sysctl':
        return len(call) == 3 and call[1] == '-n'
    if call[0] == 'ifconfig':
        return len(call) <= 2 or call[1] == '-g'
    return False


class FakeFreeBSD(object):
    def __init__(self, module_dir, loaded=(), builtin=('if_tap',), interfaces=None, sysctls=None):
        self.module_dir = module_dir
        self.loaded = list(loaded)
        self.builtin = list(builtin)
        self.interfaces = interfaces if interfaces is not None else {
            'em0': dict(kind='ether', mtu=1500, up=True, members=[]),
            'lo0': dict(kind='lo', mtu=16384, up=True, members=[]),
        }
        self.sysctls = sysctls if sysctls is not None else {'net.link.tap.up_on_open': '0'}
        self.calls = []
        self.failures = []
        self.missing = set()

    # --- faults ---------------------------------------------------------------------
    def fail_on(self, predicate, err='Operation not permitted'):
        self.failures.append((predicate, err))

    def snapshot(self):
        return copy.deepcopy((sorted(self.loaded), self.interfaces, self.sysctls))

    # --- plumbing ---------------------------------------------------------------------
    def get_bin_path(self, name):
        return None if name in self.missing else '/sbin/' + name

    def run_command(self, args, **kwargs):
        argv = tuple([os.path.basename(args[0])] + list(args[1:]))
        self.calls.append(argv)
        for predicate, err in self.failures:
            if predicate(argv):
                return 1, '', '%s: %s\n' % (argv[0], err)
        handler = getattr(self, '_' + argv[0])
        return handler(list(argv[1:]))

    def changing_calls(self):
        return [call for call in self.calls if call[0] in ('kldload', 'kldunload', 'ifconfig', 'sysctl')
                and not is_read(call)]

    # --- kenv ---------------------------------------------------------------------------
    def _kenv(self, args):
        """kenv(1) -q NAME: the value, or exit 255 for a name the kernel environment lacks (kenv.c)."""
        if args[:1] == ['-q'] and len(args) == 2:
            value = getattr(self, 'kenv', {}).get(args[1])
            return (0, value + '\n', '') if value is not None else (255, '', '')
        raise AssertionError('kenv %s' % args)

    # --- kld ----------------------------------------------------------------------------
    def _row(self, name):
        return '%2d %4d 0xffffffff82c10000   3bb2a8 %s.ko\n' % (self.loaded.index(name) + 5, 1, name)

    def _kldstat(self, args):
        if not args:
            return 0, HEADER + ''.join(self._row(name) for name in self.loaded), ''
        if args[0] == '-n':
            name = args[1][:-3] if args[1].endswith('.ko') else args[1]
            if name in self.loaded:
                return 0, HEADER + self._row(name), ''
            return 1, '', "kldstat: can't find file %s: No such file or directory\n" % name
        if args[:2] == ['-q', '-m']:
            return (0 if args[2] in self.builtin or args[2] in self.loaded else 1), '', ''
        raise AssertionError('kldstat %s' % args)

    def _kldload(self, args):
        name = args[-1]
        if not os.path.exists(os.path.join(self.module_dir, name + '.ko')):
            return 1, '', "kldload: can't load %s: No such file or directory\n" % name
        if name not in self.loaded:
            self.loaded.append(name)
        return 0, '', ''

    def _kldunload(self, args):
        name = args[-1][:-3] if args[-1].endswith('.ko') else args[-1]
        if name not in self.loaded:
            return 1, '', "kldunload: can't find file %s\n" % name
        self.loaded.remove(name)
        return 0, '', ''

    # --- sysctl ---------------------------------------------------------------------------
    def _sysctl(self, args):
        if args[0] == '-n':
            if args[1] == 'kern.module_path':
                return 0, self.module_dir + '\n', ''
            if args[1] in self.sysctls:
                return 0, self.sysctls[args[1]] + '\n', ''
            return 1, '', "sysctl: unknown oid '%s'\n" % args[1]
        name, value = args[0].split('=', 1)
        old = self.sysctls[name]
        self.sysctls[name] = value
        return 0, '%s: %s -> %s\n' % (name, old, value), ''

    # --- ifconfig -------------------------------------------------------------------------
    def show(self, name):
        iface = self.interfaces[name]
        flags = 'UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST' if iface['up'] else 'BROADCAST,SIMPLEX,MULTICAST'
        if iface['kind'] == 'lo':
            flags = 'UP,LOOPBACK,RUNNING,MULTICAST'
        lines = ['%s: flags=8843<%s> metric 0 mtu %d' % (name, flags, iface['mtu'])]
        if iface['kind'] != 'lo':
            lines.append('\tether 58:9c:fc:00:00:%02x' % (len(name) % 256))
        for member in iface['members']:
            lines.append('\tmember: %s flags=143<LEARNING,DISCOVER,AUTOEDGE,AUTOPTP>' % member)
            lines.append('\t        ifmaxaddr 0 port 4 priority 128 path cost 2000000')
        group = {'bridge': 'bridge', 'tap': 'tap', 'lo': 'lo'}.get(iface['kind'])
        if group:
            lines.append('\tgroups: %s' % group)
        return '\n'.join(lines) + '\n'

    def _ifconfig(self, args):
        ifs = self.interfaces
        if not args:
            return 0, ''.join(self.show(name) for name in ifs), ''
        if args == ['-l']:
            return 0, ' '.join(ifs) + '\n', ''
        if args[0] == '-g':
            return 0, ''.join(n + '\n' for n, i in ifs.items() if i['kind'] == args[1]), ''
        if args[:2] == ['bridge', 'create'] or args[:2] == ['tap', 'create']:
            name = args[3]
            if name in ifs:
                return 1, '', 'ifconfig: ioctl SIOCSIFNAME (set name): File exists\n'
            ifs[name] = dict(kind=args[0], mtu=1500, up='up' in args, members=[])
            return 0, name + '\n', ''
        name = args[0]
        if len(args) >= 2 and args[1] == 'create':
            if name in ifs:
                return 1, '', 'ifconfig: interface %s already exists\n' % name
            ifs[name] = dict(kind='tap', mtu=1500, up='up' in args, members=[])
            return 0, '', ''
        if name not in ifs:
            return 1, '', 'ifconfig: interface %s does not exist\n' % name
        if len(args) == 1:
            return 0, self.show(name), ''
        op = args[1]
        if op == 'destroy':
            if ifs[name]['kind'] not in ('bridge', 'tap'):
                return 1, '', 'ifconfig: SIOCIFDESTROY: Invalid argument\n'
            del ifs[name]
            for other in ifs.values():
                if name in other['members']:
                    other['members'].remove(name)
            return 0, '', ''
        if op in ('up', 'down'):
            ifs[name]['up'] = op == 'up'
            return 0, '', ''
        if op == 'name':
            ifs[args[2]] = ifs.pop(name)
            return 0, args[2] + '\n', ''
        if op == 'addm':
            member = args[2]
            if member not in ifs:
                return 1, '', 'ifconfig: BRDGADD %s: No such file or directory\n' % member
            if ifs[member]['kind'] == 'lo':
                return 1, '', 'ifconfig: BRDGADD %s: Invalid argument\n' % member
            ifs[name]['members'].insert(0, member)
            ifs[member]['up'] = ifs[member]['up']
            return 0, '', ''
        if op == 'deletem':
            member = args[2]
            if member not in ifs[name]['members']:
                return 1, '', 'ifconfig: BRDGDEL %s: No such file or directory\n' % member
            ifs[name]['members'].remove(member)
            return 0, '', ''
        raise AssertionError('ifconfig %s' % args)
