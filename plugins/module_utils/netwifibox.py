# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""net/wifibox, the original: its paths, and readers of its configuration for migration.

Written from net/wifibox's documented layout (WIFIBOX.md sections 0-3 and 7): bhyve.conf
(sourced as sh), the appliance/ directory of @sample files, wpa_supplicant.conf or the
hostapd build, rc.d/wifibox (rcvar wifibox_enable, its recovery method built in), its devd
shim and what users add to rc.conf.  Everything here only reads; the role acts on the result.

Each reader returns what maps onto wifibox.bhyve and a list of refusals
``(path, line number or None, reason)``: anything that cannot be carried over exactly.
"""

from __future__ import annotations

import os
import re

from ansible_collections.wifibox.bhyve.plugins.module_utils import conffile

PREFIX = '/usr/local'
CONFDIR = PREFIX + '/etc/wifibox'
BHYVE_CONF = CONFDIR + '/bhyve.conf'
CORE_CONF = CONFDIR + '/core.conf'
APPLIANCE_DIR = CONFDIR + '/appliance'
APP_CONFIG_LINK = CONFDIR + '/app_config'
WPA_SUPPLICANT_CONF = CONFDIR + '/wpa_supplicant/wpa_supplicant.conf'
HOSTAPD_CONF = CONFDIR + '/hostapd/hostapd.conf'
RC_SCRIPT = PREFIX + '/etc/rc.d/wifibox'
COMMAND = PREFIX + '/sbin/wifibox'
LOG = '/var/log/wifibox.log'
RCVAR = 'wifibox_enable'
SERVICE = 'wifibox'
GUEST_ROOT = PREFIX + '/share/wifibox'
# Where devd(8) reads rule files (devd.conf(5): the directory directives of /etc/devd.conf).
DEVD_DIRS = ('/etc/devd', PREFIX + '/etc/devd')
DEVD_CONF = '/etc/devd.conf'
# The shim the port installs as wifibox.conf.sample, which users copy to wifibox.conf.
DEVD_SHIM = 'wifibox.conf'
# Our own devd file is not the original's, though its name starts the same way.
OWN_DEVD_FILES = ('wifibox-bhyve.conf',)

# bhyve.conf keys, their built-in defaults (sbin/wifibox) and what they map to.
BHYVE_DEFAULTS = dict(cpus='1', memory='128M', passthru='', console='no', priority='50', stop_wait_max='10')
_MEMORY = re.compile(r'^([0-9]+)([KkMmGgTt]?)$')
_PASSTHRU = re.compile(r'^[0-9]{1,3}/[0-9]{1,3}/[0-9]{1,3}$')
_RECOVERY = (('restart vmm', 'restart_vmm'), ('start guest', 'suspend_guest'), ('start vmm', 'suspend_vmm'))

# wpa_supplicant.conf: global options the new configuration writes itself (or can ignore
# without changing what the guest does), and the network options it can render.
WPA_GLOBALS = frozenset(['ctrl_interface', 'ctrl_interface_group', 'update_config', 'country', 'ap_scan',
                         'eapol_version', 'fast_reauth'])
WPA_NETWORK_OPTIONS = frozenset(['ssid', 'scan_ssid', 'bssid', 'priority', 'psk', 'sae_password', 'key_mgmt',
                                 'proto', 'ieee80211w', 'eap', 'identity', 'anonymous_identity', 'password',
                                 'phase2', 'domain_suffix_match', 'scan_freq', 'freq_list'])
_KEY_MGMT = {'WPA-PSK': 'wpa2_psk', 'SAE': 'wpa3_sae', 'WPA-PSK SAE': 'wpa2_wpa3', 'SAE WPA-PSK': 'wpa2_wpa3',
             'NONE': 'open', 'WPA-EAP': 'wpa2_eap'}
_EAP = {'PEAP': 'peap', 'TTLS': 'ttls', 'TLS': 'tls'}
# Network options that hold secrets: never in a refusal message.
WPA_SECRETS = frozenset(['psk', 'sae_password', 'password', 'private_key_passwd', 'wep_key0', 'wep_key1',
                         'wep_key2', 'wep_key3'])


def memory_mib(value):
    """bhyve.conf's memory (digits plus optional K/M/G/T, as bhyve -m) in MiB, or None."""
    match = _MEMORY.match(value)
    if not match:
        return None
    number, unit = int(match.group(1)), match.group(2).upper()
    factor = {'': 1.0 / (1024 * 1024), 'K': 1.0 / 1024, 'M': 1, 'G': 1024, 'T': 1024 * 1024}[unit]
    mib = number * factor
    return int(mib) if mib == int(mib) and mib >= 1 else None


