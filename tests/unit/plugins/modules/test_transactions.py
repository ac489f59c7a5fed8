# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Nothing half-done: every command a task runs is made to fail in turn (and a full disk, and a
missing command); the host's state and files must be what they were, with changed=false, or the
result must say exactly what was left changed (changed=true).

The host is fakebsd.FakeFreeBSD, a stateful model, so "what they were" is checked on state, not
on the calls made.
"""

import errno
import os

import pytest

from ansible.module_utils import basic

from ansible_collections.wifibox.bhyve.plugins.module_utils import fileedit
from ansible_collections.wifibox.bhyve.plugins.modules import bridge, kld

from ansible_collections.wifibox.bhyve.tests.unit.plugins.modules.fakebsd import FakeFreeBSD

KO = ('vmm', 'nmdm', 'if_bridge', 'bridgestp', 'if_iwm')


@pytest.fixture
def new_host(tmp_path, monkeypatch):
    """A factory of fresh FakeFreeBSD hosts (one per run), wired into AnsibleModule."""
    module_dir = tmp_path / 'kernel'
    module_dir.mkdir()
    for name in KO:
        (module_dir / (name + '.ko')).write_text('')
    current = {}

    def factory(**kwargs):
        current['host'] = FakeFreeBSD(str(module_dir), **kwargs)
        return current['host']
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', lambda self, args, **kw: current['host'].run_command(args, **kw))
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', lambda self, name, *a, **kw: current['host'].get_bin_path(name))
    monkeypatch.setattr(kld, 'VMM_DEV_DIR', str(tmp_path / 'no-vmm'))
    return factory


def normalised(snapshot):
    loaded, interfaces, sysctls = snapshot
    return loaded, dict((name, dict(iface, members=sorted(iface['members']))) for name, iface in interfaces.items()), sysctls


def changing_calls_of(new_host, run, main, args, setup, **host_kwargs):
    host = new_host(**host_kwargs)
    setup()
    result = run(main, args)
    assert not result.get('failed'), result
    assert result['changed']
    return host.changing_calls()


def assert_untouched(result, host, before, files):
    assert result['failed'], result
    assert result['changed'] is False, result
    assert result['left'] == []
    assert normalised(host.snapshot()) == normalised(before)
    for path, content in files.items():
        if content is None:
            assert not os.path.exists(path), path
        else:
            with open(path, 'rb') as handle:
                assert handle.read() == content, path
    leftovers = [name for path in files for name in os.listdir(os.path.dirname(path)) if name.endswith('.wifibox-tmp')]
    assert leftovers == []


# --- kld ---------------------------------------------------------------------------------------

KLD_CASES = {
    'load three, persist in loader.conf': (
        dict(name=['nmdm', 'vmm', 'if_bridge'], persist='loader'), dict(loaded=['zfs'])),
    'unload two, persist in kld_list': (
        dict(name=['nmdm', 'vmm'], state='absent', persist='kld_list'), dict(loaded=['zfs', 'vmm', 'nmdm'])),
}


def kld_files(tmp_path):
    loader = tmp_path / 'loader.conf'
    rc = tmp_path / 'rc.conf'

    def setup():
        loader.write_text('# loader\nzfs_load="YES"\nvmm_load="YES"\n')
        rc.write_text('# rc\nkld_list="nmdm fusefs"\n')
    return dict(loader_conf_path=str(loader), rc_conf_path=str(rc)), setup


@pytest.mark.parametrize('case', sorted(KLD_CASES))
def test_kld_each_command_failing_in_turn_leaves_the_host_as_it_was(new_host, run, tmp_path, case):
    args, host_kwargs = KLD_CASES[case]
    paths, setup = kld_files(tmp_path)
    args = dict(args, **paths)
    calls = changing_calls_of(new_host, run, kld.main, args, setup, **host_kwargs)
    assert len(calls) >= 2
    for index, failing in enumerate(calls):
        host = new_host(**host_kwargs)
        setup()
        before = host.snapshot()
        files = dict((path, open(path, 'rb').read()) for path in paths.values())
        host.fail_on(lambda argv, failing=failing: argv == failing)
        result = run(kld.main, args)
        assert_untouched(result, host, before, files)
        assert ' '.join(failing[1:]) in result['msg']
        assert len(result['undone']) == index, (index, result)


@pytest.mark.parametrize('case', sorted(KLD_CASES))
def test_kld_full_disk_after_the_kernel_changed_undoes_the_kernel(new_host, run, tmp_path, monkeypatch, case):
    args, host_kwargs = KLD_CASES[case]
    paths, setup = kld_files(tmp_path)
    host = new_host(**host_kwargs)
    setup()
    before = host.snapshot()
    files = dict((path, open(path, 'rb').read()) for path in paths.values())

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(fileedit.os, 'fsync', full)
    result = run(kld.main, dict(args, **paths))
    assert_untouched(result, host, before, files)
    assert 'No space left on device' in result['msg'] and 'the file was not changed' in result['msg']
    assert len(result['undone']) == 2 or len(result['undone']) == 3


@pytest.mark.parametrize('program', ['kldload', 'kldunload', 'kldstat', 'sysctl'])
def test_kld_missing_command_changes_nothing(new_host, run, tmp_path, program):
    paths, setup = kld_files(tmp_path)
    host = new_host(loaded=['zfs'])
    setup()
    host.missing.add(program)
    before = host.snapshot()
    files = dict((path, open(path, 'rb').read()) for path in paths.values())
    result = run(kld.main, dict(name=['nmdm', 'vmm'], persist='loader', **paths))
    result.setdefault('left', [])
    assert_untouched(result, host, before, files)
    assert program in result['msg'] and 'was not found' in result['msg']


def test_kld_undo_that_fails_reports_changed_and_exactly_what_was_left(new_host, run, tmp_path):
    host = new_host(loaded=['zfs'])
    host.fail_on(lambda argv: argv == ('kldload', '-n', 'vmm'), 'an error occurred while loading module vmm')
    host.fail_on(lambda argv: argv == ('kldunload', 'nmdm.ko'), "can't unload file: Device busy")
    result = run(kld.main, dict(name=['nmdm', 'vmm']))
    assert result['failed'] and result['changed'] is True
    assert result['left'] == ["loaded nmdm (undo failed: kldunload nmdm.ko exited with status 1: "
                              "kldunload: can't unload file: Device busy)"]
    assert 'left changed: loaded nmdm' in result['msg']
    assert host.loaded == ['zfs', 'nmdm']


def test_kld_unknown_module_is_refused_before_loading_the_others(new_host, run):
    host = new_host(loaded=['zfs'])
    result = run(kld.main, dict(name=['nmdm', 'if_nonexistent', 'vmm']))
    assert result['failed'] and result['changed'] is False
    assert 'no if_nonexistent.ko in the module path' in result['msg'] and 'nothing was loaded' in result['msg']
    assert host.loaded == ['zfs'] and host.changing_calls() == []


def test_kld_refuses_to_unload_if_bridge_while_a_bridge_exists(new_host, run):
    host = new_host(loaded=['if_bridge'])
    host.interfaces['wifibox0'] = dict(kind='bridge', mtu=1500, up=True, members=[])
    result = run(kld.main, dict(name=['if_bridge'], state='absent'))
    assert result['failed'] and 'destroys every bridge' in result['msg'] and 'wifibox0' in result['msg']
    assert host.loaded == ['if_bridge']


# --- bridge -------------------------------------------------------------------------------------

def bridge_world(kind):
    """Host interfaces before the task, per scenario."""
    ifs = {
        'em0': dict(kind='ether', mtu=1500, up=True, members=[]),
        'lo0': dict(kind='lo', mtu=16384, up=True, members=[]),
    }
    if kind in ('existing', 'rename'):
        ifs['bridge0' if kind == 'rename' else 'wifibox0'] = dict(kind='bridge', mtu=1500, up=False, members=['tap0', 'tap9'])
        ifs['tap0'] = dict(kind='tap', mtu=1500, up=True, members=[])
        ifs['tap9'] = dict(kind='tap', mtu=1500, up=True, members=[])
    return ifs


BRIDGE_CASES = {
    'create bridge and two taps, sysctl and sysctl.conf': (
        dict(members=['tap0', 'tap1'], tap_up_on_open=True), 'none'),
    'existing bridge: purge, add, bring up': (
        dict(members=['tap0', 'wbtap'], purge_members=True, tap_up_on_open=True), 'existing'),
    'rename bridge0 and add a tap': (
        dict(rename_from='bridge0', members=['tap0', 'tap9', 'tap2']), 'rename'),
    'destroy bridge and taps': (
        dict(state='absent', members=['tap0', 'tap9'], tap_up_on_open=False), 'existing'),
}


@pytest.mark.parametrize('case', sorted(BRIDGE_CASES))
def test_bridge_each_command_failing_in_turn_leaves_the_host_as_it_was(new_host, run, tmp_path, case):
    args, world = BRIDGE_CASES[case]
    conf = tmp_path / 'sysctl.conf'

    def setup():
        conf.write_text('# sysctl\nkern.coredump=0\nnet.link.tap.up_on_open=1\n')
    args = dict(args, sysctl_conf_path=str(conf))
    sysctls = {'net.link.tap.up_on_open': '0' if args.get('tap_up_on_open') else '1'}
    calls = changing_calls_of(new_host, run, bridge.main, args, setup, interfaces=bridge_world(world), sysctls=dict(sysctls))
    assert len(calls) >= 2
    for index, failing in enumerate(calls):
        host = new_host(interfaces=bridge_world(world), sysctls=dict(sysctls))
        setup()
        before = host.snapshot()
        host.fail_on(lambda argv, failing=failing: argv == failing)
        result = run(bridge.main, args)
        assert_untouched(result, host, before, {str(conf): conf.read_bytes()})
        assert ' '.join(failing) in result['msg']
        assert len(result['undone']) == index, (index, result)


def test_bridge_full_disk_after_the_interfaces_changed_undoes_them(new_host, run, tmp_path, monkeypatch):
    conf = tmp_path / 'sysctl.conf'
    conf.write_text('kern.coredump=0\n')
    host = new_host()
    before = host.snapshot()

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(fileedit.os, 'fsync', full)
    result = run(bridge.main, dict(members=['tap0'], tap_up_on_open=True, sysctl_conf_path=str(conf)))
    assert_untouched(result, host, before, {str(conf): b'kern.coredump=0\n'})
    assert 'No space left on device' in result['msg']
    assert result['undone'] == ['added tap0 to wifibox0', 'created tap0', 'created wifibox0', 'loaded if_bridge',
                                'set net.link.tap.up_on_open=1']


@pytest.mark.parametrize('program', ['ifconfig', 'sysctl'])
def test_bridge_missing_command_changes_nothing(new_host, run, tmp_path, program):
    host = new_host()
    host.missing.add(program)
    before = host.snapshot()
    result = run(bridge.main, dict(members=['tap0'], tap_up_on_open=True, sysctl_conf_path=str(tmp_path / 'sysctl.conf')))
    assert result['failed'] and program in result['msg'] and 'was not found' in result['msg']
    assert host.snapshot() == before and not (tmp_path / 'sysctl.conf').exists()


def test_bridge_undo_that_fails_reports_changed_and_what_was_left(new_host, run):
    host = new_host()
    host.fail_on(lambda argv: argv == ('ifconfig', 'wifibox0', 'addm', 'tap1'), 'BRDGADD tap1: Invalid argument')
    host.fail_on(lambda argv: argv == ('ifconfig', 'wifibox0', 'destroy'), 'SIOCIFDESTROY: Device busy')
    result = run(bridge.main, dict(members=['tap0', 'tap1']))
    assert result['failed'] and result['changed'] is True
    assert result['left'] == ['created wifibox0 (undo failed: ifconfig wifibox0 destroy exited with status 1: '
                              'ifconfig: SIOCIFDESTROY: Device busy)',
                              'loaded if_bridge (kept: a later change could not be undone)']
    assert result['undone'] == ['created tap1', 'added tap0 to wifibox0', 'created tap0']
    assert sorted(host.interfaces) == ['em0', 'lo0', 'wifibox0']


def test_bridge_loopback_member_is_refused_with_freebsds_reason_before_anything(new_host, run):
    host = new_host()
    result = run(bridge.main, dict(members=['tap0', 'lo0']))
    assert result['failed'] and 'lo0 is not an Ethernet interface' in result['msg'] and 'loopback' in result['msg']
    assert 'MTU' not in result['msg']
    assert host.changing_calls() == [] and sorted(host.interfaces) == ['em0', 'lo0']


def test_bridge_member_with_another_mtu_is_refused_before_anything(new_host, run):
    host = new_host()
    host.interfaces['tap7'] = dict(kind='tap', mtu=9000, up=True, members=[])
    result = run(bridge.main, dict(members=['tap0', 'tap7']))
    assert result['failed'] and 'tap7 has MTU 9000' in result['msg'] and 'members have MTU 1500' in result['msg']
    assert host.changing_calls() == []


def test_bridge_first_member_defines_the_mtu(new_host, run):
    host = new_host()
    host.interfaces['tap7'] = dict(kind='tap', mtu=9000, up=True, members=[])
    result = run(bridge.main, dict(members=['tap7']))
    assert not result.get('failed') and result['members'] == ['tap7']


@pytest.mark.parametrize('member, kind', [('wlan0', 'ether'), ('em0', 'ether'), ('lo0', 'lo')])
def test_bridge_absent_never_destroys_what_is_not_a_tap(new_host, run, member, kind):
    host = new_host(interfaces=bridge_world('existing'))
    host.interfaces.setdefault(member, dict(kind=kind, mtu=1500, up=True, members=[]))
    before = host.snapshot()
    result = run(bridge.main, dict(state='absent', members=['tap0', member]))
    assert result['failed'] and '%s is not a tap' % member in result['msg']
    assert host.snapshot() == before and host.changing_calls() == []


def test_bridge_absent_refuses_a_name_that_is_not_a_bridge(new_host, run):
    host = new_host()
    before = host.snapshot()
    result = run(bridge.main, dict(name='em0', state='absent'))
    assert result['failed'] and 'em0 is not a bridge' in result['msg']
    assert host.snapshot() == before


def test_bridge_absent_destroys_named_taps(new_host, run):
    host = new_host(interfaces=bridge_world('existing'))
    host.interfaces['wbtap'] = dict(kind='tap', mtu=1500, up=True, members=[])
    result = run(bridge.main, dict(state='absent', members=['tap0', 'wbtap']))
    assert result['changed'] and sorted(host.interfaces) == ['em0', 'lo0', 'tap9']


# --- a read that fails is not "absent" ------------------------------------------------------------

@pytest.mark.parametrize('failing', [('kldstat', '-n', 'nmdm'), ('kldstat', '-q', '-m', 'nmdm')])
def test_kld_a_failing_kldstat_is_an_error_not_a_missing_module(new_host, run, failing):
    host = new_host(loaded=['zfs'])
    host.fail_on(lambda argv: argv == failing)
    result = run(kld.main, dict(name=['nmdm']))
    assert result['failed'] and result['changed'] is False
    assert ' '.join(failing) in result['msg'] and 'Operation not permitted' in result['msg']
    assert host.loaded == ['zfs'] and host.changing_calls() == []


def test_bridge_a_failing_sysctl_read_is_not_a_missing_tap_driver(new_host, run, tmp_path):
    host = new_host()
    host.fail_on(lambda argv: argv == ('sysctl', '-n', 'net.link.tap.up_on_open'))
    result = run(bridge.main, dict(members=['tap0'], tap_up_on_open=True, sysctl_conf_path=str(tmp_path / 's.conf')))
    assert result['failed'] and 'sysctl -n net.link.tap.up_on_open exited with status 1' in result['msg']
    assert 'tap(4) driver is missing' not in result['msg']
    assert host.changing_calls() == [] and sorted(host.interfaces) == ['em0', 'lo0']


# --- pci_info: its one command failing or missing --------------------------------------------------

@pytest.mark.parametrize('fault', ['fails', 'missing'])
def test_pci_info_with_pciconf_failing_or_missing_says_so(new_host, run, fault):
    from ansible_collections.wifibox.bhyve.plugins.modules import pci_info
    host = new_host()
    host._pciconf = lambda args: (0, '', '')
    if fault == 'fails':
        host.fail_on(lambda argv: argv[0] == 'pciconf')
    else:
        host.missing.add('pciconf')
    result = run(pci_info.main, dict(selector='pci0:3:0:0'))
    assert result['failed'] and not result.get('changed') and 'pciconf' in result['msg']
    assert ('Operation not permitted' if fault == 'fails' else 'was not found') in result['msg']
