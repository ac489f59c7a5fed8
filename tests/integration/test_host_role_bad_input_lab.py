# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bad input to the wifibox_host role (playbooks/laptop.yml) against lab laptops.

Each case runs `ansible-playbook wifibox.bhyve.laptop` as a user would and checks
that the run fails with a message naming the laptop and the fix, and that the
laptop is unchanged: loader.conf, rc.conf, the installed packages, the loaded
kernel modules and the card's driver are what they were.  Needs root.
"""

import copy
import json
import os
import re
import subprocess

import pytest

pytestmark = pytest.mark.lab

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(ROOT, '.venv', 'bin', 'ansible-playbook')


def playbook(laptop, name='wifibox.bhyve.laptop', extra=None, check=False):
    argv = [PLAYBOOK, '-i', laptop.inventory_path, name]
    if extra:
        argv += ['-e', json.dumps(extra)]
    if check:
        argv += ['--check', '--diff']
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1')
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    return proc.returncode, re.sub(r'\s+', ' ', proc.stdout + proc.stderr)


def snapshot(laptop):
    """What a failed run must leave as it was."""
    state = laptop.state()
    card = [dev for dev in state['devices'] if dev['native'] or dev['class'] >> 8 == 0x0280]
    return dict(
        loader=laptop.read_file('/boot/loader.conf'),
        rc=laptop.read_file('/etc/rc.conf'),
        packages=laptop.ssh('pkg', 'query', '-a', '%n').stdout,
        kldstat=laptop.ssh('kldstat', '-q', '-m', 'vmm').returncode,
        drivers=[(dev['bsf4'], dev.get('attached')) for dev in card],
        kenv=state['kenv'],
        config=laptop.ssh('test', '-e', '/usr/local/etc/wifibox-bhyve').returncode,
    )


def assert_fails_unchanged(laptop, extra, *expected):
    before = snapshot(laptop)
    rc, output = playbook(laptop, extra=extra)
    assert rc != 0, output[-3000:]
    message = re.search(r'"msg": "(?P<msg>[^"]*)"', output)
    assert message, output[-3000:]
    text = message.group('msg')
    # The message names the laptop (or, from the argument specs and the guest role, the variable;
    # Ansible prints the laptop's name on the same line).
    assert laptop.name in text or 'wifibox_host' in text or 'wifibox_guest' in text, text
    for fragment in expected:
        assert fragment in text, (fragment, text)
    assert snapshot(laptop) == before
    return text


def test_laptop_without_iommu(lab_laptops):
    laptop = lab_laptops('latitude-e7450-noiommu')
    text = assert_fails_unchanged(laptop, None, 'no IOMMU', 'VT-d', 'firmware setup')
    assert text.startswith(laptop.name + ':')


def test_laptop_without_a_wifi_card(lab_laptops):
    from wifibox_lab.freebsd import state
    laptop = lab_laptops('thinkpad-t480')
    # The card taken out of the laptop (hardware set-up of the test, as a profile would have it).
    with state.locked(laptop.dir) as st:
        st['devices'] = [dev for dev in st['devices'] if dev['bsf4'] != [0, 3, 0, 0]]
    assert_fails_unchanged(laptop, None, 'no Wi-Fi card', 'USB cards cannot be passed through')


def test_two_cards_and_no_choice_lists_the_candidates_then_a_choice_works_in_check_mode(lab_laptops):
    from wifibox_lab.freebsd import state
    laptop = lab_laptops('thinkpad-t480')
    with state.locked(laptop.dir) as st:
        card = next(dev for dev in st['devices'] if dev['bsf4'] == [0, 3, 0, 0])
        second = copy.deepcopy(card)
        second.update(bsf4=[0, 4, 0, 0], device=0x095a, device_name='Wireless 7265',
                      attached=dict(driver='iwm', unit=1))
        st['devices'].append(second)
    text = assert_fails_unchanged(laptop, None, 'there are 2 Wi-Fi cards', 'pci0:3:0:0', 'pci0:4:0:0',
                                  'wifibox_host_card')
    assert '8086:095a' in text and '8086:24fd' in text
    assert_fails_unchanged(laptop, {'wifibox_host_card': 'pci0:9:0:0'}, 'matches no Wi-Fi card', 'pci0:4:0:0')
    # Chosen by vendor:device, check mode shows the loader.conf change for that card only.
    rc, output = playbook(laptop, extra={'wifibox_host_card': '8086:095a'}, check=True)
    assert '+pptdevs="4/0/0"' in output, output[-3000:]


def test_known_bad_card(lab_laptops):
    # host_facts flags the AX210 (its firmware is missing from older guest images).
    laptop = lab_laptops('framework-ax210')
    assert_fails_unchanged(laptop, None, 'known not to work', 'AX210', 'firmware', 'wifibox_host_allow_card_problems')


@pytest.mark.parametrize('extra, expected', [
    ({'wifibox_host_vm_memory': 1048576}, ('too little memory', 'wifibox_host_vm_memory')),
    ({'wifibox_host_crad': 'pci0:3:0:0'}, ('unknown variable(s) wifibox_host_crad', 'wifibox_host_card')),
    ({'wifibox_host_vm_memory': 'lots'}, ('wifibox_host_vm_memory', 'int')),
    ({'wifibox_host_ipv4': 'auto'}, ('wifibox_host_ipv4', 'dhcp, static')),
    ({'wifibox_host_extra_packages': ['socat', 'no-such-package']},
     ('no-such-package', 'wifibox_host_extra_packages', 'Nothing else was changed')),
    ({'wifibox_guest_networks': [{'ssid': 'home', 'psk': 'short'}]}, ('wifibox_guest', 'psk')),
], ids=['memory', 'unknown-variable', 'wrong-type', 'bad-choice', 'package', 'guest-setting'])
def test_bad_variables(lab_laptops, extra, expected):
    laptop = lab_laptops('thinkpad-t480')
    assert_fails_unchanged(laptop, extra, *expected)


def test_net_wifibox_that_cannot_be_carried_over(lab_laptops):
    """A laptop running the original (net/wifibox) with settings the migration cannot carry over
    (a custom bhyve.conf line, a network option the guest role cannot render): refused with the
    file and line of each, and the laptop unchanged, the original still running and enabled."""
    laptop = lab_laptops('thinkpad-t480')
    assert laptop.ssh('pkg', 'install', '-y', 'wifibox').returncode == 0
    laptop.write_file('/usr/local/etc/wifibox/bhyve.conf',
                      'cpus=1\nmemory=128M\npassthru="3/0/0"\nbhyve_args="-s 7,virtio-rnd"\n')
    laptop.write_file('/usr/local/etc/wifibox/wpa_supplicant/wpa_supplicant.conf',
                      'ctrl_interface=/var/run/wpa_supplicant\nnetwork={\n\tssid="home"\n\tpsk="home-passphrase"\n'
                      '\tid_str="home"\n}\n', mode=0o600)
    laptop.write_file('/usr/local/etc/devd/wifibox.conf',
                      laptop.read_file('/usr/local/etc/devd/wifibox.conf.sample'))
    assert laptop.ssh('sysrc', 'wifibox_enable=YES').returncode == 0
    assert laptop.ssh('kldunload', 'if_iwm').returncode == 0
    assert laptop.ssh('service', 'wifibox', 'start').returncode == 0
    devd_before = laptop.read_file('/usr/local/etc/devd/wifibox.conf')
    text = assert_fails_unchanged(
        laptop, None, 'cannot take over from net/wifibox',
        '/usr/local/etc/wifibox/bhyve.conf:4: bhyve_args is not a setting',
        '/usr/local/etc/wifibox/wpa_supplicant/wpa_supplicant.conf:5: network block at line 2: option id_str',
        'Nothing was changed')
    assert 'home-passphrase' not in text
    assert laptop.ssh('service', 'wifibox', 'onestatus').returncode == 0
    assert 'wifibox_enable="YES"' in laptop.read_file('/etc/rc.conf')
    assert laptop.read_file('/usr/local/etc/devd/wifibox.conf') == devd_before
    assert not laptop.ssh('test', '-e', '/var/backups/wifibox-before-wifibox-bhyve.tar').returncode == 0
    assert laptop.ssh('service', 'wifibox', 'onestop').returncode == 0
