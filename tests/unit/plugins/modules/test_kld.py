# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""kld with kldstat/kldload/kldunload scripted as FREEBSD.md section 4 describes them."""

import pytest

from ansible_collections.wifibox.bhyve.plugins.modules import kld

HEADER = 'Id Refs Address                Size Name\n'
ROWS = {
    'vmm': ' 8    1 0xffffffff82c10000   3bb2a8 vmm.ko\n',
    'nmdm': ' 9    1 0xffffffff83000000     3550 nmdm.ko\n',
    'if_bridge': '10    1 0xffffffff83004000    24a78 if_bridge.ko\n',
    'bridgestp': '11    2 0xffffffff83029000     6ed8 bridgestp.ko\n',
}


def loaded(host, name):
    host.on('kldstat', '-n', name, out=HEADER + ROWS[name])


def not_loaded(host, name, in_kernel=False):
    host.on('kldstat', '-n', name, rc=1, err="kldstat: can't find file %s: No such file or directory\n" % name)
    host.on('kldstat', '-q', '-m', name, rc=0 if in_kernel else 1)


KO_FILES = ('vmm', 'nmdm', 'if_bridge', 'bridgestp', 'if_iwm')


@pytest.fixture(autouse=True)
def module_dir(tmp_path, host):
    """A kern.module_path with the .ko files of KO_FILES, as kldload would search it."""
    kernel = tmp_path / 'kernel'
    kernel.mkdir()
    for name in KO_FILES:
        (kernel / (name + '.ko')).write_text('')
    host.on('sysctl', '-n', 'kern.module_path', out='%s;%s\n' % (kernel, tmp_path / 'modules'))
    host.on('ifconfig', '-g', 'bridge', out='')
    host.on('kldstat', out=HEADER)
    return kernel


@pytest.fixture
def vmdir(tmp_path, monkeypatch):
    path = tmp_path / 'vmm'
    path.mkdir()
    monkeypatch.setattr(kld, 'VMM_DEV_DIR', str(path))
    return path


def test_loads_what_is_missing_only(host, run, vmdir):
    loaded(host, 'vmm')
    not_loaded(host, 'nmdm')
    host.on('kldload', '-n', 'nmdm')
    result = run(kld.main, dict(name=['vmm', 'nmdm.ko']))
    assert result['changed'] and result['loaded'] == ['nmdm']
    assert result['modules'] == {'vmm': 'file', 'nmdm': 'file'}
    assert host.changing_calls() == [('kldload', '-n', 'nmdm')]


def test_nothing_to_do(host, run, vmdir):
    loaded(host, 'vmm')
    result = run(kld.main, dict(name=['vmm']))
    assert not result['changed'] and result['loaded'] == []
    assert host.changing_calls() == []


def test_check_mode_runs_nothing(host, run, vmdir):
    not_loaded(host, 'nmdm')
    result = run(kld.main, dict(name=['nmdm']), check_mode=True)
    assert result['changed'] and result['loaded'] == ['nmdm']
    assert host.changing_calls() == []


def test_compiled_in_modules_count_as_loaded(host, run, vmdir):
    not_loaded(host, 'if_tap', in_kernel=True)
    result = run(kld.main, dict(name=['if_tap'], persist='kld_list', rc_conf_path='/nonexistent/rc.conf'))
    assert not result['changed'] and result['modules'] == {'if_tap': 'kernel'}
    assert any('compiled into the kernel' in text for text in result['warning_texts'])


def test_compiled_in_modules_cannot_be_unloaded(host, run, vmdir):
    not_loaded(host, 'if_tap', in_kernel=True)
    result = run(kld.main, dict(name=['if_tap'], state='absent'))
    assert result['failed'] and 'if_tap: it is compiled into the kernel' in result['msg'].replace('unload ', '')
    assert host.changing_calls() == []


def test_unload(host, run, vmdir):
    loaded(host, 'nmdm')
    host.on('kldunload', 'nmdm')
    result = run(kld.main, dict(name=['nmdm'], state='absent'))
    assert result['changed'] and result['unloaded'] == ['nmdm'] and result['modules'] == {'nmdm': None}
    assert host.ran('kldunload', 'nmdm')


def test_unload_of_what_is_not_loaded_is_no_change(host, run, vmdir):
    not_loaded(host, 'nmdm')
    assert not run(kld.main, dict(name=['nmdm'], state='absent'))['changed']


def test_unloading_a_module_others_depend_on_is_a_clear_error(host, run, vmdir):
    loaded(host, 'bridgestp')
    result = run(kld.main, dict(name=['bridgestp'], state='absent'))
    assert result['failed']
    assert 'cannot unload bridgestp: 1 other loaded module(s) depend on it' in result['msg']
    assert 'unload those first' in result['msg']
    assert host.changing_calls() == []


