# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The reboot question and the status playbook of the wifibox_host role, against lab laptops.

The card goes to ppt(4) at run time (devctl) by default; with that off the role either
stops with what the reboot will change, or reboots the laptop (ansible.builtin.reboot,
which the lab's laptops support) and starts the VM. Needs root.
"""

import json
import os
import re
import subprocess

import pytest

pytestmark = pytest.mark.lab

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(ROOT, '.venv', 'bin', 'ansible-playbook')


def playbook(inventory, name, extra=None):
    argv = [PLAYBOOK, name]
    for path in [inventory] if isinstance(inventory, str) else inventory:
        argv += ['-i', path]
    if extra:
        argv += ['-e', json.dumps(extra)]
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_PIPELINING='true')
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def card_driver(laptop, selector='pci0:3:0:0'):
    return laptop.ssh('pciconf', '-l', selector).stdout.split('@')[0]


def test_no_runtime_bind_and_no_reboot_stops_with_what_is_pending(lab_laptops):
    laptop = lab_laptops('thinkpad-t480')
    rc, output = playbook(laptop.inventory_path, 'wifibox.bhyve.laptop', {'wifibox_host_runtime_bind': False})
    assert rc != 0, output[-3000:]
    text = re.sub(r'\s+', ' ', output)
    assert 'a reboot is pending' in text and 'ppt(4) takes pci0:3:0:0 from iwm at the next boot' in text, text[-3000:]
    assert 'set wifibox_host_reboot: true' in text
    # What was done is in place for the boot; the card is still the native driver's, no VM.
    assert 'pptdevs="3/0/0"' in laptop.read_file('/boot/loader.conf')
    assert card_driver(laptop) == 'iwm0'
    assert laptop.ssh('test', '-e', '/dev/vmm/wifibox').returncode != 0


def test_no_runtime_bind_with_reboot_allowed_reboots_and_starts_the_vm(lab_laptops):
    laptop = lab_laptops('thinkpad-t480')
    boots = laptop.state()['boots']
    rc, output = playbook(laptop.inventory_path, 'wifibox.bhyve.laptop',
                          {'wifibox_host_runtime_bind': False, 'wifibox_host_reboot': True})
    assert rc == 0, output[-4000:]
    assert laptop.state()['boots'] > boots
    assert card_driver(laptop) == 'ppt0'
    # ppt(4) took the card at boot (pptdevs), devmatch kept if_iwm away, the service started the VM.
    assert laptop.ssh('kldstat', '-q', '-n', 'if_iwm').returncode != 0
    assert 'held by ppt0 | VM running' in output, output[-3000:]
    # And a second run changes nothing and does not reboot.
    boots = laptop.state()['boots']
    rc, output = playbook(laptop.inventory_path, 'wifibox.bhyve.laptop',
                          {'wifibox_host_runtime_bind': False, 'wifibox_host_reboot': True})
    assert rc == 0 and re.search(r'changed=0\s', output), output[-3000:]
    assert laptop.state()['boots'] == boots


def test_amd_without_reboot_enables_amdvi_in_the_kernel_environment(lab_laptops):
    laptop = lab_laptops('thinkpad-e14-amd')
    rc, output = playbook(laptop.inventory_path, 'wifibox.bhyve.laptop')
    assert rc == 0, output[-4000:]
    assert 'hw.vmm.amdvi.enable="1"' in laptop.read_file('/boot/loader.conf')
    assert laptop.ssh('kenv', 'hw.vmm.amdvi.enable').stdout.strip() == '1'
    assert card_driver(laptop, 'pci0:2:0:0') == 'ppt0'
    assert laptop.ssh('test', '-e', '/dev/vmm/wifibox').returncode == 0


def test_status_playbook_prints_one_line_per_laptop(lab_laptops):
    configured = lab_laptops('thinkpad-t480')
    bare = lab_laptops('thinkpad-x220')
    rc, output = playbook(configured.inventory_path, 'wifibox.bhyve.laptop')
    assert rc == 0, output[-3000:]
    # Each lab laptop has an inventory of its own: the status playbook reads both.
    rc, output = playbook([configured.inventory_path, bare.inventory_path], 'wifibox.bhyve.status')
    assert rc == 0, output[-3000:]
    summary = output[output.index('Show the status of every laptop'):]
    assert re.search(r'"%s: card pci0:3:0:0 held by ppt0 \| VM running' % configured.name, summary), summary
    assert re.search(r'"%s: card unknown \| VM (stopped|unknown)' % bare.name, summary), summary
