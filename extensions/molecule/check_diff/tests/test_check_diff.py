# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""laptop.yml in check mode: the laptop is untouched, the diff shows every change, no secret leaks."""

import os


def output():
    with open(os.path.join(os.environ['MOLECULE_EPHEMERAL_DIRECTORY'], 'check-diff.txt')) as handle:
        return handle.read()


def test_the_laptop_is_unchanged(host):
    assert 'vmm_load' not in host.file('/boot/loader.conf').content_string
    assert 'wifibox' not in host.file('/etc/rc.conf').content_string
    assert host.run('pciconf -l pci0:3:0:0').stdout.startswith('iwm0@')
    assert host.run('kldstat -q -n vmm').rc != 0
    assert host.run('kldstat -q -n if_iwm').rc == 0
    assert not host.file('/usr/local/etc/wifibox-bhyve').exists
    assert 'socat' not in host.run('pkg query -a %n').stdout.split()


def test_the_diff_shows_every_change():
    text = output()
    for line in ('+vmm_load="YES"', '+pptdevs="3/0/0"', '+ifconfig_wifibox0="SYNCDHCP"',
                 '+background_dhclient_wifibox0="YES"', '+ifconfig_wifibox0_ipv6="inet6 accept_rtadv"',
                 '+devmatch_blocklist="if_iwm"', '+kld_list="nmdm if_bridge"'):
        assert line in text, line
    # pkg install -n lists what would be installed.
    assert 'wifibox-alpine' in text and 'New packages to be INSTALLED' in text
    assert 'PLAY RECAP' in text and 'failed=0' in text


def test_the_passphrase_appears_nowhere():
    text = output()
    assert 'check-secret-passphrase-42' not in text
