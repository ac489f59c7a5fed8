# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The wifibox VM: its description, validation, configuration file and bhyve argv.

This is the only place that knows the bhyve and grub-bhyve command lines
(WIFIBOX.md section 1, FREEBSD.md section 6).  The vm module, the laptop-side
program (``wifibox-bhyve``, which imports this file from
/usr/local/libexec/wifibox-bhyve) and the tests all call it.  Plain Python
(no Ansible imports) so that it runs on the laptop without Ansible.
"""

from __future__ import annotations

import os
import re

from ansible_collections.wifibox.bhyve.plugins.module_utils import constants as C

BOOT_METHODS = ('uefi', 'grub')
NIC_MODELS = ('e1000', 'virtio-net')
RECOVERY_METHODS = ('restart_vmm', 'suspend_guest', 'suspend_vmm', 'none')
LOG_LEVELS = ('error', 'warn', 'info', 'debug')

# key -> (type, default); the order is the order of the configuration file.
FIELDS = (
    ('cpus', int, 1),
    ('memory', str, '128M'),
    ('passthru', list, []),
    ('boot', str, 'uefi'),
    ('nic', str, 'e1000'),
    ('bridge', str, C.BRIDGE_NAME),
    ('tap', str, C.TAP_NAME),
    ('console', bool, False),
    ('priority', int, 50),
    ('stop_wait', int, 10),
    ('recovery', str, 'restart_vmm'),
    ('resume_wait', int, 30),
    ('restart_delay', int, 5),
    ('crash_limit', int, 5),
    ('crash_window', int, 120),
    ('loglevel', str, 'info'),
    ('guest_role', str, 'client'),
)
DEFAULTS = dict((key, default) for key, _type, default in FIELDS)

_MEMORY = re.compile(r'^([1-9][0-9]*)([KkMmGgTt]?)$')
_PASSTHRU = re.compile(r'^([0-9]{1,3})/([0-9]{1,3})/([0-9]{1,3})$')
_IFNAME = re.compile(r'^[A-Za-z][A-Za-z0-9_.]{0,14}$')
_TAP = re.compile(r'^tap[0-9]+$')
_MB = {'K': 1.0 / 1024, 'M': 1, 'G': 1024, 'T': 1024 * 1024}


class VMConfigError(ValueError):
    """A VM setting is wrong; the message names the setting and the fix."""


def parse_memory(text):
    """bhyve -m syntax (digits, optional K/M/G/T; a bare number is MB) -> MiB (int)."""
    match = _MEMORY.match(str(text).strip())
    if not match:
        raise VMConfigError(
            'memory=%r is not a memory size: write digits with an optional K, M, G or T suffix, e.g. 128M or 1G'
            % (text,))
    number, unit = int(match.group(1)), (match.group(2) or 'M').upper()
    mib = number * _MB[unit]
    if mib < C.VM_MIN_MEMORY_MB:
        raise VMConfigError('memory=%s is %s MiB: a Linux guest needs at least %d MiB, e.g. memory=128M'
                            % (text, _mib_text(mib), C.VM_MIN_MEMORY_MB))
    if mib != int(mib):
        raise VMConfigError('memory=%s is not a whole number of MiB: use M, e.g. memory=128M' % text)
    return int(mib)


def _mib_text(mib):
    return ('%d' % mib) if mib == int(mib) else ('%.3f' % mib)


def format_memory(mib):
    return '%dM' % mib


def nice_from_priority(priority):
    """net/wifibox's mapping of priority 0..99 to nice -20..+20 (50 -> 0), integer arithmetic."""
    return priority * 40 // 99 - 20


def parse_passthru(text):
    """'3/0/0' -> (3, 0, 0); bus/slot/function as in pptdevs and pciconf's pci0:B:S:F."""
    match = _PASSTHRU.match(str(text).strip())
    if not match:
        raise VMConfigError(
            'passthru entry %r is not bus/slot/function: write it as pptdevs does, e.g. 3/0/0 for pci0:3:0:0'
            % (text,))
    bus, slot, function = (int(x) for x in match.groups())
    if bus > 255 or slot > 31 or function > 7:
        raise VMConfigError('passthru entry %r is out of range: bus 0-255, slot 0-31, function 0-7' % (text,))
    return bus, slot, function


def devctl_name(pptdev):
    """'3/0/0' -> 'pci3:0:0' (the form devctl(8) takes)."""
    return 'pci%d:%d:%d' % parse_passthru(pptdev)


def pciconf_selector(pptdev):
    """'3/0/0' -> 'pci0:3:0:0' (the form pciconf(8) prints)."""
    return 'pci0:%d:%d:%d' % parse_passthru(pptdev)


def _as_bool(key, value):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ('yes', 'true', 'on', '1'):
        return True
    if text in ('no', 'false', 'off', '0'):
        return False
    raise VMConfigError('%s=%r is not yes or no' % (key, value))


