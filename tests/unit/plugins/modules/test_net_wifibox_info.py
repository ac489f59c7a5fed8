# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""net_wifibox_info over a net/wifibox layout in a temporary directory (paths patched)."""

import os

import pytest

from ansible_collections.wifibox.bhyve.plugins.module_utils import constants as C
from ansible_collections.wifibox.bhyve.plugins.module_utils import netwifibox as W
from ansible_collections.wifibox.bhyve.plugins.modules import net_wifibox_info


@pytest.fixture
def layout(tmp_path, monkeypatch):
    root = str(tmp_path)

    def at(path):
        return os.path.join(root, path.lstrip('/'))
    for name in ('CONFDIR', 'BHYVE_CONF', 'CORE_CONF', 'APPLIANCE_DIR', 'APP_CONFIG_LINK', 'WPA_SUPPLICANT_CONF',
                 'HOSTAPD_CONF', 'RC_SCRIPT', 'COMMAND', 'GUEST_ROOT', 'DEVD_CONF'):
        monkeypatch.setattr(W, name, at(getattr(W, name)))
    monkeypatch.setattr(W, 'DEVD_DIRS', tuple(at(d) for d in W.DEVD_DIRS))
    for name in ('RC_CONF', 'RC_CONF_LOCAL', 'LOADER_CONF'):
        monkeypatch.setattr(C, name, at(getattr(C, name)))
    files = {
        '/usr/local/etc/wifibox/bhyve.conf': 'cpus=2\nmemory=256M\npassthru=3/0/0\nconsole=no\n',
        '/usr/local/etc/wifibox/appliance/hostname.sample': 'wifibox\n',
        '/usr/local/etc/wifibox/appliance/hostname': 'wifibox\n',
        '/usr/local/etc/wifibox/wpa_supplicant/wpa_supplicant.conf':
            'ctrl_interface=/var/run/wpa_supplicant\nnetwork={\n\tssid="home"\n\tpsk="passphrase1"\n}\n',
        '/usr/local/etc/rc.d/wifibox': '#!/bin/sh\nresume_cmd="/usr/local/sbin/wifibox start guest"\n',
        '/usr/local/sbin/wifibox': 'bhyve -l bootrom,x\n',
        '/usr/local/etc/devd/wifibox.conf': 'notify 11 {\n\taction "service wifibox suspend";\n};\n',
        '/usr/local/etc/devd/wifibox-bhyve.conf': 'action "service wifibox_bhyve resume";\n',
        '/etc/rc.conf': 'hostname="t480"\nwifibox_enable="YES"\n',
        '/boot/loader.conf': 'vmm_load="YES"\n',
    }
    for path, text in files.items():
        os.makedirs(os.path.dirname(at(path)), exist_ok=True)
        with open(at(path), 'w') as handle:
            handle.write(text)
    return at


def test_reads_everything(layout, host, run):
    host.on('service', 'wifibox', 'onestatus', out='wifibox is run as PID 42.\n')
    result = run(net_wifibox_info.main, {})
    assert result['changed'] is False
    assert result['installed'] and result['enabled'] and result['running']
    assert result['problems'] == []
    assert result['settings'] == dict(cpus=2, memory=256, passthru=['3/0/0'], console=False, priority=50,
                                      stop_wait_max=10, boot='uefi', recovery='suspend_guest', nic='e1000')
    assert result['networks'] == [dict(ssid='home', security='wpa2_psk', psk='passphrase1')]
    assert result['devd_files'] == [layout('/usr/local/etc/devd/wifibox.conf')]
    assert layout('/usr/local/etc/wifibox') in result['backup_paths']
    assert host.calls == [('service', 'wifibox', 'onestatus')]


def test_refuses_with_file_and_line(layout, host, run):
    host.on('service', 'wifibox', 'onestatus', rc=1, out='wifibox is not run.\n')
    with open(layout('/etc/devd.conf'), 'w') as handle:
        handle.write('# base rules\nnotify 0 {\n\taction "/usr/local/sbin/wifibox restart vmm";\n};\n')
    with open(layout('/usr/local/etc/wifibox/appliance/hostname'), 'w') as handle:
        handle.write('mybox\n')
    with open(layout('/etc/rc.conf'), 'a') as handle:
        handle.write('wifibox_env="VMM_KO=/boot/custom/vmm.ko"\n')
    result = run(net_wifibox_info.main, {})
    assert result['running'] is False
    text = '\n'.join(result['problems'])
    assert layout('/etc/devd.conf') + ':3:' in text
    assert layout('/usr/local/etc/wifibox/appliance/hostname') + ': differs from' in text
    assert 'wifibox_env' in text


def test_hostapd_build_refused(layout, host, run):
    host.on('service', 'wifibox', 'onestatus', rc=1)
    os.symlink('hostapd', layout('/usr/local/etc/wifibox/app_config'))
    result = run(net_wifibox_info.main, {})
    assert any('access-point (hostapd) build' in p for p in result['problems'])


def test_not_installed(layout, host, run):
    for path in ('/usr/local/etc/wifibox/bhyve.conf', '/usr/local/etc/rc.d/wifibox'):
        os.unlink(layout(path))
    result = run(net_wifibox_info.main, {})
    assert result['installed'] is False and result['problems'] == []
    assert host.calls == []
