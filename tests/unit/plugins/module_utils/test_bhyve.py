# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The VM description -> exact bhyve / grub-bhyve argv, memory parsing, the config file."""

import pytest

from ansible_collections.wifibox.bhyve.plugins.module_utils import bhyve
from ansible_collections.wifibox.bhyve.plugins.module_utils.bhyve import VMConfigError

UEFI_DEFAULT = (
    '/usr/sbin/bhyve -c 1 -m 128M -A -H -P -S -u -w -s 0,hostbridge -s 31,lpc '
    '-l bootrom,/usr/local/share/uefi-firmware/BHYVE_UEFI.fd '
    '-s 4:0,virtio-blk,/usr/local/share/wifibox/esp.img '
    '-s 4:1,virtio-blk,/usr/local/share/wifibox/root.img '
    '-s 4:2,virtio-9p,config=/usr/local/etc/wifibox-bhyve/appliance,ro '
    '-s 4:3,virtio-9p,var=/var/run/wifibox-bhyve/appliance '
    '-s 5:0,e1000,tap0 -s 6:0,passthru,3/0/0 wifibox'
)


def vm(**kw):
    kw.setdefault('passthru', ['3/0/0'])
    return bhyve.normalise(kw)


def test_uefi_default_argv():
    assert ' '.join(bhyve.bhyve_argv(vm())) == UEFI_DEFAULT


def test_uefi_full_argv_console_virtio_app_config_rw_two_devices():
    argv = bhyve.bhyve_argv(vm(cpus=2, memory='1g', nic='virtio-net', tap='tap3', console=True,
                               passthru=['3/0/0', '0/20/0']), app_config='rw')
    assert argv == [
        '/usr/sbin/bhyve', '-c', '2', '-m', '1G', '-A', '-H', '-P', '-S', '-u', '-w',
        '-l', 'com1,/dev/nmdm-wifibox.1A', '-s', '0,hostbridge', '-s', '31,lpc',
        '-l', 'bootrom,/usr/local/share/uefi-firmware/BHYVE_UEFI.fd',
        '-s', '4:0,virtio-blk,/usr/local/share/wifibox/esp.img',
        '-s', '4:1,virtio-blk,/usr/local/share/wifibox/root.img',
        '-s', '4:2,virtio-9p,config=/usr/local/etc/wifibox-bhyve/appliance,ro',
        '-s', '4:3,virtio-9p,var=/var/run/wifibox-bhyve/appliance',
        '-s', '4:4,virtio-9p,app_config=/usr/local/etc/wifibox-bhyve/wpa_supplicant',
        '-s', '5:0,virtio-net,tap3', '-s', '6:0,passthru,3/0/0', '-s', '6:1,passthru,0/20/0', 'wifibox']


def test_app_config_read_only():
    argv = bhyve.bhyve_argv(vm(), app_config='ro')
    assert '4:4,virtio-9p,app_config=/usr/local/etc/wifibox-bhyve/wpa_supplicant,ro' in argv


def test_grub_layout_argv_and_loader():
    v = vm(boot='grub', memory='256M', console=True)
    assert bhyve.bhyve_argv(v) == [
        '/usr/sbin/bhyve', '-c', '1', '-m', '256M', '-A', '-H', '-P', '-S', '-u', '-w',
        '-l', 'com1,/dev/nmdm-wifibox.1A', '-s', '0,hostbridge', '-s', '31,lpc',
        '-s', '4:0,virtio-blk,/usr/local/share/wifibox/disk.img',
        '-s', '4:1,virtio-9p,config=/usr/local/etc/wifibox-bhyve/appliance,ro',
        '-s', '4:2,virtio-9p,var=/var/run/wifibox-bhyve/appliance',
        '-s', '5:0,e1000,tap0', '-s', '6:0,passthru,3/0/0', 'wifibox']
    assert bhyve.grub_argv(v) == ['/usr/local/sbin/grub-bhyve', '-S', '-M', '256M', '-r', 'host',
                                  '-c', '/dev/nmdm-wifibox.1A', '-d', '/usr/local/share/wifibox', 'wifibox']
    assert bhyve.grub_argv(vm()) is None


@pytest.mark.parametrize('priority,nice', [(0, -20), (50, 0), (99, 20), (25, -10), (75, 10)])
def test_nice_from_priority(priority, nice):
    assert bhyve.command_argv(vm(priority=priority))[:3] == ['/usr/bin/nice', '-n', str(nice)]


@pytest.mark.parametrize('text,mib', [('128M', 128), ('128', 128), ('1G', 1024), ('1g', 1024),
                                      ('65536K', 64), ('1T', 1048576)])
