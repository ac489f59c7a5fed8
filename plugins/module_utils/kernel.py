# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Ask the running FreeBSD kernel: sysctl(8), kenv(1), kldstat(8) (FREEBSD.md sections 4, 7)."""

from __future__ import annotations

import re

from ansible_collections.wifibox.bhyve.plugins.module_utils.commands import CommandError, run_command

# kldstat rows: "%2d %4d %18p %8zx %s" plus " (path)" with -v.
_KLDSTAT_ROW = re.compile(
    r'^\s*(?P<id>\d+)\s+(?P<refs>\d+)\s+(?P<address>0x[0-9a-fA-F]+)\s+(?P<size>[0-9a-fA-F]+)\s+(?P<name>\S+)'
    r'(?:\s+\((?P<path>[^)]*)\))?\s*$'
)
# kldstat -m rows: "%3d %4d %s".
_KLDSTAT_MODULE_ROW = re.compile(r'^\s*(?P<id>\d+)\s+(?P<refs>\d+)\s+(?P<name>\S+)\s*$')


def parse_kldstat(text):
    """Parse ``kldstat`` (or ``kldstat -n FILE``) output into a list of loaded files.

    Each entry has ``id``, ``refs`` (how many references hold the file: 1 plus
    one per file that depends on it), ``address``, ``size`` (int), ``name``
    (``vmm.ko``), ``module`` (``vmm``) and ``path`` (with ``-v``, else None).
    Header and "Contains modules" lines of ``-v`` are skipped.
    """
    files = []
    for line in text.splitlines():
        match = _KLDSTAT_ROW.match(line)
        if not match:
            continue
        name = match.group('name')
        files.append({
            'id': int(match.group('id')),
            'refs': int(match.group('refs')),
            'address': match.group('address'),
            'size': int(match.group('size'), 16),
            'name': name,
            'module': file_to_module(name),
            'path': match.group('path'),
        })
    return files


def file_to_module(name):
    """``vmm.ko`` and ``/boot/kernel/vmm.ko`` give ``vmm``."""
    base = name.rsplit('/', 1)[-1]
    return base[:-3] if base.endswith('.ko') else base


def _failed(argv, rc, out, err):
    """A command that failed for another reason than "no such thing": the caller must not guess."""
    return CommandError('%s exited with status %d: %s' % (' '.join(argv), rc, err.strip() or out.strip() or 'no message'),
                        argv, rc, out, err)


def read_sysctl(module, name):
    """The value of sysctl ``name`` as a string, or None when the OID does not exist.

    Any other failure (sysctl(8) says "unknown oid" for a missing one) raises CommandError.
    """
    argv = ['sysctl', '-n', name]
    rc, out, err = run_command(module, argv)
    if rc != 0:
        if 'unknown oid' in err or not err.strip():
            return None
        raise _failed(argv, rc, out, err)
    return out.rstrip('\n')


def read_sysctl_int(module, name):
    value = read_sysctl(module, name)
    try:
        return int(value.strip()) if value is not None else None
    except ValueError:
        return None


def read_sysctls(module, names):
    """{name: value as a string, or None when the OID does not exist} for several OIDs in one call.

    ``sysctl -i NAME...`` (-i: unknown OIDs are skipped silently, sysctl(8)) prints ``NAME: VALUE`` per OID
    found. Any other failure raises CommandError.
    """
    argv = ['sysctl', '-i'] + list(names)
    rc, out, err = run_command(module, argv)
    if rc != 0 and err.strip() and 'unknown oid' not in err:
        raise _failed(argv, rc, out, err)
    values = dict.fromkeys(names)
    for line in out.splitlines():
        name, sep, value = line.partition(': ')
        if sep and name in values and values[name] is None:
            values[name] = value
    return values


def read_kenvs(module):
    """The whole kernel environment as {name: value} (``kenv`` prints ``NAME="VALUE"``); {} when it cannot be read."""
    rc, out, dummy = run_command(module, ['kenv'])
    if rc != 0:
        return {}
    values = {}
    for line in out.splitlines():
        name, sep, value = line.partition('=')
        if sep:
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            values[name] = value
    return values


def read_kenv(module, name):
    """The value of kernel environment variable ``name``, or None when it is not set."""
    rc, out, dummy = run_command(module, ['kenv', '-q', name])
    if rc != 0:
        return None
    return out.rstrip('\n')


def file_loaded(module, name):
    """The kldstat entry of the loaded file ``name`` (``vmm`` or ``vmm.ko``), or None."""
    argv = ['kldstat', '-n', name]
    rc, out, err = run_command(module, argv)
    if rc != 0:
        # kldstat(8): "can't find file NAME: No such file or directory" when it is not loaded.
        if "can't find file" in err or 'No such file or directory' in err or not err.strip():
            return None
        raise _failed(argv, rc, out, err)
    files = parse_kldstat(out)
    return files[0] if files else None


def loaded_file_names(module):
    """The names of the loaded files (``vmm.ko``), in the order kldstat lists them (load order)."""
    rc, out, err = run_command(module, ['kldstat'])
    if rc != 0:
        raise _failed(['kldstat'], rc, out, err)
    return [entry['name'] for entry in parse_kldstat(out)]


def journal_load(journal, name, hint=None):
    """Load ``name`` as a Journal step whose undo unloads what the load brought in.

    kldload also loads the files ``name`` depends on (if_bridge.ko brings bridgestp.ko), and
    ifconfig or devd may not unload them with it, so the undo unloads every file that was not
    loaded before, newest first, skipping those the kernel already released.
    """
    # Imported here: journal imports commands, and kernel is imported by modules that do not journal.
    from ansible_collections.wifibox.bhyve.plugins.module_utils.journal import run_command_or_raise
    module = journal.module
    before = loaded_file_names(module)
    brought = []

    def action():
        run_command_or_raise(module, ['kldload', '-n', name], hint)
        try:
            brought.extend(item for item in loaded_file_names(module) if item not in before)
        except CommandError:
            pass
        if not brought:
            brought.append(name + '.ko')

    def undo():
        for item in reversed(brought):
            if file_loaded(module, item) is not None:
                run_command_or_raise(module, ['kldunload', item])
    journal.step('loaded %s' % name, action, undo)


def module_present(module, name):
    """True when kernel module ``name`` is loaded or compiled into the kernel (kldstat -q -m)."""
    argv = ['kldstat', '-q', '-m', name]
    rc, out, err = run_command(module, argv)
    # With -q a module that is not there is exit status 1 and no message; a message is another failure.
    if rc != 0 and err.strip():
        raise _failed(argv, rc, out, err)
    return rc == 0


def module_state(module, name):
    """Where module ``name`` is: 'file' (a loaded .ko), 'kernel' (compiled in) or None.

    Returns (state, kldstat entry or None).  A file name such as ``if_iwm`` may
    hold modules with other names (``iwm``), and ``if_tap`` is compiled into
    GENERIC on 13+, so both the file and the module name are asked.
    """
    entry = file_loaded(module, name)
    if entry is not None:
        return 'file', entry
    if module_present(module, name):
        return 'kernel', None
    return None, None