def read_bhyve_conf(text, path=BHYVE_CONF):
    """bhyve.conf -> (settings for the vm module, refusals)."""
    refusals = []
    try:
        conf = conffile.ConfFile(text, conffile.RC)
    except conffile.ConfSyntaxError as exc:
        return {}, [(path, exc.lineno, 'cannot read this line (%s): the original sources the file as sh; '
                     'fix or remove the line' % exc.reason)]
    values = dict(BHYVE_DEFAULTS)
    for item in conf.assignments:
        line = item.start + 1
        if item.name not in BHYVE_DEFAULTS:
            refusals.append((path, line, '%s is not a setting of net/wifibox\'s bhyve.conf and has no counterpart '
                             'here (a custom bhyve argument or script code cannot be carried over); remove it'
                             % item.name))
        elif item.expands:
            refusals.append((path, line, '%s uses shell expansion ($ or `); write the value itself' % item.name))
        else:
            values[item.name] = item.value
    settings = {}
    for key, check in (('cpus', lambda v: v.isdigit() and 1 <= int(v) <= 16),
                       ('priority', lambda v: v.isdigit() and 0 <= int(v) <= 99),
                       ('stop_wait_max', lambda v: v.isdigit() and 1 <= int(v) <= 60)):
        if check(values[key]):
            settings[key] = int(values[key])
        else:
            refusals.append((path, _line_of(conf, key), '%s=%r is not valid (net/wifibox refuses it too)'
                             % (key, values[key])))
    if settings.get('priority', 50) != 50:
        refusals.append((path, _line_of(conf, 'priority'), 'priority=%s: wifibox.bhyve runs bhyve at the default '
                         'priority (50, nice 0); remove the line to accept that' % values['priority']))
    settings['memory'] = memory_mib(values['memory'])
    if settings['memory'] is None:
        refusals.append((path, _line_of(conf, 'memory'), 'memory=%r is not a size such as 128M or 1G'
                         % values['memory']))
    passthru = values['passthru'].split()
    bad = [item for item in passthru if not _PASSTHRU.match(item)]
    if bad or not passthru:
        refusals.append((path, _line_of(conf, 'passthru'), 'passthru=%r must name the Wi-Fi card as bus/slot/function '
                         '(for example 3/0/0)' % values['passthru']))
    elif len(passthru) > 1:
        refusals.append((path, _line_of(conf, 'passthru'), 'passthru passes %d devices (%s); wifibox.bhyve passes one '
                         'Wi-Fi card: remove the extra devices (for example an xHCI controller) first'
                         % (len(passthru), ' '.join(passthru))))
    settings['passthru'] = passthru
    if values['console'] not in ('yes', 'no'):
        refusals.append((path, _line_of(conf, 'console'), 'console=%r must be yes or no' % values['console']))
    settings['console'] = values['console'] == 'yes'
    return settings, refusals


def _line_of(conf, name):
    found = conf.last(name)
    return found.start + 1 if found else None


def boot_method(script_text, guest_root_files):
    """uefi or grub: the generation of net/wifibox that is installed (WIFIBOX.md, two generations)."""
    if script_text is not None:
        if 'grub-bhyve' in script_text:
            return 'grub'
        if 'bootrom' in script_text:
            return 'uefi'
    return 'uefi' if 'esp.img' in guest_root_files or 'disk.img' not in guest_root_files else 'grub'