def test_parse_memory(text, mib):
    assert bhyve.parse_memory(text) == mib


@pytest.mark.parametrize('text,words', [('128MB', 'not a memory size'), ('', 'not a memory size'),
                                        ('-1M', 'not a memory size'), ('16M', 'at least 32'),
                                        ('1000K', 'at least'), ('33000K', 'whole number of MiB'),
                                        ('0128M', 'not a memory size')])
def test_parse_memory_refuses(text, words):
    with pytest.raises(VMConfigError, match=words):
        bhyve.parse_memory(text)


@pytest.mark.parametrize('settings,words', [
    ({'passthru': []}, 'passthru is empty'),
    ({'passthru': ['3:0:0']}, 'not bus/slot/function'),
    ({'passthru': ['3/32/0']}, 'out of range'),
    ({'passthru': ['3/0/0', '03/0/0']}, 'twice'),
    ({'cpus': 0}, 'cpus=0 is out of range'),
    ({'cpus': 'two'}, 'cpus=.two. is not a whole number'),
    ({'priority': 100}, 'priority=100'),
    ({'stop_wait': 0}, 'stop_wait=0'),
    ({'boot': 'bios'}, 'boot=.bios. is not one of uefi, grub'),
    ({'nic': 'rtl8139'}, 'nic='),
    ({'recovery': 'reboot'}, 'recovery='),
    ({'tap': 'wlan0'}, 'tap=.wlan0. is not a tap'),
    ({'bridge': 'wifibox0; rm'}, 'bridge='),
    ({'console': 'maybe'}, 'console=.maybe. is not yes or no'),
    ({'colour': 'red'}, 'unknown VM setting'),
])
def test_normalise_refuses(settings, words):
    settings.setdefault('passthru', ['3/0/0'])
    with pytest.raises(VMConfigError, match=words):
        bhyve.normalise(settings)


def test_config_file_round_trip():
    v = vm(cpus=2, memory='256', console=True, passthru=['3/0/0', '0/20/0'], recovery='suspend_guest')
    text = bhyve.format_config(v)
    assert 'memory="256M"\n' in text and 'passthru="3/0/0 0/20/0"\n' in text and 'console="yes"\n' in text
    assert bhyve.parse_config(text) == v


@pytest.mark.parametrize('text,words', [('cpus=2\n', 'line 1'), ('cpus="$(reboot)"\n', 'line 1'),
                                        ('passthru="3/0/0"\ncpus="x"\n', 'cpus=')])
def test_config_file_refuses(text, words):
    with pytest.raises(VMConfigError, match=words):
        bhyve.parse_config(text)


def test_devctl_and_pciconf_names():
    assert bhyve.devctl_name('3/0/0') == 'pci3:0:0'
    assert bhyve.pciconf_selector('170/0/0') == 'pci0:170:0:0'


def test_app_config_mode():
    assert bhyve.app_config_mode(exists=lambda p: False) is None
    assert bhyve.app_config_mode(exists=lambda p: True, readable=lambda p: False) == 'ro'
    assert bhyve.app_config_mode(exists=lambda p: True, readable=lambda p: p.endswith('uds_passthru.conf')) == 'rw'


def test_app_config_share_follows_the_guest_role():
    """The hostapd build's app_config share is hostapd/, not wpa_supplicant/ (WIFIBOX.md section 4)."""
    client = bhyve.normalise({'passthru': ['3/0/0']})
    ap = bhyve.normalise({'passthru': ['3/0/0'], 'guest_role': 'access_point'})
    assert client['guest_role'] == 'client'
    assert bhyve.app_config_dir(client) == 'wpa_supplicant'
    assert bhyve.app_config_dir(ap) == 'hostapd'
    seen = []
    assert bhyve.app_config_mode(conf_dir='/c', vm=ap, exists=lambda p: seen.append(p) or True,
                                 readable=lambda p: False) == 'ro'
    assert seen == ['/c/hostapd']
    argv = ' '.join(bhyve.bhyve_argv(ap, 'rw', conf_dir='/c'))
    assert 'virtio-9p,app_config=/c/hostapd ' in argv + ' '
    assert 'wpa_supplicant' not in argv
    assert 'app_config=/c/wpa_supplicant,ro' in ' '.join(bhyve.bhyve_argv(client, 'ro', conf_dir='/c'))
    assert 'guest_role="access_point"' in bhyve.format_config(ap)
    assert bhyve.parse_config(bhyve.format_config(ap)) == ap
    with pytest.raises(bhyve.VMConfigError, match='guest_role'):
        bhyve.normalise({'passthru': ['3/0/0'], 'guest_role': 'hotspot'})
