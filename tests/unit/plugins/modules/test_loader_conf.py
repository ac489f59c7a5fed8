# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""loader_conf on files in tmp_path, with pciconf, kenv and kldstat scripted."""

import os

import pytest

from ansible_collections.wifibox.bhyve.plugins.module_utils import fileedit
from ansible_collections.wifibox.bhyve.plugins.modules import loader_conf

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'pciconf')

EXISTING = '''# Installed by bsdinstall
kern.geom.label.disk_ident.enable="0"
zfs_load="YES"

# pass-through
vmm_load="YES"   # the loader must load vmm for pptdevs
'''


def pciconf(name='thinkpad-t480-14.txt'):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


@pytest.fixture(autouse=True)
def boot_dir(tmp_path, monkeypatch):
    """tmp_path stands for /boot: the module edits only loader.conf and loader.conf.d/*.conf there."""
    monkeypatch.setattr(loader_conf, 'LOADER_CONF', str(tmp_path / 'loader.conf'))
    monkeypatch.setattr(loader_conf, 'LOADER_CONF_DIR', str(tmp_path / 'loader.conf.d'))
    monkeypatch.setattr(loader_conf, 'LOADER_CONF_LOCAL', str(tmp_path / 'loader.conf.local'))
    return tmp_path


@pytest.fixture
def booted(host):
    """A host booted without pptdevs or tunables, vmm loaded from a file."""
    host.default = (1, "", "")  # kenv -q NAME: not set
    host.on('pciconf', '-lv', out=pciconf())
    for name in ('pptdevs', 'pptdevs2', 'pptdevs3', 'hw.vmm.amdvi.enable', 'kern.geom.label.disk_ident.enable'):
        host.on('kenv', '-q', name, rc=1)
    host.on('kldstat', '-n', 'vmm', out='Id Refs Address                Size Name\n 8    1 0xffffffff82c10000   3bb2a8 vmm.ko\n')
    return host


@pytest.fixture
def conf(tmp_path):
    path = tmp_path / 'loader.conf'
    path.write_text(EXISTING)
    return path


def test_adds_a_pptdev_and_a_tunable_keeping_comments_and_order(booted, run, conf):
    result = run(loader_conf.main, dict(path=str(conf), pptdevs=['3/0/0'], tunables={'hw.vmm.amdvi.enable': 1}))
    assert result['changed']
    assert conf.read_text() == EXISTING + 'hw.vmm.amdvi.enable="1"\npptdevs="3/0/0"\n'
    assert result['pptdevs'] == ['3/0/0']
    assert result['pptdevs_variables'] == {'pptdevs': '3/0/0', 'pptdevs2': None, 'pptdevs3': None}
    assert result['tunables'] == {'hw.vmm.amdvi.enable': '1'}
    assert result['reboot_required']
    assert any(reason.startswith('pptdevs: the kernel booted with (none)') for reason in result['reboot_reasons'])
    assert result['file'] == str(conf)


def test_check_mode_reports_the_change_and_the_diff_without_writing(booted, run, conf):
    before = conf.read_bytes()
    result = run(loader_conf.main, dict(path=str(conf), pptdevs=['3/0/0']), check_mode=True, diff=True)
    assert result['changed']
    assert conf.read_bytes() == before
    assert result['diff']['before'] == EXISTING
    assert result['diff']['after'] == EXISTING + 'pptdevs="3/0/0"\n'


def test_second_run_changes_nothing_but_still_needs_the_reboot(booted, run, conf):
    args = dict(path=str(conf), pptdevs=['3/0/0'], tunables={'vmm_load': True})
    assert run(loader_conf.main, args)['changed']
    written = conf.read_bytes()
    again = run(loader_conf.main, args, diff=True)
    assert not again['changed'] and 'diff' not in again
    assert conf.read_bytes() == written
    assert again['reboot_required']