def recovery_method(rc_text):
    """The recovery method built into rc.d/wifibox (port option RECOVER_*), from its resume command."""
    match = re.search(r'^\s*resume_cmd\s*=\s*["\']?([^"\'\n]*)', rc_text or '', re.M)
    resume = match.group(1) if match else ''
    for words, method in _RECOVERY:
        if words in resume:
            return method
    return 'none'


def _wpa_blocks(text, path):
    """wpa_supplicant.conf -> (globals {name: (line, value)}, [network blocks], refusals)."""
    globals_, blocks, refusals = {}, [], []
    current = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith('#'):
            continue
        if current is None:
            if re.match(r'^network\s*=\s*\{$', line):
                current = dict(line=number, options={})
                continue
            name, sep, value = line.partition('=')
            if not sep:
                refusals.append((path, number, 'not a name=value line or a network={ block'))
            else:
                globals_[name.strip()] = (number, value.strip())
            continue
        if line == '}':
            blocks.append(current)
            current = None
            continue
        name, sep, value = line.partition('=')
        if not sep:
            refusals.append((path, number, 'not a name=value line inside the network block'))
            continue
        current['options'][name.strip()] = (number, value.strip())
    if current is not None:
        refusals.append((path, current['line'], 'the network block is not closed with }'))
    return globals_, blocks, refusals


def _wpa_string(value):
    """A wpa_supplicant string: "quoted" text, or hex bytes (decoded as UTF-8). None when neither."""
    if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        return value[1:-1]
    if value and re.match(r'^([0-9a-fA-F]{2})+$', value):
        try:
            return bytes.fromhex(value).decode('utf-8')
        except UnicodeDecodeError:
            return None
    return None


def _network(block, path):
    """One network={} block -> (a wifibox_guest_networks item, refusals)."""
    options = block['options']
    refusals = []
    where = 'network block at line %d' % block['line']
    for name, (number, _value) in sorted(options.items(), key=lambda item: item[1][0]):
        if name not in WPA_NETWORK_OPTIONS:
            refusals.append((path, number, '%s: option %s has no counterpart in wifibox_guest_networks; remove it or '
                             'configure this network in the inventory' % (where, name)))
    if refusals:
        return None, refusals

    def text(name):
        return _wpa_string(options[name][1]) if name in options else None

    ssid = text('ssid')
    if not ssid:
        return None, [(path, block['line'], '%s has no readable ssid' % where)]
    key_mgmt = ' '.join(options['key_mgmt'][1].split()) if 'key_mgmt' in options else None
    if key_mgmt is None:
        key_mgmt = 'WPA-PSK' if 'psk' in options else None
    security = _KEY_MGMT.get(key_mgmt)
    if security is None:
        return None, [(path, options['key_mgmt'][0] if 'key_mgmt' in options else block['line'],
                       '%s (ssid %s): key_mgmt=%s is not one of %s'
                       % (where, ssid, key_mgmt, ', '.join(sorted(_KEY_MGMT))))]
    proto = options.get('proto', (None, 'RSN'))
    if 'RSN' not in proto[1].split() and 'WPA2' not in proto[1].split():
        return None, [(path, proto[0], '%s (ssid %s): proto=%s (WPA1 without RSN) cannot be rendered; the new '
                       'configuration uses RSN (WPA2)' % (where, ssid, proto[1]))]
    net = dict(ssid=ssid, security=security)
    if 'scan_ssid' in options and options['scan_ssid'][1] == '1':
        net['hidden'] = True
    if 'bssid' in options:
        net['bssid'] = options['bssid'][1]
    if 'priority' in options:
        if not options['priority'][1].lstrip('-').isdigit():
            return None, [(path, options['priority'][0], '%s: priority must be a number' % where)]
        net['priority'] = int(options['priority'][1])
    freqs = options.get('freq_list') or options.get('scan_freq')
    if freqs:
        if not all(f.isdigit() for f in freqs[1].split()):
            return None, [(path, freqs[0], '%s: the frequency list must be numbers (MHz)' % where)]
        net['frequencies'] = [int(f) for f in freqs[1].split()]
    if security in ('wpa2_psk', 'wpa2_wpa3', 'wpa3_sae'):
        secret = options.get('psk') or options.get('sae_password')
        value = None
        if secret:
            raw = secret[1]
            value = raw if re.match(r'^[0-9a-fA-F]{64}$', raw) and security == 'wpa2_psk' else _wpa_string(raw)
            if value is not None and re.match(r'^[0-9a-fA-F]{64}$', value) and raw == value and \
                    security != 'wpa2_psk':
                value = None
        if not value:
            return None, [(path, secret[0] if secret else block['line'],
                           '%s (ssid %s): no passphrase the new configuration can use (a quoted psk, or a '
                           '64-hex-digit psk for WPA2)' % (where, ssid))]
        if len(value) != 64 and not (8 <= len(value) <= 63 and all(32 <= ord(c) < 127 for c in value)):
            return None, [(path, secret[0], '%s (ssid %s): the passphrase is not 8 to 63 printable ASCII characters'
                           % (where, ssid))]
        net['psk'] = value
    if security == 'wpa2_eap':
        eap = _EAP.get(options.get('eap', (None, ''))[1].upper())
        if eap is None or eap == 'tls':
            return None, [(path, options.get('eap', (block['line'],))[0],
                           '%s (ssid %s): EAP method %s cannot be carried over (PEAP and TTLS without '
                           'certificate files can); configure it in the inventory'
                           % (where, ssid, options.get('eap', (None, 'none'))[1]))]
        net['eap'] = eap
        for name in ('identity', 'anonymous_identity', 'password', 'phase2', 'domain_suffix_match'):
            if name in options:
                value = text(name)
                if value is None:
                    return None, [(path, options[name][0], '%s: %s is not a quoted string' % (where, name))]
                net[name] = value
    return net, []


