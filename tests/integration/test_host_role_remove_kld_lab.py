# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/remove.yml unloads vmm, nmdm and if_bridge, which the wifibox loaded, but only what
nothing else uses: another bhyve VM keeps vmm, another bridge keeps if_bridge, each with a
message, and the removal still succeeds.  (The molecule scenario `remove` checks the whole
removal of a laptop set up by laptop.yml, where all three are unloaded; here the laptop carries
only what remove reads: the role's host.json and the loaded modules.)  Needs root."""

import json
import os
import subprocess

import pytest

pytestmark = pytest.mark.lab

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(ROOT, '.venv', 'bin', 'ansible-playbook')
STATE = {'card': 'pci0:3:0:0', 'pptdev': '3/0/0', 'native_driver': 'iwm0', 'native_module': 'if_iwm',
         'kernel_modules': ['nmdm', 'if_bridge'], 'amd': False}


def remove(laptop):
    laptop.write_file('/usr/local/etc/wifibox-bhyve/host.json', json.dumps(STATE) + '\n')
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1')
    proc = subprocess.run([PLAYBOOK, '-i', laptop.inventory_path, 'wifibox.bhyve.remove'], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-5000:]
    return proc.stdout


def loaded(laptop, name):
    return laptop.ssh('kldstat', '-q', '-n', name).returncode == 0


def test_remove_unloads_only_what_nothing_else_uses(lab_laptop):
    lp = lab_laptop
    assert lp.ssh('kldload', '-n', 'vmm', 'nmdm', 'if_bridge').returncode == 0
    assert lp.ssh('bhyvectl', '--vm=other', '--create').returncode == 0
    assert lp.ssh('ifconfig', 'bridge9', 'create').returncode == 0
    try:
        out = remove(lp)
        assert loaded(lp, 'vmm') and loaded(lp, 'if_bridge') and not loaded(lp, 'nmdm'), out
        assert 'left loaded until you unload them or reboot: cannot unload vmm: virtual machines still exist ' \
               '(other in /dev/vmm)' in out, out
        assert 'cannot unload if_bridge: unloading it destroys every bridge, and bridge9 exist(s)' in out, out
    finally:
        lp.ssh('bhyvectl', '--vm=other', '--destroy')
        lp.ssh('ifconfig', 'bridge9', 'destroy')
