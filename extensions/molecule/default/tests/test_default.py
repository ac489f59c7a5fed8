# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The laptop after playbooks/laptop.yml, read over the lab's SSH inventory."""

import json


def test_loader_conf_loads_vmm_and_reserves_the_card(host):
    loader = host.file('/boot/loader.conf').content_string
    assert 'vmm_load="YES"' in loader
    assert 'pptdevs="3/0/0"' in loader
    assert 'hw.vmm.amdvi.enable' not in loader  # Intel laptop


def test_rc_conf_has_the_service_the_address_and_the_blocklist(host):
    rc = host.file('/etc/rc.conf').content_string
    for line in ('wifibox_bhyve_enable="YES"', 'ifconfig_wifibox0="SYNCDHCP"', 'background_dhclient_wifibox0="YES"',
                 'ifconfig_wifibox0_ipv6="inet6 accept_rtadv"', 'devmatch_blocklist="if_iwm"'):
        assert line in rc
    # The user's native Wi-Fi settings are kept.
    assert 'wlans_iwm0="wlan0"' in rc


def test_dhclient_conf_has_the_roles_block_for_wifibox0(host):
    conf = host.file('/etc/dhclient.conf')
    assert host.run('ls -l /etc/dhclient.conf').stdout.startswith('-rw-r--r-- ')  # created 0644
    assert conf.content_string == (
        '# BEGIN wifibox.bhyve: dhclient(8) on wifibox0 (managed by Ansible)\n'
        'interface "wifibox0" {\n  timeout 10;\n  retry 3;\n  initial-interval 1;\n  backoff-cutoff 3;\n}\n'
        '# END wifibox.bhyve: dhclient(8) on wifibox0 (managed by Ansible)\n')


def test_the_card_is_held_by_ppt_and_the_native_driver_is_gone(host):
    assert host.run('pciconf -l pci0:3:0:0').stdout.startswith('ppt0@pci0:3:0:0')
    assert host.run('kldstat -q -n if_iwm').rc != 0
    for module in ('vmm', 'nmdm', 'if_bridge'):
        assert host.run('kldstat -q -n %s' % module).rc == 0, module


def test_packages_are_installed(host):
    installed = host.run('pkg query -a %n').stdout.split()
    for name in ('wifibox-alpine', 'edk2-bhyve', 'socat'):
        assert name in installed


def test_the_vm_runs_with_the_card_and_the_bridge(host):
    result = host.run('/usr/local/sbin/wifibox-bhyve status --json')
    assert result.rc == 0, result.stderr
    status = json.loads(result.stdout)
    assert status['running'] is True and status['card_driver'] == 'ppt0'
    assert host.file('/dev/vmm/wifibox').exists
    assert 'member: tap0' in host.run('ifconfig wifibox0').stdout


def test_guest_configuration_is_in_the_shared_directory(host):
    conf = host.file('/usr/local/etc/wifibox-bhyve/wpa_supplicant/wpa_supplicant.conf')
    # ls, not testinfra's file.mode: the lab's userland stat(1) is Linux's (lab/README.md).
    assert conf.exists and host.check_output('ls -l %s' % conf.path).startswith('-rw------- ')
    assert 'ssid="molecule-home"' in conf.content_string
    assert host.file('/usr/local/etc/wifibox-bhyve/appliance/udhcpd.conf').exists
    saved = json.loads(host.file('/usr/local/etc/wifibox-bhyve/host.json').content_string)
    assert saved['card'] == 'pci0:3:0:0' and saved['native_module'] == 'if_iwm'