def test_unloading_dependents_first_in_one_task(host, run, vmdir):
    loaded(host, 'if_bridge')
    host.on('kldstat', '-n', 'bridgestp', out=HEADER + ROWS['bridgestp'])
    host.on('kldstat', '-n', 'bridgestp', out=HEADER + ROWS['bridgestp'].replace('  2 ', '  1 '))
    host.on('ifconfig', '-g', 'bridge', out='')
    host.on('kldunload', 'if_bridge')
    host.on('kldunload', 'bridgestp')
    result = run(kld.main, dict(name=['if_bridge', 'bridgestp'], state='absent'))
    assert result['unloaded'] == ['if_bridge', 'bridgestp']


def test_if_bridge_is_not_unloaded_while_a_bridge_exists(host, run, vmdir):
    """if_bridge.c: MOD_UNLOAD detaches the cloner, which destroys every bridge."""
    loaded(host, 'if_bridge')
    host.answers[('ifconfig', '-g', 'bridge')] = [(0, 'wifibox0\n', '')]
    result = run(kld.main, dict(name=['if_bridge'], state='absent'))
    assert result['failed'] and 'destroys every bridge, and wifibox0 exist(s)' in result['msg']
    assert host.ran('ifconfig', '-g', 'bridge')
    assert host.changing_calls() == []


def test_vmm_with_a_virtual_machine_is_a_clear_error(host, run, vmdir):
    (vmdir / 'wifibox').write_text('')
    loaded(host, 'vmm')
    result = run(kld.main, dict(name=['vmm'], state='absent'))
    assert result['failed'] and 'virtual machines still exist (wifibox' in result['msg']
    assert 'bhyvectl --vm=NAME --destroy' in result['msg']
    assert host.changing_calls() == []


def test_device_busy_from_kldunload_is_explained(host, run, vmdir):
    loaded(host, 'vmm')
    host.on('kldunload', 'vmm', rc=1, err="kldunload: can't unload file: Device busy\n")
    result = run(kld.main, dict(name=['vmm'], state='absent'))
    assert result['failed'] and 'cannot unload vmm' in result['msg'] and 'stop them first' in result['msg']


def test_missing_module_file(host, run, vmdir):
    not_loaded(host, 'if_nope')
    result = run(kld.main, dict(name=['if_nope']))
    assert result['failed'] and 'no if_nope.ko in the module path' in result['msg']
    assert host.changing_calls() == []


def test_failed_init(host, run, vmdir):
    not_loaded(host, 'vmm')
    host.on('kldload', '-n', 'vmm', rc=1, err='kldload: an error occurred while loading module vmm. '
            'Please check dmesg(8) for more details.\n')
    result = run(kld.main, dict(name=['vmm']))
    assert result['failed'] and 'dmesg' in result['msg']


@pytest.mark.parametrize('name', ['/boot/kernel/vmm.ko', 'vmm load', '', '.ko'])
def test_bad_names(host, run, vmdir, name):
    result = run(kld.main, dict(name=[name]))
    assert result['failed'] and 'is not a kernel module name' in result['msg']
    assert host.calls == []


def test_persist_in_kld_list(host, run, vmdir, tmp_path):
    rc = tmp_path / 'rc.conf'
    rc.write_text('# rc\nkld_list="fusefs"\n')
    loaded(host, 'vmm')
    not_loaded(host, 'nmdm')
    host.on('kldload', '-n', 'nmdm')
    result = run(kld.main, dict(name=['vmm', 'nmdm'], persist='kld_list', rc_conf_path=str(rc)), diff=True)
    assert result['changed'] and rc.read_text() == '# rc\nkld_list="fusefs vmm nmdm"\n'
    assert result['diff']['after'] == rc.read_text()
    host.answers.pop(('kldstat', '-n', 'nmdm'))
    loaded(host, 'nmdm')
    assert not run(kld.main, dict(name=['vmm', 'nmdm'], persist='kld_list', rc_conf_path=str(rc)))['changed']


def test_persist_in_loader_conf_and_remove_it(host, run, vmdir, tmp_path):
    loader = tmp_path / 'loader.conf'
    loader.write_text('zfs_load="YES"\n')
    loaded(host, 'vmm')
    result = run(kld.main, dict(name=['vmm'], persist='loader', loader_conf_path=str(loader), backup=True))
    assert result['changed'] and loader.read_text() == 'zfs_load="YES"\nvmm_load="YES"\n'
    assert 'backup_file' in result
    host.on('kldunload', 'vmm')
    run(kld.main, dict(name=['vmm'], state='absent', persist='loader', loader_conf_path=str(loader)))
    assert loader.read_text() == 'zfs_load="YES"\n'