def _as_int(key, value):
    if isinstance(value, bool):
        raise VMConfigError('%s=%r is not a whole number' % (key, value))
    try:
        return int(str(value).strip())
    except ValueError:
        raise VMConfigError('%s=%r is not a whole number' % (key, value))


def _in_range(key, value, low, high, hint):
    if not low <= value <= high:
        raise VMConfigError('%s=%d is out of range: use %d to %d (%s)' % (key, value, low, high, hint))


def normalise(settings):
    """Defaults filled in, types converted and every value checked.

    Raises VMConfigError naming the first wrong setting and how to fix it.
    Returns a new dict with exactly the keys of FIELDS.
    """
    unknown = sorted(set(settings) - set(DEFAULTS))
    if unknown:
        raise VMConfigError('unknown VM setting(s) %s: the settings are %s'
                            % (', '.join(unknown), ', '.join(DEFAULTS)))
    vm = {}
    for key, kind, default in FIELDS:
        value = settings.get(key)
        if value is None:
            value = default
        if kind is int:
            value = _as_int(key, value)
        elif kind is bool:
            value = _as_bool(key, value)
        elif kind is list:
            value = value.split() if isinstance(value, str) else [str(v).strip() for v in value]
        else:
            value = str(value).strip()
        vm[key] = value
    parse_memory(vm['memory'])
    vm['memory'] = vm['memory'].upper() if vm['memory'][-1:].isalpha() else vm['memory'] + 'M'
    if not vm['passthru']:
        raise VMConfigError('passthru is empty: name the Wi-Fi card as bus/slot/function, e.g. passthru=[3/0/0] '
                            '(pci_info or `pciconf -l` shows it as pci0:3:0:0)')
    seen = set()
    for entry in vm['passthru']:
        parsed = parse_passthru(entry)
        if parsed in seen:
            raise VMConfigError('passthru lists %s twice: list each device once' % entry)
        seen.add(parsed)
    vm['passthru'] = ['%d/%d/%d' % parse_passthru(entry) for entry in vm['passthru']]
    _in_range('cpus', vm['cpus'], 1, C.VM_MAX_CPUS, 'the host may allow fewer: sysctl hw.vmm.maxcpu')
    _in_range('priority', vm['priority'], 0, 99, '50 runs bhyve at nice 0, 0 at nice -20, 99 at nice 20')
    _in_range('stop_wait', vm['stop_wait'], 1, 60, 'seconds the guest gets to power off')
    _in_range('resume_wait', vm['resume_wait'], 1, 600, 'seconds the guest gets to come back after resume')
    _in_range('restart_delay', vm['restart_delay'], 1, 3600, 'seconds between a crash and the next start')
    _in_range('crash_limit', vm['crash_limit'], 1, 1000, 'crashes within crash_window that stop supervision')
    _in_range('crash_window', vm['crash_window'], 1, 86400, 'seconds')
    for key, choices in (('boot', BOOT_METHODS), ('nic', NIC_MODELS), ('recovery', RECOVERY_METHODS),
                         ('loglevel', LOG_LEVELS), ('guest_role', C.GUEST_ROLES)):
        if vm[key] not in choices:
            raise VMConfigError('%s=%r is not one of %s' % (key, vm[key], ', '.join(choices)))
    if not _IFNAME.match(vm['bridge']):
        raise VMConfigError('bridge=%r is not an interface name (a letter, then up to 14 letters, digits, _ or .)'
                            % vm['bridge'])
    if not _TAP.match(vm['tap']):
        raise VMConfigError('tap=%r is not a tap interface: use tapN, e.g. tap0' % vm['tap'])
    return vm


# --- the configuration file -------------------------------------------------------
# One `key="value"` per line (sh-compatible, like net/wifibox's bhyve.conf), '#'
# comments.  Values never contain quotes, backslashes or `$`: normalise() refuses
# anything else, and the reader refuses lines that are not of this form.

_CONF_LINE = re.compile(r'^([a-z_]+)="([^"\\$`]*)"$')


def format_config(vm):
    """The text of the VM configuration file for a normalised VM."""
    lines = ['# wifibox-bhyve VM configuration, written by the wifibox.bhyve.vm module.',
             '# Read by %s (the boot service); change it with the module.' % C.WIFIBOX_BHYVE_COMMAND]
    for key, kind, _default in FIELDS:
        value = vm[key]
        if kind is bool:
            value = 'yes' if value else 'no'
        elif kind is list:
            value = ' '.join(value)
        lines.append('%s="%s"' % (key, value))
    return '\n'.join(lines) + '\n'


def parse_config(text, source='vm.conf'):
    """Text of the configuration file -> normalised VM; VMConfigError names the line."""
    settings = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith('#'):
            continue
        match = _CONF_LINE.match(line)
        if not match:
            raise VMConfigError('%s line %d: %r is not key="value"; rewrite the file with the wifibox.bhyve.vm module'
                                % (source, number, raw))
        settings[match.group(1)] = match.group(2)
    try:
        return normalise(settings)
    except VMConfigError as exc:
        raise VMConfigError('%s: %s' % (source, exc))


