# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The laptop after playbooks/laptop.yml with wifibox_guest_role access_point, over the lab's SSH inventory."""

import json


def test_rc_conf_makes_the_host_the_guests_gateway(host):
    rc = host.file('/etc/rc.conf').content_string
    for line in ('wifibox_bhyve_enable="YES"', 'ifconfig_wifibox0="inet 10.0.0.1/24"', 'gateway_enable="YES"',
                 'pf_enable="YES"'):
        assert line in rc
    assert 'background_dhclient_wifibox0' not in rc and 'defaultrouter' not in rc


def test_pf_conf_keeps_the_users_rules_and_hooks_our_anchor(host):
    pf = host.file('/etc/pf.conf').content_string
    assert pf.startswith('ext_if = "em0"\nset skip on lo0\nscrub in all\nnat-anchor "wifibox-bhyve"\n'
                         'pass out all keep state\nblock in on $ext_if\n')
    assert pf.endswith('load anchor "wifibox-bhyve" from "/usr/local/etc/wifibox-bhyve/pf-nat.conf"\n')
    assert host.run('pfctl -nf /etc/pf.conf').rc == 0


def test_pf_runs_with_the_nat_of_our_anchor(host):
    assert host.run('pfctl -s info').stdout == 'Status: Enabled\n'
    assert host.run('pfctl -a wifibox-bhyve -s nat').stdout == 'nat on em0 inet from 10.0.0.0/24 to any -> (em0)\n'
    assert host.run('sysctl -n net.inet.ip.forwarding').stdout.strip() == '1'


def test_the_guest_gets_the_hostapd_build_files(host):
    conf = '/usr/local/etc/wifibox-bhyve'
    assert host.check_output('readlink %s/app_config' % conf) == 'hostapd'
    hostapd = host.file(conf + '/hostapd/hostapd.conf')
    assert host.check_output('ls -l %s' % hostapd.path).startswith('-rw------- ')
    text = hostapd.content_string
    assert 'ssid=molecule-ap\n' in text and 'wpa_key_mgmt=WPA-PSK SAE\n' in text and 'ap_isolate=1\n' in text
    assert not host.file(conf + '/wpa_supplicant/wpa_supplicant.conf').exists
    assert 'gateway 10.0.0.1' in host.file(conf + '/appliance/interfaces.conf').content_string
    uds = host.file(conf + '/appliance/uds_passthru.conf').content_string
    assert 'network=10.0.0.2:255.255.255.0' in uds and 'path=/var/run/hostapd/wlan0' in uds


def test_the_vm_runs(host):
    status = json.loads(host.check_output('/usr/local/sbin/wifibox-bhyve status --json'))
    assert status['running'] is True and status['card_driver'] == 'ppt0'
