# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""kldstat parser (FREEBSD.md section 4)."""

import os

from ansible_collections.wifibox.bhyve.plugins.module_utils.kernel import file_to_module, parse_kldstat

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'kldstat')


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def test_kldstat_table():
    files = parse_kldstat(fixture('kldstat-14.txt'))
    assert [entry['name'] for entry in files] == ['kernel', 'vmm.ko', 'nmdm.ko', 'if_bridge.ko', 'bridgestp.ko']
    vmm = files[1]
    assert vmm == {'id': 8, 'refs': 1, 'address': '0xffffffff82c10000', 'size': 0x3bb2a8,
                   'name': 'vmm.ko', 'module': 'vmm', 'path': None}
    assert files[4]['refs'] == 2


def test_kldstat_verbose_path_and_contained_modules_are_skipped():
    (vmm,) = parse_kldstat(fixture('kldstat-v-vmm.txt'))
    assert vmm['path'] == '/boot/kernel/vmm.ko'
    assert vmm['module'] == 'vmm'


def test_kldstat_errors_give_nothing():
    assert parse_kldstat("kldstat: can't find file vmm: No such file or directory\n") == []
    assert parse_kldstat('') == []


def test_file_to_module():
    assert file_to_module('vmm.ko') == 'vmm'
    assert file_to_module('/boot/kernel/if_bridge.ko') == 'if_bridge'
    assert file_to_module('kernel') == 'kernel'