def read_wpa_supplicant_conf(text, path=WPA_SUPPLICANT_CONF):
    """wpa_supplicant.conf -> ({networks, country, update_config}, refusals)."""
    globals_, blocks, refusals = _wpa_blocks(text, path)
    for name, (number, _value) in sorted(globals_.items(), key=lambda item: item[1][0]):
        if name not in WPA_GLOBALS:
            refusals.append((path, number, 'global option %s has no counterpart in the new configuration; remove it'
                             % name))
    networks = []
    for block in blocks:
        net, problems = _network(block, path)
        refusals.extend(problems)
        if net is not None:
            networks.append(net)
    result = dict(networks=networks)
    if 'country' in globals_:
        result['country'] = globals_['country'][1].strip('"')
    if 'update_config' in globals_:
        result['update_config'] = globals_['update_config'][1] == '1'
    return result, refusals


def read_rc_conf(text):
    """What rc.conf says about the original: (wifibox_enable value or None, wifibox_env value or None)."""
    try:
        conf = conffile.ConfFile(text, conffile.RC)
    except conffile.ConfSyntaxError:
        return None, None
    return conf.get(RCVAR), conf.get('wifibox_env')


def devd_references(text):
    """Line numbers of a devd file that run the original (service wifibox / sbin/wifibox)."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        code = line.split('#', 1)[0]
        if re.search(r'(service\s+wifibox\b(?!-))|(/sbin/wifibox\b(?!-))|(rc\.d/wifibox\b(?!_))', code):
            found.append(number)
    return found


def is_yes(value):
    return (value or '').strip().lower() in ('yes', 'true', 'on', '1')


def customised_samples(appliance_dir):
    """Files of appliance/ that differ from their .sample: the user edited what the renderer writes."""
    changed = []
    try:
        names = sorted(os.listdir(appliance_dir))
    except OSError:
        return changed
    for name in names:
        if not name.endswith('.sample'):
            continue
        target = os.path.join(appliance_dir, name[:-len('.sample')])
        try:
            with open(target, 'rb') as handle:
                mine = handle.read()
            with open(os.path.join(appliance_dir, name), 'rb') as handle:
                sample = handle.read()
        except OSError:
            continue
        if mine != sample:
            changed.append(target)
    return changed
