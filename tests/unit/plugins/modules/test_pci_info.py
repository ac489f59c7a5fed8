# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json
import os

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.wifibox.bhyve.plugins.modules import pci_info

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'pciconf')


def capture(name):
    with open(os.path.join(FIXTURES, name), encoding='utf-8') as handle:
        return handle.read()


class FakeHost:
    """Stands in for the host: where pciconf is and what running it gives."""

    def __init__(self, monkeypatch, rc=0, out='', err='', pciconf='/usr/sbin/pciconf'):
        self.calls = []
        self.result = (rc, out, err)
        monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', self.get_bin_path)
        monkeypatch.setattr(basic.AnsibleModule, 'run_command', self.run_command)
        self.pciconf = pciconf

    def get_bin_path(self, name, required=False, opt_dirs=None):
        assert name == 'pciconf' and not required
        assert '/usr/sbin' in opt_dirs
        return self.pciconf

    def run_command(self, args, **kwargs):
        self.calls.append((args, kwargs))
        return self.result


def run_module(args, check_mode=False):
    if check_mode:
        args = dict(args, _ansible_check_mode=True)
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exit_info:
            pci_info.main()
    return exit_info.value.code


def result_of(capsys):
    return json.loads(capsys.readouterr().out)


def warning_texts(result):
    # ansible-core 2.19 modules return structured warnings; the controller prints their msg.
    return [warning['event']['msg'] if isinstance(warning, dict) else warning for warning in result.get('warnings', [])]


def test_lists_devices_and_wireless(monkeypatch, capsys):
    host = FakeHost(monkeypatch, out=capture('thinkpad-t480-14.txt'))
    assert run_module({}) == 0
    result = result_of(capsys)
    assert result['changed'] is False
    assert len(result['devices']) == 11
    assert [card['name'] for card in result['wireless']] == ['iwm0']
    card = result['wireless'][0]
    assert (card['selector'], card['pptdev'], card['driver'], card['held_by_ppt']) == ('pci0:3:0:0', '3/0/0', 'iwm', False)
    assert (card['vendor_id'], card['device_id'], card['subvendor_id'], card['subdevice_id'], card['revision']) == (
        '0x8086', '0x24fd', '0x8086', '0x0010', '0x78')
    args, kwargs = host.calls[0]
    assert args == ['/usr/sbin/pciconf', '-lv']
    assert kwargs['environ_update']['LC_ALL'] == 'C'
    assert 'use_unsafe_shell' not in kwargs


def test_check_mode_reads_the_same(monkeypatch, capsys):
    FakeHost(monkeypatch, out=capture('thinkpad-t480-ppt.txt'))
    assert run_module({}, check_mode=True) == 0
    result = result_of(capsys)
    assert result['changed'] is False
    assert result['wireless'][0]['held_by_ppt'] is True


@pytest.mark.parametrize('selector', ['pci0:3:0:0', 'pci3:0:0', '3/0/0', 'iwm0'])
def test_selector_filters(monkeypatch, capsys, selector):
    FakeHost(monkeypatch, out=capture('thinkpad-t480-14.txt'))
    assert run_module({'selector': selector}) == 0
    result = result_of(capsys)
    assert [device['name'] for device in result['devices']] == ['iwm0']
    assert [device['name'] for device in result['wireless']] == ['iwm0']


def test_selector_of_a_non_wireless_device(monkeypatch, capsys):
    FakeHost(monkeypatch, out=capture('thinkpad-t480-14.txt'))
    assert run_module({'selector': 'em0'}) == 0
    result = result_of(capsys)
    assert [device['name'] for device in result['devices']] == ['em0']
    assert result['wireless'] == []


def test_selector_matching_nothing_is_empty(monkeypatch, capsys):
    FakeHost(monkeypatch, out=capture('thinkpad-t480-14.txt'))
    assert run_module({'selector': '9/0/0'}) == 0
    result = result_of(capsys)
    assert result['devices'] == [] and result['wireless'] == []


def test_bad_selector_is_an_error_naming_it(monkeypatch, capsys):
    FakeHost(monkeypatch, out=capture('thinkpad-t480-14.txt'))
    assert run_module({'selector': '3-0-0'}) == 1
    result = result_of(capsys)
    assert result['failed'] is True
    assert "'3-0-0'" in result['msg'] and 'pci0:3:0:0' in result['msg']


def test_missing_pciconf_names_the_command(monkeypatch, capsys):
    FakeHost(monkeypatch, pciconf=None)
    assert run_module({}) == 1
    result = result_of(capsys)
    assert 'pciconf was not found' in result['msg'] and 'FreeBSD' in result['msg']


def test_failing_pciconf_reports_status_and_stderr(monkeypatch, capsys):
    FakeHost(monkeypatch, rc=1, err='pciconf: /dev/pci: Permission denied\n')
    assert run_module({}) == 1
    result = result_of(capsys)
    assert result['rc'] == 1
    assert result['cmd'] == ['/usr/sbin/pciconf', '-lv']
    assert '/usr/sbin/pciconf -lv exited with status 1' in result['msg']
    assert 'Permission denied' in result['msg'] and 'Permission denied' in result['stderr']


def test_unreadable_device_line_fails(monkeypatch, capsys):
    FakeHost(monkeypatch, out='iwm0@pci0:3:0:0:\tclass=0x028000 rev=0x78\n')
    assert run_module({}) == 1
    assert 'Cannot read the output of pciconf -lv' in result_of(capsys)['msg']


def test_unknown_lines_become_warnings(monkeypatch, capsys):
    FakeHost(monkeypatch, out='some banner\n' + capture('x220-12.txt'))
    assert run_module({}) == 0
    result = result_of(capsys)
    assert [card['name'] for card in result['wireless']] == ['iwn0']
    assert any("'some banner'" in warning for warning in warning_texts(result))


def test_freebsd_12_and_broadcom(monkeypatch, capsys):
    FakeHost(monkeypatch, out=capture('macbook-bcm4350.txt'))
    assert run_module({}) == 0
    card = result_of(capsys)['wireless'][0]
    assert (card['name'], card['driver'], card['vendor_id'], card['device_id']) == ('none1', None, '0x14e4', '0x43a3')
