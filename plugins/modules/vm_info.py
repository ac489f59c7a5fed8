#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: vm_info
short_description: The wifibox bhyve VM's status, read-only
version_added: 0.1.0
description:
  - Reads the VM configuration written by M(wifibox.bhyve.vm) and returns the same O(ignore:status) that module
    returns (which driver holds the card, whether the VM runs, its pid, uptime, restarts and last exit, the bridge
    and tap, the last suspend/resume), with the bhyve argv the service runs. Changes nothing.
author:
  - wifibox.bhyve developers (@wifibox-bhyve)
extends_documentation_fragment:
  - wifibox.bhyve.attributes
  - wifibox.bhyve.attributes.info_module
options: {}
seealso:
  - module: wifibox.bhyve.vm
"""

EXAMPLES = r"""
- name: How is the wifibox?
  wifibox.bhyve.vm_info:
  register: wifibox

- name: Show it
  ansible.builtin.debug:
    msg: "VM running: {{ wifibox.status.running }}, card held by {{ wifibox.status.card_driver }}"
  when: wifibox.installed
"""

RETURN = r"""
installed:
  description: The VM configuration (/usr/local/etc/wifibox-bhyve/vm.conf) exists and is valid.
  returned: always
  type: bool
status:
  description: As M(wifibox.bhyve.vm) returns it.
  returned: when installed
  type: dict
config:
  description: The effective VM configuration.
  returned: when installed
  type: dict
argv:
  description: The command the service runs (nice(1) and bhyve(8)).
  returned: when installed
  type: list
  elements: str
error:
  description: Why the configuration could not be read.
  returned: when the file exists but is not valid
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.wifibox.bhyve.plugins.module_utils import bhyve
from ansible_collections.wifibox.bhyve.plugins.module_utils import constants as C
from ansible_collections.wifibox.bhyve.plugins.module_utils import vmservice
from ansible_collections.wifibox.bhyve.plugins.module_utils.commands import C_LOCALE


def main():
    module = AnsibleModule(argument_spec={}, supports_check_mode=True)
    try:
        vm = bhyve.read_config(C.VM_CONF)
    except (IOError, OSError):
        module.exit_json(changed=False, installed=False)
    except bhyve.VMConfigError as exc:
        module.exit_json(changed=False, installed=False, error=str(exc))
    log = vmservice.Log(None)
    host = vmservice.Host(lambda argv: module.run_command(argv, environ_update=C_LOCALE), log)
    service = vmservice.Service(vm, host, log)
    module.exit_json(changed=False, installed=True, status=service.status(), config=vm,
                     argv=bhyve.command_argv(vm, bhyve.app_config_mode(vm=vm)))


if __name__ == '__main__':
    main()
