# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The laptop after playbooks/remove.yml: as before the wifibox, the user's settings kept."""

import pytest


def test_the_card_is_back_with_its_native_driver(host):
    assert host.run('pciconf -l pci0:3:0:0').stdout.startswith('iwm0@pci0:3:0:0')
    assert host.run('kldstat -q -n if_iwm').rc == 0
    assert not host.file('/dev/vmm/wifibox').exists
    # vmm and the modules the role put in kld_list are unloaded now, not at the next boot
    for name in ('vmm', 'nmdm', 'if_bridge'):
        assert host.run('kldstat -q -n %s' % name).rc != 0, name


def test_no_entry_of_ours_is_left_and_the_users_are_kept(host):
    rc = host.file('/etc/rc.conf').content_string
    loader = host.file('/boot/loader.conf').content_string
    for name in ('wifibox', 'devmatch_blocklist', 'kld_list'):
        assert name not in rc
    for name in ('vmm_load', 'pptdevs', 'amdvi'):
        assert name not in loader
    # What the laptop had before (native Wi-Fi, ZFS, sshd) is still there.
    for line in ('wlans_iwm0="wlan0"', 'ifconfig_wlan0="WPA DHCP"', 'sshd_enable="YES"'):
        assert line in rc
    assert 'zfs_load="YES"' in loader
    # The role's dhclient.conf block goes, and the file the role created with it.
    assert not host.file('/etc/dhclient.conf').exists


@pytest.mark.parametrize('path', [
    '/usr/local/etc/rc.d/wifibox_bhyve', '/usr/local/sbin/wifibox-bhyve', '/usr/local/libexec/wifibox-bhyve',
    '/usr/local/etc/wifibox-bhyve', '/var/run/wifibox-bhyve', '/var/log/wifibox-bhyve.log',
])
def test_our_files_are_gone(host, path):
    assert not host.file(path).exists


def test_the_bridge_is_gone(host):
    assert host.run('ifconfig wifibox0').rc != 0