def test_no_reboot_when_the_kernel_booted_with_the_values(host, run, conf):
    host.on('pciconf', '-lv', out=pciconf('thinkpad-t480-ppt.txt'))
    host.on('kenv', '-q', 'pptdevs', out='3/0/0\n')
    host.on('kenv', '-q', 'pptdevs2', rc=1)
    host.on('kenv', '-q', 'pptdevs3', rc=1)
    host.on('kenv', '-q', 'hw.vmm.amdvi.enable', out='1\n')
    result = run(loader_conf.main, dict(path=str(conf), pptdevs=['3/0/0'], tunables={'hw.vmm.amdvi.enable': '1'}))
    assert result['changed'] and not result['reboot_required'] and result['reboot_reasons'] == []


def test_load_directive_compares_with_kldstat(host, run, conf):
    host.on('kldstat', '-n', 'nmdm', rc=1, err="kldstat: can't find file nmdm: No such file or directory\n")
    host.on('kldstat', '-q', '-m', 'nmdm', rc=1)
    result = run(loader_conf.main, dict(path=str(conf), tunables={'nmdm_load': 'YES'}))
    assert result['reboot_reasons'] == ['nmdm_load: nmdm is not loaded; the loader loads it at boot']


def test_new_file_in_loader_conf_d(booted, run, tmp_path):
    confd = tmp_path / 'loader.conf.d'
    confd.mkdir()
    path = confd / 'wifibox.conf'
    result = run(loader_conf.main, dict(path=str(path), tunables={'hw.vmm.amdvi.enable': '1'}), diff=True)
    assert result['changed'] and path.read_text() == 'hw.vmm.amdvi.enable="1"\n'
    assert result['diff']['before'] == '' and result['diff']['before_header'].endswith('(absent)')


def test_duplicates_follow_the_loader_last_wins_and_the_rest_go(booted, run, tmp_path):
    path = tmp_path / 'loader.conf'
    path.write_text('vmm_load="NO"\n# keep me\nvmm_load="YES"\nhw.vmm.amdvi.enable="0"\nhw.vmm.amdvi.enable="1"\n')
    result = run(loader_conf.main, dict(path=str(path), tunables={'vmm_load': 'YES', 'hw.vmm.amdvi.enable': '1'}))
    assert result['changed']
    assert path.read_text() == '# keep me\nvmm_load="YES"\nhw.vmm.amdvi.enable="1"\n'


def test_absent_removes_tunables(booted, run, tmp_path):
    path = tmp_path / 'loader.conf'
    path.write_text('a="1"\nhw.vmm.amdvi.enable="1"\n# end\n')
    result = run(loader_conf.main, dict(path=str(path), tunables={'hw.vmm.amdvi.enable': None}, state='absent'))
    assert result['changed'] and path.read_text() == 'a="1"\n# end\n'
    assert result['tunables'] == {'hw.vmm.amdvi.enable': None}
    assert not run(loader_conf.main, dict(path=str(path), tunables={'hw.vmm.amdvi.enable': None}, state='absent'))['changed']


def test_pptdevs_entries_are_added_and_removed_one_by_one(host, run, tmp_path):
    host.default = (1, '', '')  # kenv: nothing booted
    host.on('pciconf', '-lv', out=pciconf('amd-two-cards.txt'))
    path = tmp_path / 'loader.conf'
    path.write_text('pptdevs="9/0/0 2/0/0" # two cards\n')
    result = run(loader_conf.main, dict(path=str(path), pptdevs=['3/0/0', '2/0/0'], validate_pptdevs=False))
    assert path.read_text() == 'pptdevs="9/0/0 2/0/0 3/0/0" # two cards\n'
    assert result['pptdevs'] == ['9/0/0', '2/0/0', '3/0/0']
    result = run(loader_conf.main, dict(path=str(path), pptdevs=['2/0/0'], state='absent'))
    assert path.read_text() == 'pptdevs="9/0/0 3/0/0" # two cards\n'
    run(loader_conf.main, dict(path=str(path), pptdevs=['9/0/0', '3/0/0'], state='absent'))
    assert path.read_text() == ''


