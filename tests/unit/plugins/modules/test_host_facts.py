# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""host_facts against scripted hosts (FREEBSD.md sections 1, 4, 7 and 10)."""

import os

import pytest

from ansible_collections.wifibox.bhyve.plugins.modules import host_facts

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'pciconf')


def pciconf(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


@pytest.fixture
def dmesg(tmp_path, monkeypatch):
    path = tmp_path / 'dmesg.boot'
    monkeypatch.setattr(host_facts, 'DMESG_BOOT', str(path))
    return path


def laptop(host, model, pci, vmm_loaded=True, sysctls=None, kenv=None):
    # freebsd-version(1): with -k, -r and -u, the installed kernel, the running kernel, then userland.
    host.on('freebsd-version', '-kru', out='14.1-RELEASE-p6\n14.1-RELEASE-p5\n14.1-RELEASE-p6\n')
    host.on('pciconf', '-lv', out=pciconf(pci))
    host.on('kldstat', '-q', '-m', 'vmm', rc=0 if vmm_loaded else 1)
    values = {'kern.osreldate': '1401000', 'hw.model': model, 'hw.physmem': '17014808576', 'hw.pagesize': '4096',
              'vm.stats.vm.v_free_count': '2411265', 'vm.stats.vm.v_inactive_count': '524288'}
    values.update(sysctls or {})
    # sysctl -i: NAME: VALUE for the OIDs that exist, unknown ones skipped silently (exit status 1 then, as the lab's).
    host.on('sysctl', '-i', *host_facts.SYSCTLS, rc=0 if set(host_facts.SYSCTLS) <= set(values) else 1,
            out=''.join('%s: %s\n' % (name, values[name]) for name in host_facts.SYSCTLS if name in values))
    env = {'hint.atkbd.0.at': 'atkbdc', 'kern.vty': 'vt'}
    env.update(kenv or {})
    host.on('kenv', out=''.join('%s="%s"\n' % item for item in env.items()))
    host.default = (1, '', '')  # every other command: not there


def test_intel_thinkpad_before_setup(host, run, dmesg):
    dmesg.write_text('CPU: Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz (2112.00-MHz K8-class CPU)\n'
                     '  Origin="GenuineIntel"  Id=0x806ea  Family=0x6  Model=0x8e  Stepping=10\n'
                     'dmar0: <DMA remap> iomem 0xfed90000-0xfed90fff on acpi0\n'
                     'dmar1: <DMA remap> iomem 0xfed91000-0xfed91fff on acpi0\n')
    laptop(host, 'Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz', 'thinkpad-t480-14.txt', vmm_loaded=False)
    result = run(host_facts.main, {})
    assert not result['changed']
    facts = result['ansible_facts']['wifibox_host']
    assert facts['freebsd'] == {'userland': '14.1-RELEASE-p6', 'kernel_installed': '14.1-RELEASE-p6',
                                'kernel_running': '14.1-RELEASE-p5', 'osreldate': 1401000, 'major': 14}
    assert facts['cpu'] == {'model': 'Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz', 'vendor': 'intel', 'origin': 'GenuineIntel'}
    assert facts['vmm'] == {'loaded': False, 'ppt_devices': None, 'pptdevs': [], 'vms': []}
    assert facts['iommu'] == {'kind': 'vt-d', 'enabled': True, 'initialized': None, 'amdvi_count': None, 'units': 2}
    assert facts['memory'] == {'physical': 17014808576, 'free': 2411265 * 4096, 'inactive': 524288 * 4096}
    (card,) = facts['wireless']
    assert card['name'] == 'iwm0' and card['pptdev'] == '3/0/0'
    assert card['native_driver'] == 'iwm' and card['kernel_module'] == 'if_iwm' and card['problems'] == []
    assert facts['warnings'] == []
    assert not any(call[0] in ('kldload', 'kldunload', 'ifconfig') for call in host.calls)


def test_intel_after_reboot_with_the_card_held_by_ppt(host, run, dmesg):
    laptop(host, 'Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz', 'thinkpad-t480-ppt.txt',
           sysctls={'hw.vmm.ppt.devices': '1', 'hw.vmm.iommu.enable': '1', 'hw.vmm.iommu.initialized': '1'},
           kenv={'pptdevs': '3/0/0'})
    facts = run(host_facts.main, {})['ansible_facts']['wifibox_host']
    assert facts['cpu']['vendor'] == 'intel' and facts['cpu']['origin'] is None
    assert facts['vmm'] == {'loaded': True, 'ppt_devices': 1, 'pptdevs': ['3/0/0'], 'vms': []}
    assert facts['iommu']['initialized'] is True
    (card,) = facts['wireless']
    assert card['held_by_ppt'] and card['native_driver'] is None and card['kernel_module'] is None


def test_amd_without_amdvi_warns_with_the_fix_and_flags_the_ax210(host, run, dmesg):
    dmesg.write_text('  Origin="AuthenticAMD"  Id=0xa50f00  Family=0x19  Model=0x50  Stepping=0\n')
    laptop(host, 'AMD Ryzen 7 PRO 6850U with Radeon Graphics', 'amd-two-cards.txt', vmm_loaded=False)
    result = run(host_facts.main, {})
    facts = result['ansible_facts']['wifibox_host']
    assert facts['cpu']['vendor'] == 'amd'
    assert facts['iommu'] == {'kind': 'amd-vi', 'enabled': None, 'initialized': None, 'amdvi_count': None, 'units': 0}
    assert [card['name'] for card in facts['wireless']] == ['rtw890', 'iwlwifi0']
    assert [card['kernel_module'] for card in facts['wireless']] == ['if_rtw89', 'if_iwlwifi']
    warnings = facts['warnings']
    assert any('hw.vmm.amdvi.enable=1' in text and 'loader_conf' in text for text in warnings)
    assert any('AX210' in text and 'firmware' in text for text in warnings)
    assert set(warnings) <= set(result['warning_texts'])


def test_amd_with_amdvi_enabled_and_iommu_initialized(host, run, dmesg):
    laptop(host, 'AMD Ryzen 7 PRO 4750U with Radeon Graphics', 'amd-two-cards.txt',
           sysctls={'hw.vmm.amdvi.enable': '1', 'hw.vmm.iommu.initialized': '1', 'hw.vmm.amdvi.count': '1',
                    'hw.vmm.ppt.devices': '0'})
    facts = run(host_facts.main, {})['ansible_facts']['wifibox_host']
    assert facts['iommu'] == {'kind': 'amd-vi', 'enabled': True, 'initialized': True, 'amdvi_count': 1, 'units': None}
    assert not any('amdvi' in text for text in facts['warnings'])


def test_firmware_without_an_iommu_warns_with_the_fix(host, run, dmesg):
    dmesg.write_text('  Origin="GenuineIntel"  Id=0x306d4  Family=0x6  Model=0x3d  Stepping=4\n'
                     'iwm0: <Intel(R) Dual Band Wireless AC 7265> at device 0.0 on pci2\n')
    laptop(host, 'Intel(R) Core(TM) i5-5300U CPU @ 2.30GHz', 'thinkpad-t480-14.txt', vmm_loaded=False)
    facts = run(host_facts.main, {})['ansible_facts']['wifibox_host']
    assert facts['iommu']['units'] == 0
    assert any('no IOMMU' in text and 'VT-d' in text and 'firmware setup' in text for text in facts['warnings'])


@pytest.fixture(autouse=True)
def vmm_dir(tmp_path, monkeypatch):
    path = tmp_path / 'vmm'
    path.mkdir()
    monkeypatch.setattr(host_facts, 'VMM_DEV_DIR', str(path))
    return path


def test_iommu_not_yet_initialized_before_the_vm_starts_is_fine(host, run, dmesg, vmm_dir):
    """iommu.c/vmm.c: the IOMMU is initialized at the first vm_assign_pptdev(), not when ppt claims a device."""
    laptop(host, 'Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz', 'thinkpad-t480-ppt.txt',
           sysctls={'hw.vmm.ppt.devices': '1', 'hw.vmm.iommu.enable': '1', 'hw.vmm.iommu.initialized': '0'},
           kenv={'pptdevs': '3/0/0'})
    facts = run(host_facts.main, {})['ansible_facts']['wifibox_host']
    assert facts['iommu']['initialized'] is False and facts['vmm']['vms'] == []
    assert not any('IOMMU' in text for text in facts['warnings'])


def test_iommu_not_initialized_while_a_vm_exists(host, run, dmesg, vmm_dir):
    (vmm_dir / 'wifibox').write_text('')
    laptop(host, 'Intel(R) Core(TM) i5-2520M CPU @ 2.50GHz', 'thinkpad-t480-ppt.txt',
           sysctls={'hw.vmm.ppt.devices': '1', 'hw.vmm.iommu.enable': '1', 'hw.vmm.iommu.initialized': '0'})
    facts = run(host_facts.main, {})['ansible_facts']['wifibox_host']
    assert facts['vmm']['vms'] == ['wifibox']
    assert any('IOMMU is not initialized' in text and 'wifibox' in text and 'firmware setup' in text
               for text in facts['warnings'])


def test_no_wifi_card_and_a_broadcom_card(host, run, dmesg):
    laptop(host, 'Intel(R) Xeon(R) E-2224', 'desktop-no-wifi.txt')
    facts = run(host_facts.main, {})['ansible_facts']['wifibox_host']
    assert facts['wireless'] == [] and any('No Wi-Fi card' in text for text in facts['warnings'])


def test_brcmfmac_card_has_no_problem(host, run, dmesg):
    laptop(host, 'Intel(R) Core(TM) i5-5257U CPU @ 2.70GHz', 'macbook-bcm4350.txt')
    facts = run(host_facts.main, {})['ansible_facts']['wifibox_host']
    assert facts['wireless'] and all(card['problems'] == [] for card in facts['wireless'])


def test_missing_optional_commands_give_nulls(host, run, dmesg):
    host.on('pciconf', '-lv', out=pciconf('thinkpad-t480-14.txt'))
    host.default = (1, '', '')
    facts = run(host_facts.main, {})['ansible_facts']['wifibox_host']
    assert facts['freebsd']['userland'] is None and facts['freebsd']['major'] is None
    # freebsd-version -kru failed: each part was asked on its own
    assert host.ran('freebsd-version', '-u') and host.ran('uname', '-r')
    assert facts['cpu'] == {'model': None, 'vendor': None, 'origin': None}
    assert facts['memory'] == {'physical': None, 'free': None, 'inactive': None}


def test_pciconf_failure_fails(host, run, dmesg):
    host.default = (1, '', '')
    host.on('pciconf', '-lv', rc=1, err='pciconf: /dev/pci: Permission denied\n')
    result = run(host_facts.main, {})
    assert result['failed'] and 'Permission denied' in result['msg']


def test_one_sysctl_and_one_kenv_call(host, run, dmesg):
    laptop(host, 'Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz', 'thinkpad-t480-ppt.txt',
           sysctls={'hw.vmm.ppt.devices': '1', 'hw.vmm.iommu.enable': '1', 'hw.vmm.iommu.initialized': '1'},
           kenv={'pptdevs': '3/0/0 4/0/0', 'pptdevs2': '5/0/0'})
    facts = run(host_facts.main, {})['ansible_facts']['wifibox_host']
    assert facts['vmm']['pptdevs'] == ['3/0/0', '4/0/0', '5/0/0']
    assert [call[0] for call in host.calls].count('sysctl') == 1 and [call[0] for call in host.calls].count('kenv') == 1
    assert len(host.calls) == 5  # freebsd-version, sysctl, kenv, kldstat, pciconf


def test_an_old_freebsd_version_falls_back_to_one_call_each(host, run, dmesg):
    host.on('freebsd-version', '-kru', rc=1, err='usage: freebsd-version [-ku] [-j jail]\n')
    host.on('freebsd-version', '-k', out='11.0-RELEASE\n')
    host.on('freebsd-version', '-u', out='11.0-RELEASE-p1\n')
    host.on('uname', '-r', out='11.0-RELEASE\n')
    host.on('pciconf', '-lv', out=pciconf('thinkpad-t480-14.txt'))
    host.default = (1, '', '')
    facts = run(host_facts.main, {})['ansible_facts']['wifibox_host']
    assert facts['freebsd'] == {'userland': '11.0-RELEASE-p1', 'kernel_installed': '11.0-RELEASE',
                                'kernel_running': '11.0-RELEASE', 'osreldate': None, 'major': 11}


def test_a_failing_sysctl_fails(host, run, dmesg):
    laptop(host, 'Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz', 'thinkpad-t480-14.txt', vmm_loaded=False)
    host.answers[('sysctl', '-i') + host_facts.SYSCTLS] = [(1, '', 'sysctl: sysctl(hw.model): Operation not permitted\n')]
    result = run(host_facts.main, {})
    assert result['failed'] and 'Operation not permitted' in result['msg']


def test_packages_in_the_same_call(host, run, dmesg):
    laptop(host, 'Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz', 'thinkpad-t480-14.txt', vmm_loaded=False)
    host.on('pkg', 'query', '%n', 'wifibox-alpine', 'edk2-bhyve', 'socat', out='socat\nwifibox-alpine\n')
    facts = run(host_facts.main, {'packages': ['wifibox-alpine', 'edk2-bhyve', 'socat']})['ansible_facts']['wifibox_host']
    assert facts['packages'] == {'wifibox-alpine': True, 'edk2-bhyve': False, 'socat': True}


def test_no_package_installed_is_not_an_error(host, run, dmesg):
    laptop(host, 'Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz', 'thinkpad-t480-14.txt', vmm_loaded=False)
    host.on('pkg', 'query', '%n', 'socat', rc=1)
    facts = run(host_facts.main, {'packages': ['socat']})['ansible_facts']['wifibox_host']
    assert facts['packages'] == {'socat': False}


def test_without_packages_no_pkg_call(host, run, dmesg):
    laptop(host, 'Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz', 'thinkpad-t480-14.txt', vmm_loaded=False)
    facts = run(host_facts.main, {})['ansible_facts']['wifibox_host']
    assert facts['packages'] == {} and not any(call[0] == 'pkg' for call in host.calls)


def test_a_broken_pkg_fails_with_the_fix(host, run, dmesg):
    laptop(host, 'Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz', 'thinkpad-t480-14.txt', vmm_loaded=False)
    host.on('pkg', 'query', '%n', 'socat', rc=70, err='pkg: unable to open the database\n')
    result = run(host_facts.main, {'packages': ['socat']})
    assert result['failed'] and 'pkg query %n socat' in result['msg'] and 'database' in result['msg']
    assert 'pkg bootstrap' in result['msg']
