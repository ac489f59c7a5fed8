#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: net_wifibox_info
short_description: Read a net/wifibox installation (the original wifibox) for migration, read-only
version_added: 0.1.0
description:
  - Reads everything of net/wifibox (wifibox-core and wifibox-alpine) a migration to wifibox.bhyve needs, in one
    call, and changes nothing.
  - C(/usr/local/etc/wifibox/bhyve.conf) (cpus, memory, passthru, console, priority, stop_wait_max), the
    wpa_supplicant build's C(wpa_supplicant/wpa_supplicant.conf) (every C(network={}) block, as
    wifibox_guest_networks items), the recovery method built into C(rc.d/wifibox), the boot generation (UEFI or
    grub-bhyve), C(wifibox_enable) and C(wifibox_env) in rc.conf, whether the service runs, and the devd rules that
    run it.
  - Whatever cannot be carried over exactly is listed in RV(problems) with its file and line, for the caller to
    refuse the migration.
  - The result holds the Wi-Fi passphrases of the networks it read; run it with C(no_log) set.
author:
  - wifibox.bhyve developers (@wifibox-bhyve)
extends_documentation_fragment:
  - wifibox.bhyve.attributes
  - wifibox.bhyve.attributes.info_module
options: {}
notes:
  - The access-point (hostapd) build, EAP-TLS networks and networks that reference certificate files, extra
    passthru devices, custom bhyve.conf lines, edited appliance/ files and devd rules mixed into other files are
    reported as problems.
seealso:
  - module: wifibox.bhyve.host_facts
"""

EXAMPLES = r"""
- name: Read the original wifibox's configuration
  wifibox.bhyve.net_wifibox_info:
  register: legacy
  no_log: true

- name: Refuse what cannot be carried over
  ansible.builtin.assert:
    that: legacy.problems | length == 0
    fail_msg: "{{ legacy.problems | join('; ') }}"
"""

RETURN = r"""
installed:
  description: net/wifibox's bhyve.conf or its rc.d script exists (the guest package wifibox-alpine alone does not count).
  returned: always
  type: bool
enabled:
  description: rc.conf sets wifibox_enable to YES.
  returned: always
  type: bool
running:
  description: C(service wifibox onestatus) says the original runs.
  returned: always
  type: bool
settings:
  description: What maps onto the vm module (cpus, memory in MiB, passthru, console, priority, stop_wait, boot,
    recovery, nic).
  returned: when installed
  type: dict
networks:
  description: The wpa_supplicant.conf network blocks as wifibox_guest_networks items (with their secrets).
  returned: when installed
  type: list
  elements: dict
country:
  description: wpa_supplicant.conf's country, empty when it sets none.
  returned: when installed
  type: str
devd_files:
  description: devd files that only hold the original's rules (its shim), to take out of devd's directories.
  returned: always
  type: list
  elements: str
backup_paths:
  description: The original's files that exist (configuration, rc.conf, loader.conf, devd files), for a backup.
  returned: always
  type: list
  elements: str
rc_conf:
  description: The original's rc.conf variables as set (wifibox_enable, wifibox_env), None when unset.
  returned: always
  type: dict
problems:
  description: What cannot be carried over, each as C(FILE:LINE) then the reason.
  returned: always
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.wifibox.bhyve.plugins.module_utils import constants as C
from ansible_collections.wifibox.bhyve.plugins.module_utils import netwifibox as W


def read_text(path):
    try:
        with open(path, 'r') as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return None


def rc_conf_values():
    """wifibox_enable and wifibox_env as rc.conf and rc.conf.local (read after it) set them."""
    enable, env = None, None
    for path in (C.RC_CONF, C.RC_CONF_LOCAL):
        text = read_text(path)
        if text is None:
            continue
        value, extra = W.read_rc_conf(text)
        enable = value if value is not None else enable
        env = extra if extra is not None else env
    return enable, env