def test_pptdevs_entries_are_normalised(booted, run, conf):
    result = run(loader_conf.main, dict(path=str(conf), pptdevs=['03/00/0', '3/0/0']))
    assert result['pptdevs'] == ['3/0/0']


def long_list(count, bus=100):
    # "100/10/7 100/11/7 ..." : 14 entries are 14 * 9 - 1 = 125 bytes.
    return ['%d/%d/%d' % (bus, 10 + index, 7) for index in range(count)]


def test_pptdevs_spill_into_pptdevs2_at_the_kenv_limit(host, run, tmp_path):
    host.default = (1, '', '')
    path = tmp_path / 'loader.conf'
    first = long_list(14)
    path.write_text('pptdevs="%s"\n' % ' '.join(first))
    result = run(loader_conf.main, dict(path=str(path), pptdevs=['3/0/0'], validate_pptdevs=False))
    assert result['pptdevs_variables']['pptdevs'] == ' '.join(first)
    assert result['pptdevs_variables']['pptdevs2'] == '3/0/0'
    assert all(len(value) <= 128 for value in result['pptdevs_variables'].values() if value)


def test_pptdevs_that_cannot_fit_in_three_variables_fail_and_leave_the_file(host, run, tmp_path):
    host.default = (1, '', '')
    path = tmp_path / 'loader.conf'
    path.write_text('# full\npptdevs="%s"\npptdevs2="%s"\npptdevs3="%s"\n'
                    % (' '.join(long_list(14)), ' '.join(long_list(14, 110)), ' '.join(long_list(14, 120))))
    before = path.read_bytes()
    result = run(loader_conf.main, dict(path=str(path), pptdevs=['3/0/0'], validate_pptdevs=False))
    assert result['failed']
    assert 'pptdevs: 3/0/0 does not fit' in result['msg'] and 'pptdevs3' in result['msg'] and '128' in result['msg']
    assert path.read_bytes() == before


@pytest.mark.parametrize('args, words', [
    (dict(pptdevs=['pci0:3:0:0']), ["'pci0:3:0:0' is not a device in bus/slot/function form", '3/0/0']),
    (dict(pptdevs=['3/0']), ['bus/slot/function form']),
    (dict(pptdevs=['9/0/0']), ['no PCI device at 9/0/0', 'pci_info', 'validate_pptdevs=false', '3/0/0 (iwm0)']),
    (dict(pptdevs=['0/28/0']), ['pcib1, a PCI-PCI bridge']),
    (dict(tunables={'hw.vmm.amdvi.enable': 'a"b'}), ['hw.vmm.amdvi.enable', 'double quote']),
    (dict(tunables={'kern.x': 'one\ntwo'}), ['kern.x', 'newline']),
    (dict(tunables={'bad name': '1'}), ["'bad name' is not a valid loader.conf name"]),
    (dict(tunables={'9x': '1'}), ["'9x' is not a valid"]),
    (dict(tunables={'x': 'y' * 256}), ['x="..." is 258 bytes long', 'drops', '257 bytes', 'at most 255 bytes']),
    (dict(tunables={'x': 'a$b'}), ['the value of x contains a $', 'expands']),
    (dict(pptdevs=['256/0/0'], validate_pptdevs=False), ["'256/0/0' has bus 256", 'at most 255']),
    (dict(pptdevs=['3/32/0'], validate_pptdevs=False), ["'3/32/0' has slot 32", 'at most 31']),
    (dict(pptdevs=['3/0/8'], validate_pptdevs=False), ["'3/0/8' has function 8", 'at most 7']),
    (dict(pptdevs=['3/0/8']), ["'3/0/8' has function 8"]),
    (dict(tunables={'x': None}), ['x has no value', 'state=absent']),
    (dict(tunables={'x': ['a']}), ['give a string']),
    (dict(tunables={'pptdevs': '3/0/0'}), ['managed by the pptdevs option']),
])
def test_bad_input_is_a_clear_error_and_the_file_is_unchanged(booted, run, conf, args, words):
    before = conf.read_bytes()
    result = run(loader_conf.main, dict(path=str(conf), **args))
    assert result['failed']
    for word in words:
        assert word in result['msg']
    assert conf.read_bytes() == before


