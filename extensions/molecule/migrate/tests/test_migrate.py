# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The laptop after laptop.yml took over from net/wifibox (prepare.yml set the original up)."""

import json


def test_networks_carried_over(host):
    conf = host.file('/usr/local/etc/wifibox-bhyve/wpa_supplicant/wpa_supplicant.conf').content_string
    assert 'ssid="molecule-home"' in conf and 'priority=2' in conf
    assert 'ssid="molecule-cafe"' in conf and 'key_mgmt=SAE' in conf and 'sae_password="cafe-sae-secret"' in conf


def test_the_original_is_stopped_and_disabled(host):
    rc = host.file('/etc/rc.conf').content_string
    assert 'wifibox_enable' not in rc
    assert host.run('service wifibox onestatus').rc == 1
    # its devd shim is out of devd's directory; the sample the package installed stays
    assert not host.file('/usr/local/etc/devd/wifibox.conf').exists
    assert host.file('/usr/local/etc/devd/wifibox.conf.sample').exists


def test_the_backup_is_kept_and_private(host):
    backup = '/var/backups/wifibox-before-wifibox-bhyve.tar'
    assert host.check_output('ls -l %s' % backup).startswith('-rw------- ')
    names = host.check_output('tar -tf %s' % backup).split()
    for name in ('usr/local/etc/wifibox/bhyve.conf', 'usr/local/etc/wifibox/wpa_supplicant/wpa_supplicant.conf',
                 'etc/rc.conf', 'usr/local/etc/devd/wifibox.conf'):
        assert name in names
    # the original's configuration itself stays where it was
    assert 'passthru="3/0/0"' in host.file('/usr/local/etc/wifibox/bhyve.conf').content_string


def test_our_vm_runs_with_the_carried_settings(host):
    result = host.run('/usr/local/sbin/wifibox-bhyve status --json')
    assert result.rc == 0, result.stderr
    status = json.loads(result.stdout)
    assert status['running'] is True and status['card_driver'] == 'ppt0'
    conf = host.file('/usr/local/etc/wifibox-bhyve/vm.conf').content_string
    assert '256' in conf and '3/0/0' in conf
    rc = host.file('/etc/rc.conf').content_string
    assert 'wifibox_bhyve_enable="YES"' in rc and 'ifconfig_wifibox0="SYNCDHCP"' in rc
