# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""wifibox_host with wifibox_guest_role access_point, against lab laptops: wifibox0 is the guest's
gateway, gateway_enable and pf_enable are set, the NAT is a pf anchor of ours in the user's pf.conf
(checked by the lab's pfctl and carried by iptables in the laptop), and remove puts it all back."""

import json
import os
import re
import subprocess

import pytest

pytestmark = pytest.mark.lab

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def playbook(inventory, name, extra=None):
    argv = [os.path.join(ROOT, '.venv', 'bin', 'ansible-playbook'), name, '-i', inventory]
    if extra:
        argv += ['-e', json.dumps(extra)]
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_PIPELINING='true')
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)
    return proc.returncode, proc.stdout + proc.stderr


USER_PF = 'ext_if = "em0"\nset skip on lo0\nscrub in all\npass out all keep state\nblock in on $ext_if\n'
AP = {'wifibox_guest_role': 'access_point', 'wifibox_guest_ap_passphrase': 'lab access point',
      'wifibox_guest_country': 'DE', 'wifibox_host_ap_uplink': 'em0'}


def test_access_point_host_side_converges_is_idempotent_and_is_removed(lab_laptops):
    laptop = lab_laptops('thinkpad-t480')
    laptop.write_file('/etc/pf.conf', USER_PF)
    rc, output = playbook(laptop.inventory_path, 'wifibox.bhyve.laptop', AP)
    assert rc == 0, output[-5000:]
    rcconf = laptop.read_file('/etc/rc.conf')
    assert 'ifconfig_wifibox0="inet 10.0.0.1/24"' in rcconf
    assert 'gateway_enable="YES"' in rcconf and 'pf_enable="YES"' in rcconf
    assert 'defaultrouter' not in rcconf and 'background_dhclient_wifibox0' not in rcconf
    pf = laptop.read_file('/etc/pf.conf')
    assert pf == ('ext_if = "em0"\nset skip on lo0\nscrub in all\nnat-anchor "wifibox-bhyve"\npass out all keep state\n'
                  'block in on $ext_if\n'
                  'load anchor "wifibox-bhyve" from "/usr/local/etc/wifibox-bhyve/pf-nat.conf"\n'), pf
    assert laptop.ssh('pfctl', '-s', 'info').stdout == 'Status: Enabled\n'
    assert laptop.ssh('pfctl', '-a', 'wifibox-bhyve', '-s', 'nat').stdout == \
        'nat on em0 inet from 10.0.0.0/24 to any -> (em0)\n'
    assert '-A LAB_PF -s 10.0.0.0/24 -o em0 -j MASQUERADE' in laptop.sh('iptables -t nat -S LAB_PF').stdout
    assert laptop.ssh('sysctl', '-n', 'net.inet.ip.forwarding').stdout.strip() == '1'
    # The guest side: the hostapd build's files.
    conf = '/usr/local/etc/wifibox-bhyve'
    assert laptop.sh('readlink %s/app_config' % conf).stdout.strip() == 'hostapd'
    assert laptop.sh('stat -c %%a %s/hostapd/hostapd.conf' % conf).stdout.strip() == '600'
    assert 'gateway 10.0.0.1' in laptop.read_file(conf + '/appliance/interfaces.conf')
    assert 'lab access point' not in output

    rc, output = playbook(laptop.inventory_path, 'wifibox.bhyve.laptop', AP)
    assert rc == 0 and re.search(r'changed=0\s', output), output[-4000:]

    rc, output = playbook(laptop.inventory_path, 'wifibox.bhyve.remove')
    assert rc == 0, output[-4000:]
    assert laptop.read_file('/etc/pf.conf') == USER_PF
    rcconf = laptop.read_file('/etc/rc.conf')
    assert 'gateway_enable' not in rcconf and 'pf_enable' not in rcconf and 'wifibox0' not in rcconf
    assert laptop.ssh('pfctl', '-s', 'info').stdout == 'Status: Disabled\n'
    assert 'MASQUERADE' not in laptop.sh('iptables -t nat -S LAB_PF').stdout


def test_a_pf_conf_that_cannot_take_the_anchor_is_refused_with_the_reason(lab_laptops):
    laptop = lab_laptops('thinkpad-t480')
    broken = 'pass all\nnat on em0 from 192.168.7.0/24 to any -> (em0)\n'
    laptop.write_file('/etc/pf.conf', broken)
    rc, output = playbook(laptop.inventory_path, 'wifibox.bhyve.laptop', AP)
    assert rc != 0
    text = re.sub(r'\s+', ' ', output)
    assert '/etc/pf.conf does not parse (pfctl -nf says: /etc/pf.conf:2: Rules must be in order' in text, text[-3000:]
    assert laptop.read_file('/etc/pf.conf') == broken
    assert 'pf_enable' not in laptop.read_file('/etc/rc.conf')


def test_access_point_needs_the_uplink(lab_laptops):
    laptop = lab_laptops('thinkpad-t480')
    rc, output = playbook(laptop.inventory_path, 'wifibox.bhyve.laptop', dict(AP, wifibox_host_ap_uplink=''))
    assert rc != 0 and 'wifibox_host_ap_uplink' in output and 'such as em0' in output, output[-3000:]