def read_config(path=None):
    path = path or C.VM_CONF
    with open(path) as handle:
        return parse_config(handle.read(), path)


# --- paths that depend on the boot method ----------------------------------------------

def image_paths(vm, guest_root=None):
    """The guest files bhyve (or grub-bhyve) opens, by boot method."""
    guest_root = guest_root or C.GUEST_ROOT
    if vm['boot'] == 'uefi':
        return [os.path.join(guest_root, name) for name in C.UEFI_IMAGES]
    return [os.path.join(guest_root, name) for name in C.GRUB_IMAGES]


def firmware_path(vm):
    """The file that boots the guest: the UEFI ROM, or grub-bhyve for the grub layout."""
    return C.UEFI_FIRMWARE if vm['boot'] == 'uefi' else C.GRUB_BHYVE


# --- the command lines -----------------------------------------------------------------

def app_config_dir(vm=None):
    """The directory (under the configuration dir) the app_config share passes: the guest
    build's application, wpa_supplicant/ for the client build, hostapd/ for the access point."""
    return C.APP_CONFIG_DIRS[(vm or {}).get('guest_role') or 'client']


def app_config_mode(conf_dir=None, exists=os.path.isdir, readable=os.path.isfile, vm=None):
    """How the optional app_config share is passed: None (absent), 'ro' or 'rw'.

    As net/wifibox: read-write only when the guest forwards sockets
    (appliance/uds_passthru.conf), so wpa_supplicant's (or hostapd's) control socket can be
    created.  The directory is app_config_dir(vm).
    """
    conf_dir = conf_dir or C.WIFIBOX_BHYVE_CONF_DIR
    if not exists(os.path.join(conf_dir, app_config_dir(vm))):
        return None
    return 'rw' if readable(os.path.join(conf_dir, C.APPLIANCE_DIR, C.UDS_PASSTHRU_CONF)) else 'ro'


def bhyve_argv(vm, app_config=None, name=C.VM_NAME, guest_root=C.GUEST_ROOT,
               conf_dir=C.WIFIBOX_BHYVE_CONF_DIR, run_dir=C.WIFIBOX_BHYVE_RUN_DIR):
    """The exact bhyve(8) argv (without nice) for a normalised VM.

    UEFI: bootrom + esp.img (4:0) + root.img (4:1), shares at 4:2.. ; grub:
    disk.img (4:0), shares at 4:1.. (the VM was created by grub-bhyve first).
    Shares: config (read-only), var (read-write), optional app_config.  NIC at
    5:0, pass-through devices at 6:0, 6:1, ...
    """
    argv = [C.BHYVE, '-c', str(vm['cpus']), '-m', vm['memory'], '-A', '-H', '-P', '-S', '-u', '-w']
    if vm['console']:
        argv += ['-l', 'com1,' + C.NMDM_HOST_SIDE]
    argv += ['-s', '0,hostbridge', '-s', '31,lpc']
    disks = image_paths(vm, guest_root)
    if vm['boot'] == 'uefi':
        argv += ['-l', 'bootrom,' + C.UEFI_FIRMWARE]
    function = 0
    for disk in disks:
        if disk.endswith('.img'):
            argv += ['-s', '4:%d,virtio-blk,%s' % (function, disk)]
            function += 1
    shares = [('config', os.path.join(conf_dir, C.APPLIANCE_DIR), True),
              ('var', os.path.join(run_dir, C.APPLIANCE_DIR), False)]
    if app_config:
        shares.append(('app_config', os.path.join(conf_dir, app_config_dir(vm)), app_config == 'ro'))
    for share, path, read_only in shares:
        argv += ['-s', '4:%d,virtio-9p,%s=%s%s' % (function, share, path, ',ro' if read_only else '')]
        function += 1
    argv += ['-s', '5:0,%s,%s' % (vm['nic'], vm['tap'])]
    for index, device in enumerate(vm['passthru']):
        argv += ['-s', '6:%d,passthru,%s' % (index, device)]
    argv.append(name)
    return argv


def grub_argv(vm, name=C.VM_NAME, guest_root=C.GUEST_ROOT):
    """grub-bhyve argv that creates the VM and loads the kernel (grub layout only), else None.

    -S and -M must match bhyve's -S and -m (FREEBSD.md section 6); grub.cfg in
    guest_root says what to boot from the host's files (device ``host``).
    """
    if vm['boot'] != 'grub':
        return None
    argv = [C.GRUB_BHYVE, '-S', '-M', vm['memory'], '-r', 'host']
    if vm['console']:
        argv += ['-c', C.NMDM_HOST_SIDE]
    argv += ['-d', guest_root, name]
    return argv


def command_argv(vm, app_config=None, **kwargs):
    """The argv the service runs: bhyve under nice(1) with the priority's nice value."""
    return [C.NICE, '-n', str(nice_from_priority(vm['priority']))] + bhyve_argv(vm, app_config, **kwargs)
