# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The host modules over real SSH against lab laptops of several hardware profiles.

Each test runs `ansible LAPTOP -m wifibox.bhyve.MODULE` from the repository root
against a lab laptop (lab/README.md): check mode reports the change without
making it, a second run changes nothing, and after `wifibox-lab reboot` the card
is held by ppt(4) where loader_conf said a reboot was needed.  Needs root.
"""


import pytest

from ansible_collections.wifibox.bhyve.tests.integration.labbatch import module

pytestmark = pytest.mark.lab


def read(laptop, path):
    result = laptop.ssh('cat', path)
    return result.stdout if result.returncode == 0 else None


def facts(laptop):
    status, result = module(laptop, 'host_facts')
    assert status == 'SUCCESS', result
    return result['ansible_facts']['wifibox_host']


@pytest.mark.parametrize('profile', ['thinkpad-t480', 'thinkpad-e14-amd', 'framework-ax210', 'thinkpad-x220-13', 'macbookpro-2015'])
def test_loader_conf_passes_the_card_through_after_reboot(lab_laptops, profile):
    from wifibox_lab import api
    laptop = lab_laptops(profile)
    host = facts(laptop)
    card = host['wireless'][0]
    assert not card['held_by_ppt']
    # A card without a FreeBSD driver (the MacBook's BCM4350 is "none") has no module to block.
    assert (card['kernel_module'] is None) == (card['native_driver'] is None)
    tunables = {'vmm_load': 'YES'}
    if host['cpu']['vendor'] == 'amd':
        assert any('hw.vmm.amdvi.enable=1' in text for text in host['warnings'])
        tunables['hw.vmm.amdvi.enable'] = 1
    args = {'tunables': tunables, 'pptdevs': [card['pptdev']]}

    before = read(laptop, '/boot/loader.conf')
    status, result = module(laptop, 'loader_conf', args, check=True, diff=True)
    assert status == 'CHANGED' and result['reboot_required'], result
    assert read(laptop, '/boot/loader.conf') == before

    status, result = module(laptop, 'loader_conf', args)
    assert status == 'CHANGED' and result['reboot_required'], result
    assert 'pptdevs="%s"' % card['pptdev'] in read(laptop, '/boot/loader.conf')
    status, result = module(laptop, 'loader_conf', args)
    assert status == 'SUCCESS' and not result['changed'] and result['reboot_required'], result

    api.reboot(laptop)
    status, result = module(laptop, 'loader_conf', args)
    assert status == 'SUCCESS' and not result['changed'] and not result['reboot_required'], result
    after = facts(laptop)
    held = [item for item in after['wireless'] if item['pptdev'] == card['pptdev']]
    assert held and held[0]['held_by_ppt'], after['wireless']
    assert after['vmm']['loaded'] and after['vmm']['ppt_devices'] >= 1
    assert card['pptdev'] in after['vmm']['pptdevs']
    if host['cpu']['vendor'] == 'amd':
        assert after['iommu']['enabled'] and not any('amdvi' in text for text in after['warnings'])


def test_host_facts_warn_about_problem_cards_and_missing_iommu(lab_laptops):
    from wifibox_lab import api
    ax210 = facts(lab_laptops('framework-ax210'))
    assert any('AX210' in text for text in ax210['warnings'])
    laptop = lab_laptops('latitude-e7450-noiommu')
    card = facts(laptop)['wireless'][0]
    status, result = module(laptop, 'loader_conf', {'tunables': {'vmm_load': 'YES'}, 'pptdevs': [card['pptdev']]})
    assert status == 'CHANGED', result
    api.reboot(laptop)
    host = facts(laptop)
    assert host['vmm']['loaded'] and host['vmm']['ppt_devices'] == 1
    # iommu.c/vmm.c: the IOMMU is initialized when the first pass-through device is given to a VM,
    # so 0 before any VM exists is what a correctly set-up host shows too: no warning yet.
    assert host['iommu']['initialized'] is False
    assert not any('IOMMU is not initialized' in text for text in host['warnings']), host
    # VT-d is off in this laptop's firmware: host_facts says so from dmesg.boot (no dmar unit).
    assert any('firmware offers no IOMMU' in text for text in host['warnings']), host
    assert laptop.ssh('bhyvectl', '--vm=wifibox', '--create').returncode == 0
    host = facts(laptop)
    assert host['vmm']['vms'] == ['wifibox']
    assert any('IOMMU is not initialized' in text for text in host['warnings']), host
    laptop.ssh('bhyvectl', '--vm=wifibox', '--destroy')


@pytest.mark.parametrize('profile', ['thinkpad-t480-13', 'thinkpad-t480-15'])
def test_rc_conf_kld_and_bridge(lab_laptops, profile):
    laptop = lab_laptops(profile)
    rc_args = {'values': {'wifibox_enable': True},
               'add': {'devmatch_blocklist': ['if_iwm'], 'kld_list': ['nmdm']}}
    before = read(laptop, '/etc/rc.conf')
    status, result = module(laptop, 'rc_conf', rc_args, check=True, diff=True)
    assert status == 'CHANGED', result
    assert read(laptop, '/etc/rc.conf') == before
    assert module(laptop, 'rc_conf', rc_args)[0] == 'CHANGED'
    assert module(laptop, 'rc_conf', rc_args)[0] == 'SUCCESS'
    # sysrc reads what the module wrote
    assert laptop.ssh('sysrc', '-n', 'devmatch_blocklist').stdout.split() == ['if_iwm']

    kld_args = {'name': ['if_bridge', 'if_tap', 'nmdm']}
    status, result = module(laptop, 'kld', kld_args, check=True)
    assert status == 'CHANGED' and result['modules']['if_tap'] == 'kernel', result
    assert laptop.ssh('kldstat', '-q', '-n', 'if_bridge').returncode == 1
    assert module(laptop, 'kld', kld_args)[0] == 'CHANGED'
    assert laptop.ssh('kldstat', '-q', '-n', 'if_bridge').returncode == 0
    assert module(laptop, 'kld', kld_args)[0] == 'SUCCESS'
    status, result = module(laptop, 'kld', {'name': ['if_tap'], 'state': 'absent'})
    assert status == 'FAILED' and 'compiled into the kernel' in result['msg']

    bridge_args = {'members': ['tap0'], 'tap_up_on_open': True}
    status, result = module(laptop, 'bridge', bridge_args, check=True)
    assert status == 'CHANGED', result
    assert 'wifibox0' not in laptop.ssh('ifconfig', '-l').stdout.split()
    status, result = module(laptop, 'bridge', bridge_args)
    assert status == 'CHANGED' and result['members'] == ['tap0'] and result['up'], result
    assert laptop.ssh('sysctl', '-n', 'net.link.tap.up_on_open').stdout.strip() == '1'
    assert module(laptop, 'bridge', bridge_args)[0] == 'SUCCESS'
    status, result = module(laptop, 'bridge', {'members': ['tap0'], 'state': 'absent'})
    assert status == 'CHANGED' and not result['exists'], result
    assert module(laptop, 'bridge', {'members': ['tap0'], 'state': 'absent'})[0] == 'SUCCESS'


def test_bad_input_leaves_the_laptop_files_byte_identical(lab_laptops):
    laptop = lab_laptops('thinkpad-t480')
    files = ('/boot/loader.conf', '/etc/rc.conf')
    before = dict((path, read(laptop, path)) for path in files)
    for name, args in (
        ('loader_conf', {'pptdevs': ['9/9/9']}),
        ('loader_conf', {'pptdevs': ['pci0:3:0:0']}),
        ('loader_conf', {'tunables': {'kern.x': 'a"b'}}),
        ('rc_conf', {'values': {'hw.vmm.x': '1'}}),
        ('rc_conf', {'add': {'kld_list': ['vmm nmdm']}}),
    ):
        status, result = module(laptop, name, args)
        assert status == 'FAILED', (name, args, result)
    assert dict((path, read(laptop, path)) for path in files) == before
    # A tap already in another bridge is refused before anything is created.
    assert laptop.ssh('sh', '-c', "'ifconfig bridge0 create && ifconfig tap0 create && ifconfig bridge0 addm tap0'").returncode == 0
    interfaces = laptop.ssh('ifconfig', '-l').stdout
    status, result = module(laptop, 'bridge', {'members': ['tap0']})
    assert status == 'FAILED' and 'tap0 is already a member of bridge0' in result['msg'], result
    assert laptop.ssh('ifconfig', '-l').stdout == interfaces


def test_kld_refuses_to_unload_vmm_while_a_vm_exists(lab_laptops):
    laptop = lab_laptops('thinkpad-t480')
    assert module(laptop, 'kld', {'name': ['vmm']})[0] == 'CHANGED'
    assert laptop.ssh('bhyvectl', '--vm=wifibox', '--create').returncode == 0
    status, result = module(laptop, 'kld', {'name': ['vmm'], 'state': 'absent', 'persist': 'loader'})
    assert status == 'FAILED' and 'virtual machines still exist (wifibox' in result['msg'], result
    assert laptop.ssh('kldstat', '-q', '-m', 'vmm').returncode == 0
    assert laptop.ssh('bhyvectl', '--vm=wifibox', '--destroy').returncode == 0
    status, result = module(laptop, 'kld', {'name': ['vmm'], 'state': 'absent'})
    assert status == 'CHANGED' and result['unloaded'] == ['vmm'], result
    assert laptop.ssh('kldstat', '-q', '-m', 'vmm').returncode == 1
