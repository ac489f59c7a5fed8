# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import os

import pytest

from ansible.module_utils import basic

from ansible_collections.wifibox.bhyve.plugins.modules import pci_info

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'pciconf')


def capture(name):
    with open(os.path.join(FIXTURES, name), encoding='utf-8') as handle:
        return handle.read()


def test_lists_devices_and_wireless(host, run, monkeypatch):
    host.on('pciconf', '-lv', out=capture('thinkpad-t480-14.txt'))
    seen = {}
    real_run_command = basic.AnsibleModule.run_command

    def spy(self, args, **kwargs):
        seen.update(kwargs)
        return real_run_command(self, args, **kwargs)
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', spy)
    result = run(pci_info.main, {})
    assert result['changed'] is False
    assert len(result['devices']) == 11
    assert [card['name'] for card in result['wireless']] == ['iwm0']
    card = result['wireless'][0]
    assert (card['selector'], card['pptdev'], card['driver'], card['held_by_ppt']) == ('pci0:3:0:0', '3/0/0', 'iwm', False)
    assert (card['vendor_id'], card['device_id'], card['subvendor_id'], card['subdevice_id'], card['revision']) == (
        '0x8086', '0x24fd', '0x8086', '0x0010', '0x78')
    assert host.calls == [('pciconf', '-lv')]
    assert seen['environ_update']['LC_ALL'] == 'C'
    assert 'use_unsafe_shell' not in seen


def test_check_mode_reads_the_same(host, run):
    host.on('pciconf', '-lv', out=capture('thinkpad-t480-ppt.txt'))
    result = run(pci_info.main, {}, check_mode=True)
    assert result['changed'] is False
    assert result['wireless'][0]['held_by_ppt'] is True


@pytest.mark.parametrize('selector', ['pci0:3:0:0', 'pci3:0:0', '3/0/0', 'iwm0'])
def test_selector_filters(host, run, selector):
    host.on('pciconf', '-lv', out=capture('thinkpad-t480-14.txt'))
    result = run(pci_info.main, {'selector': selector})
    assert [device['name'] for device in result['devices']] == ['iwm0']
    assert [device['name'] for device in result['wireless']] == ['iwm0']


def test_selector_of_a_non_wireless_device(host, run):
    host.on('pciconf', '-lv', out=capture('thinkpad-t480-14.txt'))
    result = run(pci_info.main, {'selector': 'em0'})
    assert [device['name'] for device in result['devices']] == ['em0']
    assert result['wireless'] == []


def test_selector_matching_nothing_is_empty(host, run):
    host.on('pciconf', '-lv', out=capture('thinkpad-t480-14.txt'))
    result = run(pci_info.main, {'selector': '9/0/0'})
    assert result['devices'] == [] and result['wireless'] == []


def test_bad_selector_is_an_error_naming_it(host, run):
    host.on('pciconf', '-lv', out=capture('thinkpad-t480-14.txt'))
    result = run(pci_info.main, {'selector': '3-0-0'})
    assert result['failed'] is True
    assert "'3-0-0'" in result['msg'] and 'pci0:3:0:0' in result['msg']


def test_missing_pciconf_names_the_command(host, run, monkeypatch):
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', lambda self, name, *args, **kwargs: None)
    result = run(pci_info.main, {})
    assert result['failed'] is True
    assert 'pciconf was not found' in result['msg'] and 'FreeBSD' in result['msg']
    assert host.calls == []


def test_failing_pciconf_reports_status_and_stderr(host, run):
    host.on('pciconf', '-lv', rc=1, err='pciconf: /dev/pci: Permission denied\n')
    result = run(pci_info.main, {})
    assert result['failed'] is True and result['rc'] == 1
    assert result['cmd'] == ['/sbin/pciconf', '-lv']
    assert '/sbin/pciconf -lv exited with status 1' in result['msg']
    assert 'Permission denied' in result['msg'] and 'Permission denied' in result['stderr']


def test_unreadable_device_line_fails(host, run):
    host.on('pciconf', '-lv', out='iwm0@pci0:3:0:0:\tclass=0x028000 rev=0x78\n')
    result = run(pci_info.main, {})
    assert result['failed'] is True
    assert 'Cannot read the output of pciconf -lv' in result['msg']


def test_unknown_lines_become_warnings(host, run):
    host.on('pciconf', '-lv', out='some banner\n' + capture('x220-12.txt'))
    result = run(pci_info.main, {})
    assert [card['name'] for card in result['wireless']] == ['iwn0']
    assert any("'some banner'" in warning for warning in result['warning_texts'])


def test_broadcom_without_native_driver(host, run):
    host.on('pciconf', '-lv', out=capture('macbook-bcm4350.txt'))
    card = run(pci_info.main, {})['wireless'][0]
    assert (card['name'], card['driver'], card['vendor_id'], card['device_id']) == ('none1', None, '0x14e4', '0x43a3')