@pytest.mark.parametrize('line, reason', [
    ('vmm_load="YES" # the "vmm" module', 'malformed'),
    ('hw.vmm.amdvi.enable="1" # "AMD"', 'rejects the value'),
    ('this is not a setting', 'malformed'),
])
@pytest.mark.parametrize('check_mode', [False, True])
def test_persist_loader_warns_of_lines_the_loader_misreads(host, run, vmdir, tmp_path, line, reason, check_mode):
    """The same warning as loader_conf's (module_utils/fileedit.warn_misread_lines): the line stays, the task says so."""
    loader = tmp_path / 'loader.conf'
    loader.write_text('# head\n%s\nzfs_load="YES"\n' % line)
    loaded(host, 'nmdm')
    result = run(kld.main, dict(name=['nmdm'], persist='loader', loader_conf_path=str(loader)), check_mode=check_mode)
    assert result['changed']
    expected = '# head\n%s\nzfs_load="YES"\n' % line + ('' if check_mode else 'nmdm_load="YES"\n')
    assert loader.read_text() == expected
    warnings = [text for text in result['warning_texts'] if '%s line 2 %r' % (loader, line) in text]
    assert len(warnings) == 1 and reason in warnings[0] and 'fix or remove that line' in warnings[0]


def test_persist_loader_fixes_a_misread_line_of_its_own_name_without_warning(host, run, vmdir, tmp_path):
    loader = tmp_path / 'loader.conf'
    loader.write_text('nmdm_load="YES" # the "nmdm" module\n')
    loaded(host, 'nmdm')
    result = run(kld.main, dict(name=['nmdm'], persist='loader', loader_conf_path=str(loader)))
    assert result['changed'] and loader.read_text() == '# the "nmdm" module\nnmdm_load="YES"\n'
    assert not [text for text in result['warning_texts'] if 'line ' in text]


def test_persist_kld_list_does_not_read_loader_conf(host, run, vmdir, tmp_path):
    loader = tmp_path / 'loader.conf'
    loader.write_text('this is not a setting\n')
    rc = tmp_path / 'rc.conf'
    rc.write_text('')
    loaded(host, 'nmdm')
    result = run(kld.main, dict(name=['nmdm'], persist='kld_list', rc_conf_path=str(rc), loader_conf_path=str(loader)))
    assert result['changed'] and not [text for text in result['warning_texts'] if 'line ' in text]


def test_check_mode_with_persistence_writes_nothing(host, run, vmdir, tmp_path):
    loader = tmp_path / 'loader.conf'
    loader.write_text('zfs_load="YES"\n')
    not_loaded(host, 'vmm')
    result = run(kld.main, dict(name=['vmm'], persist='loader', loader_conf_path=str(loader)), check_mode=True, diff=True)
    assert result['changed'] and result['diff']['after'].endswith('vmm_load="YES"\n')
    assert loader.read_text() == 'zfs_load="YES"\n'
    assert host.changing_calls() == []


def test_a_broken_file_stops_the_task_before_anything_is_loaded(host, run, vmdir, tmp_path):
    rc = tmp_path / 'rc.conf'
    rc.write_text('kld_list="vmm\n')
    before = rc.read_bytes()
    not_loaded(host, 'nmdm')
    result = run(kld.main, dict(name=['nmdm'], persist='kld_list', rc_conf_path=str(rc)))
    assert result['failed'] and 'cannot edit' in result['msg']
    assert rc.read_bytes() == before and host.changing_calls() == []


def test_missing_directory_for_persistence_stops_before_loading(host, run, vmdir, tmp_path):
    not_loaded(host, 'nmdm')
    result = run(kld.main, dict(name=['nmdm'], persist='loader', loader_conf_path=str(tmp_path / 'no' / 'loader.conf')))
    assert result['failed'] and 'does not exist' in result['msg']
    assert host.changing_calls() == []


def test_a_module_name_known_to_linker_hints_is_not_refused(host, run, vmdir, module_dir):
    # kldload resolves a bare module name through kldxref's linker.hints (the file may be named otherwise).
    (module_dir / 'linker.hints').write_bytes(b'\x01\x00\x00\x00' + bytes([8]) + b'iwm_fw_x' + b'\x00' * 3 + b'\x0aif_iwmfw.ko')
    not_loaded(host, 'iwm_fw_x')
    host.on('kldload', '-n', 'iwm_fw_x')
    result = run(kld.main, dict(name=['iwm_fw_x']))
    assert result['changed'] and result['loaded'] == ['iwm_fw_x']