@pytest.mark.parametrize('line, reason', [
    ('vmm_load="YES', 'malformed'),
    ('pptdevs="3/0/0" "4/0/0"', 'rejects the value'),
    ('this is not a setting', 'malformed'),
    ('vmm_load="YES" # the "vmm" module', 'malformed'),
    ('hw.vmm.amdvi.enable="1" # the "AMD" one', 'malformed'),
    ('hw.vmm.amdvi.enable="1" # "AMD"', 'rejects the value'),
])
def test_lines_the_loader_misreads_are_kept_with_a_warning(booted, run, tmp_path, line, reason):
    """The loader skips these lines; the module keeps them (they are not its names) and says so."""
    path = tmp_path / 'loader.conf'
    path.write_text('# ok\n%s\nzfs_load="YES"\n' % line)
    result = run(loader_conf.main, dict(path=str(path), tunables={'kern.x': '1'}))
    assert result['changed']
    assert path.read_text() == '# ok\n%s\nzfs_load="YES"\nkern.x="1"\n' % line
    assert any('%s line 2 %r' % (path, line) in text and reason in text for text in result['warning_texts'])


@pytest.mark.parametrize('line, tunables, pptdevs, written', [
    # config.lua: the quoted value runs to the last quote, so vmm is not loaded by these lines.
    ('vmm_load="YES" # the "vmm" module', {'vmm_load': 'YES'}, None, '# the "vmm" module\nvmm_load="YES"\n'),
    ('vmm_load="YES" # "vmm"', {'vmm_load': 'YES'}, None, '# "vmm"\nvmm_load="YES"\n'),
    ('hw.vmm.amdvi.enable="1" # the "AMD" one', {'hw.vmm.amdvi.enable': 1}, None,
     '# the "AMD" one\nhw.vmm.amdvi.enable="1"\n'),
    ('pptdevs="3/0/0" # the "card"', None, ['3/0/0'], '# the "card"\npptdevs="3/0/0"\n'),
    ('vmm_load="YES # unclosed', {'vmm_load': 'YES'}, None, 'vmm_load="YES"\n'),
])
def test_misread_lines_of_managed_names_are_fixed(host, run, tmp_path, line, tunables, pptdevs, written):
    host.default = (1, '', '')  # nothing loaded, nothing in kenv
    path = tmp_path / 'loader.conf'
    path.write_text('# head\n%s\n' % line)
    args = dict(path=str(path), validate_pptdevs=False)
    if tunables:
        args['tunables'] = tunables
    if pptdevs:
        args['pptdevs'] = pptdevs
    result = run(loader_conf.main, args)
    assert result['changed'], result
    assert path.read_text() == '# head\n' + written
    assert not [text for text in result['warning_texts'] if 'line ' in text]
    assert not run(loader_conf.main, args)['changed']


def test_kernel_reads_pptdevs_at_single_spaces(host, run, tmp_path):
    """vmm(4) cuts pptdevs at single spaces only: 3/0/0 after a tab is not passed through, so it is added."""
    host.default = (1, '', '')
    path = tmp_path / 'loader.conf'
    path.write_text('pptdevs="1/0/0\t3/0/0"\n')
    result = run(loader_conf.main, dict(path=str(path), pptdevs=['3/0/0'], validate_pptdevs=False))
    assert result['changed'] and path.read_text() == 'pptdevs="1/0/0\t3/0/0 3/0/0"\n'
    assert any("entries vmm(4) cannot read" in text for text in result['warning_texts']) is False
    assert result['pptdevs'] == ['1/0/0', '3/0/0']