def devd_rules():
    """(files that are the original's shim, problems for rules of the original mixed into other files)."""
    shims, problems = [], []
    candidates = [W.DEVD_CONF]
    for folder in W.DEVD_DIRS:
        try:
            candidates += [os.path.join(folder, name) for name in sorted(os.listdir(folder))
                           if name.endswith('.conf') and name not in W.OWN_DEVD_FILES]
        except OSError:
            pass
    for path in candidates:
        text = read_text(path)
        if text is None:
            continue
        lines = W.devd_references(text)
        if not lines:
            continue
        if os.path.basename(path) == W.DEVD_SHIM and os.path.dirname(path) in W.DEVD_DIRS:
            shims.append(path)
        else:
            problems += ['%s:%d: a devd rule runs the original wifibox; wifibox.bhyve handles suspend/resume '
                         'itself, so remove this rule (or the file) by hand, then run again' % (path, number)
                         for number in lines]
    return shims, problems


def running(module):
    if not os.path.exists(W.RC_SCRIPT):
        return False
    rc, _out, _err = module.run_command(['service', W.SERVICE, 'onestatus'])
    return rc == 0


def read_installation(module):
    result = dict(installed=os.path.exists(W.BHYVE_CONF) or os.path.exists(W.RC_SCRIPT), settings={}, networks=[],
                  country='', problems=[])
    enable, env = rc_conf_values()
    result['rc_conf'] = {W.RCVAR: enable, 'wifibox_env': env}
    result['enabled'] = W.is_yes(enable)
    result['devd_files'], devd_problems = devd_rules()
    result['running'] = running(module)
    result['backup_paths'] = [path for path in (W.CONFDIR, C.RC_CONF, C.RC_CONF_LOCAL, C.LOADER_CONF)
                              + tuple(result['devd_files']) if os.path.exists(path)]
    if not result['installed']:
        return result
    problems = []
    text = read_text(W.BHYVE_CONF)
    if text is None:
        problems.append((W.BHYVE_CONF, None, 'missing or unreadable: the original cannot run without it, so there '
                         'is nothing to carry over; fix it or remove %s' % W.CONFDIR))
        settings = {}
    else:
        settings, found = W.read_bhyve_conf(text)
        problems += found
    settings['boot'] = W.boot_method(read_text(W.COMMAND), _listdir(W.GUEST_ROOT))
    settings['recovery'] = W.recovery_method(read_text(W.RC_SCRIPT))
    # net/wifibox always emulates an e1000 NIC (WIFIBOX.md section 1).
    settings['nic'] = 'e1000'
    result['settings'] = settings
    app_config = os.path.basename(os.path.realpath(W.APP_CONFIG_LINK)) if os.path.lexists(W.APP_CONFIG_LINK) \
        else 'wpa_supplicant'
    if app_config == 'hostapd' or (not os.path.exists(W.WPA_SUPPLICANT_CONF) and os.path.exists(W.HOSTAPD_CONF)):
        problems.append((W.APP_CONFIG_LINK, None, 'the access-point (hostapd) build cannot be migrated; configure '
                         'wifibox_guest_role: access_point in the inventory and remove net/wifibox by hand'))
    else:
        text = read_text(W.WPA_SUPPLICANT_CONF)
        if text is None:
            problems.append((W.WPA_SUPPLICANT_CONF, None, 'missing or unreadable: the networks cannot be read'))
        else:
            wpa, found = W.read_wpa_supplicant_conf(text)
            problems += found
            result['networks'] = wpa['networks']
            result['country'] = wpa.get('country', '')
    for path in W.customised_samples(W.APPLIANCE_DIR):
        problems.append((path, None, 'differs from %s.sample: the guest configuration is rendered by '
                         'wifibox_guest, so edits to it cannot be carried over; set the matching wifibox_guest '
                         'variables, then restore the sample (cp %s.sample %s)' % (path, path, path)))
    if env:
        problems.append((C.RC_CONF, None, 'wifibox_env=%r changes the original\'s tool paths (e.g. VMM_KO); '
                         'wifibox.bhyve loads vmm from the loader and has no such setting: remove the line' % env))
    result['problems'] = ['%s%s: %s' % (path, (':%d' % line) if line else '', reason)
                          for path, line, reason in problems] + devd_problems
    return result


def _listdir(path):
    try:
        return os.listdir(path)
    except OSError:
        return []


def main():
    module = AnsibleModule(argument_spec=dict(), supports_check_mode=True)
    result = read_installation(module)
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