def test_paths_other_than_loader_conf_and_loader_conf_d_are_refused(booted, run, tmp_path):
    for path in (tmp_path / 'elsewhere.conf', tmp_path / 'loader.conf.local', tmp_path / 'loader.conf.d' / '..' / 'x.conf',
                 tmp_path / 'loader.conf.d' / 'sub' / 'x.conf'):
        result = run(loader_conf.main, dict(path=str(path), tunables={'a': '1'}))
        assert result['failed'] and 'the only files this module edits' in result['msg'], path
        assert not path.exists()


@pytest.mark.parametrize('missing', ['kenv', 'kldstat'])
def test_a_missing_kenv_or_kldstat_fails_before_writing(booted, run, conf, monkeypatch, missing):
    """reboot_required is computed before writing: the file stays as it was, never changed=false after a change."""
    from ansible.module_utils import basic
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path',
                        lambda self, name, *a, **kw: None if name == missing else '/sbin/' + name)
    before = conf.read_bytes()
    result = run(loader_conf.main, dict(path=str(conf), tunables={'hw.vmm.amdvi.enable': 1, 'nmdm_load': 'YES'}))
    assert result['failed'] and '%s was not found' % missing in result['msg']
    assert not result.get('changed') and conf.read_bytes() == before


def test_values_past_128_bytes_are_kept_by_the_kernel_at_boot(host, run, tmp_path):
    """kern_environment.c keeps name=value whole up to 257 bytes: no warning, and kenv shows the whole value."""
    value = 'v' * 200
    host.on('kenv', '-q', 'kern.long', out=value + '\n')
    path = tmp_path / 'loader.conf'
    result = run(loader_conf.main, dict(path=str(path), tunables={'kern.long': value}))
    assert result['changed'] and not result['reboot_required']
    assert not [text for text in result['warning_texts'] if 'bytes' in text]


def test_a_variable_the_kernel_drops_is_reported(host, run, tmp_path):
    host.default = (1, '', '')  # the kernel dropped kern.long at the last boot: not in kenv
    host.on('kenv', '-q', 'kern.other', out='1\n')
    path = tmp_path / 'loader.conf'
    path.write_text('kern.long="%s"\nkern.other="1"\n' % ('v' * 250))
    result = run(loader_conf.main, dict(path=str(path), tunables={'kern.other': '1'}))
    assert not result['changed'] and not result['reboot_required']
    assert any('kern.long' in text and 'drops a loader variable longer than 257 bytes' in text
               for text in result['warning_texts'])


def test_a_missing_directory_is_a_clear_error(booted, run, tmp_path):
    path = tmp_path / 'loader.conf.d' / 'wifibox.conf'
    result = run(loader_conf.main, dict(path=str(path), tunables={'a': '1'}))
    assert result['failed'] and 'does not exist; create it first' in result['msg']
    assert not (tmp_path / 'loader.conf.d').exists()


def test_a_read_only_directory_is_a_clear_error(booted, run, conf, monkeypatch):
    # Root ignores permission bits, so simulate a read-only file system the way access(2) reports it.
    monkeypatch.setattr(fileedit.os, 'access', lambda path, mode: False)
    before = conf.read_bytes()
    for check_mode in (False, True):
        result = run(loader_conf.main, dict(path=str(conf), tunables={'a': '1'}), check_mode=check_mode)
        assert result['failed'] and 'read-only' in result['msg'] and 'remount it read-write' in result['msg']
    assert conf.read_bytes() == before


def test_no_write_needed_on_a_read_only_directory_is_fine(booted, run, conf, monkeypatch):
    monkeypatch.setattr(fileedit.os, 'access', lambda path, mode: False)
    assert not run(loader_conf.main, dict(path=str(conf), tunables={'vmm_load': 'YES'}))['changed']


def test_a_loader_conf_d_file_must_end_in_conf(booted, run, monkeypatch, tmp_path):
    monkeypatch.setattr(loader_conf, 'LOADER_CONF_DIR', str(tmp_path))
    result = run(loader_conf.main, dict(path=str(tmp_path / 'wifibox'), tunables={'a': '1'}))
    assert result['failed'] and 'only files ending in .conf' in result['msg']
    assert not (tmp_path / 'wifibox').exists()


def test_backup_keeps_the_old_file(booted, run, conf):
    before = conf.read_bytes()
    result = run(loader_conf.main, dict(path=str(conf), tunables={'a': '1'}, backup=True))
    with open(result['backup_file'], 'rb') as handle:
        assert handle.read() == before
    assert 'backup_file' not in run(loader_conf.main, dict(path=str(conf), tunables={'a': '1'}, backup=True))


def test_symlinked_file_is_written_through_the_link(booted, run, tmp_path):
    real = tmp_path / 'real.conf'
    real.write_text('a="1"\n')
    link = tmp_path / 'loader.conf'
    link.symlink_to(real)
    run(loader_conf.main, dict(path=str(link), tunables={'a': '2'}))
    assert link.is_symlink() and real.read_text() == 'a="2"\n'


def test_pciconf_failure_is_reported(host, run, conf):
    host.on('pciconf', '-lv', rc=1, err='pciconf: /dev/pci: Permission denied\n')
    result = run(loader_conf.main, dict(path=str(conf), pptdevs=['3/0/0']))
    assert result['failed'] and 'Permission denied' in result['msg']


def test_an_existing_value_past_the_boot_limit_is_reported(host, run, tmp_path):
    host.default = (1, '', '')
    path = tmp_path / 'loader.conf'
    path.write_text('pptdevs="%s"\n' % ' '.join(long_list(28)))  # 28 * 9 - 1 = 251 bytes: 259 with "pptdevs="
    result = run(loader_conf.main, dict(path=str(path), pptdevs=['3/0/0'], validate_pptdevs=False))
    assert result['pptdevs_variables']['pptdevs2'] == '3/0/0'
    assert any('259 bytes long' in warning and 'drops a loader variable longer than 257 bytes' in warning
               for warning in result['warning_texts'])
    # what the kernel will have after a reboot: only pptdevs2's device
    assert result['reboot_reasons'] == ['pptdevs: the kernel booted with (none), the file now has 3/0/0']


def test_warns_when_a_file_read_later_overrides(booted, run, tmp_path, monkeypatch):
    main = tmp_path / 'loader.conf'
    main.write_text('')
    confd = tmp_path / 'loader.conf.d'
    confd.mkdir()
    (confd / 'other.conf').write_text('pptdevs="4/0/0"\n')
    (confd / 'ignored.txt').write_text('hw.vmm.amdvi.enable="0"\n')
    local = tmp_path / 'loader.conf.local'
    local.write_text('hw.vmm.amdvi.enable="0"\n')
    monkeypatch.setattr(loader_conf, 'LOADER_CONF', str(main))
    monkeypatch.setattr(loader_conf, 'LOADER_CONF_DIR', str(confd))
    monkeypatch.setattr(loader_conf, 'LOADER_CONF_LOCAL', str(local))
    result = run(loader_conf.main, dict(path=str(main), pptdevs=['3/0/0'], tunables={'hw.vmm.amdvi.enable': 1}))
    texts = result['warning_texts']
    assert any('pptdevs is also set in %s' % (confd / 'other.conf') in text for text in texts)
    assert any('hw.vmm.amdvi.enable is also set in %s' % local in text for text in texts)
    assert not any('ignored.txt' in text for text in texts)
    # A file of loader.conf.d is only overridden by loader.conf.local.
    result = run(loader_conf.main, dict(path=str(confd / 'wifibox.conf'), tunables={'hw.vmm.amdvi.enable': 1}))
    assert [text for text in result['warning_texts'] if 'also set' in text] == [
        text for text in result['warning_texts'] if str(local) in text]
