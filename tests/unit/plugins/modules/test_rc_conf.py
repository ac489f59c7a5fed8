# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""rc_conf on files in tmp_path; sysrc semantics from FREEBSD.md section 3."""

import pytest

from ansible_collections.wifibox.bhyve.plugins.module_utils import fileedit
from ansible_collections.wifibox.bhyve.plugins.modules import rc_conf

RC = '''hostname="t480"
ifconfig_em0="DHCP"
# Set dumpdev to "AUTO" to enable crash dumps, "NO" to disable
dumpdev="AUTO"
kld_list="fusefs i915kms"   # graphics
devmatch_blocklist="if_iwm"
sshd_enable="YES"
'''


@pytest.fixture
def conf(tmp_path, monkeypatch):
    path = tmp_path / 'rc.conf'
    path.write_text(RC)
    defaults = tmp_path / 'defaults.rc.conf'
    defaults.write_text('kld_list=""\t\t# Kernel modules to load after local disks are mounted\n'
                        'cloned_interfaces=""\nsome_list="one two"\n'
                        'if [ -z "${source_rc_confs_defined}" ]; then\n\tsource_rc_confs_defined=yes\nfi\n')
    monkeypatch.setattr(rc_conf, 'RC_CONF_DEFAULTS', str(defaults))
    return path


def test_sets_values_and_list_elements_in_one_write(run, conf):
    result = run(rc_conf.main, dict(
        path=str(conf),
        values={'wifibox_enable': True, 'ifconfig_wifibox0': 'SYNCDHCP'},
        add={'kld_list': ['vmm', 'nmdm', 'fusefs'], 'devmatch_blocklist': ['if_iwlwifi'], 'cloned_interfaces': ['bridge0']},
    ), diff=True)
    assert result['changed']
    assert conf.read_text() == RC.replace('kld_list="fusefs i915kms"   # graphics', 'kld_list="fusefs i915kms vmm nmdm" # graphics') \
        .replace('devmatch_blocklist="if_iwm"', 'devmatch_blocklist="if_iwm if_iwlwifi"') \
        + 'wifibox_enable="YES"\nifconfig_wifibox0="SYNCDHCP"\ncloned_interfaces="bridge0"\n'
    assert result['values'] == {
        'wifibox_enable': 'YES', 'ifconfig_wifibox0': 'SYNCDHCP', 'kld_list': 'fusefs i915kms vmm nmdm',
        'devmatch_blocklist': 'if_iwm if_iwlwifi', 'cloned_interfaces': 'bridge0'}
    assert result['diff']['before'] == RC and result['diff']['after'] == conf.read_text()
    assert result['file'] == str(conf)


def test_check_mode_and_second_run(run, conf):
    args = dict(path=str(conf), values={'wifibox_enable': 'YES'}, add={'kld_list': ['vmm']})
    before = conf.read_bytes()
    assert run(rc_conf.main, args, check_mode=True)['changed']
    assert conf.read_bytes() == before
    assert run(rc_conf.main, args)['changed']
    written = conf.read_bytes()
    again = run(rc_conf.main, args, check_mode=True)
    assert not again['changed']
    assert not run(rc_conf.main, args)['changed']
    assert conf.read_bytes() == written


def test_remove_elements_leaves_the_others_in_order(run, conf):
    result = run(rc_conf.main, dict(path=str(conf), remove={'kld_list': ['fusefs', 'absent'], 'cloned_interfaces': ['x']}))
    assert result['changed']
    assert 'kld_list="i915kms" # graphics\n' in conf.read_text()
    assert 'cloned_interfaces' not in conf.read_text()
    assert result['values']['cloned_interfaces'] is None


def test_add_and_remove_on_the_same_list(run, conf):
    run(rc_conf.main, dict(path=str(conf), add={'devmatch_blocklist': ['if_iwlwifi']}, remove={'devmatch_blocklist': ['if_iwm']}))
    assert 'devmatch_blocklist="if_iwlwifi"\n' in conf.read_text()


def test_adding_to_an_unset_list_starts_from_the_default_like_sysrc(run, conf):
    result = run(rc_conf.main, dict(path=str(conf), add={'some_list': ['three', 'one']}))
    assert result['values']['some_list'] == 'one two three'


def test_comma_delimited_list(run, tmp_path):
    path = tmp_path / 'rc.conf'
    path.write_text('jail_list="a,b"\n')
    run(rc_conf.main, dict(path=str(path), add={'jail_list': ['c', 'a']}, delimiter=','))
    assert path.read_text() == 'jail_list="a,b,c"\n'


def test_set_edits_the_last_assignment_and_unset_removes_all(run, tmp_path):
    path = tmp_path / 'rc.conf'
    path.write_text('wifibox_enable="NO"\n# later wins\nwifibox_enable="NO"\nx="1"\n')
    run(rc_conf.main, dict(path=str(path), values={'wifibox_enable': 'YES'}))
    assert path.read_text() == 'wifibox_enable="NO"\n# later wins\nwifibox_enable="YES"\nx="1"\n'
    result = run(rc_conf.main, dict(path=str(path), unset=['wifibox_enable']))
    assert path.read_text() == '# later wins\nx="1"\n'
    assert result['values'] == {'wifibox_enable': None}


def test_multi_line_list_is_read_and_rewritten(run, tmp_path):
    path = tmp_path / 'rc.conf'
    path.write_text('jail_list="www\n   db"\nother="1"\n')
    run(rc_conf.main, dict(path=str(path), add={'jail_list': ['mail']}))
    assert path.read_text() == 'jail_list="www db mail"\nother="1"\n'


def test_single_quoted_value_that_matches_is_left_alone(run, tmp_path):
    path = tmp_path / 'rc.conf'
    path.write_text("sshd_enable='YES'\n")
    assert not run(rc_conf.main, dict(path=str(path), values={'sshd_enable': 'YES'}))['changed']


def test_service_file_in_rc_conf_d(run, tmp_path, monkeypatch):
    monkeypatch.setattr(rc_conf, 'RC_CONF_DIR', str(tmp_path))
    result = run(rc_conf.main, dict(service='netif', values={'ifconfig_wifibox0': 'SYNCDHCP'}))
    assert result['file'] == str(tmp_path / 'netif')
    assert (tmp_path / 'netif').read_text() == 'ifconfig_wifibox0="SYNCDHCP"\n'


def test_warns_when_rc_conf_local_overrides(run, conf, tmp_path, monkeypatch):
    local = tmp_path / 'rc.conf.local'
    local.write_text('wifibox_enable="NO"\n')
    monkeypatch.setattr(rc_conf, 'RC_CONF_READ_AFTER', {str(conf): (str(local),)})
    result = run(rc_conf.main, dict(path=str(conf), values={'wifibox_enable': 'YES'}))
    assert any('also set in %s' % local in text and 'wins' in text for text in result['warning_texts'])


def test_backup(run, conf):
    before = conf.read_bytes()
    result = run(rc_conf.main, dict(path=str(conf), values={'a': 'b'}, backup=True))
    with open(result['backup_file'], 'rb') as handle:
        assert handle.read() == before


@pytest.mark.parametrize('args, words', [
    (dict(values={'hw.vmm.amdvi.enable': '1'}), ["'hw.vmm.amdvi.enable' is not a valid rc.conf variable name", 'sh']),
    (dict(values={'a-b': '1'}), ['is not a valid rc.conf variable name']),
    (dict(unset=['1abc']), ['unset:', 'is not a valid']),
    (dict(values={'ifconfig_wifibox0': 'inet "x"'}), ['ifconfig_wifibox0', 'double quote']),
    (dict(values={'a': 'one\ntwo'}), ['newline']),
    (dict(values={'a': 'x`id`'}), ['backquote']),
    (dict(add={'kld_list': ['vmm nmdm']}), ["'vmm nmdm' is not a single element of kld_list"]),
    (dict(add={'kld_list': ['']}), ['is not a single element']),
    (dict(add={'kld_list': 'vmm'}, values={'kld_list': 'x'}), ['kld_list appear in both values and add/remove']),
    (dict(values={'a': '1'}, unset=['a']), ['a appear in both values and unset']),
    (dict(values={'a': {'b': 1}}), ['give a string']),
    (dict(values={'a': '1'}, delimiter=''), ['delimiter']),
])
def test_bad_input_is_a_clear_error_and_the_file_is_unchanged(run, conf, args, words):
    before = conf.read_bytes()
    result = run(rc_conf.main, dict(path=str(conf), **args))
    assert result['failed']
    for word in words:
        assert word in result['msg']
    assert conf.read_bytes() == before


@pytest.mark.parametrize('line', ['if [ -f /etc/x ]; then', 'ifconfig_em0="DHCP', 'a="1" b="2"', '. /etc/rc.conf.extra'])
def test_a_file_it_cannot_edit_safely_is_left_alone(run, tmp_path, line):
    path = tmp_path / 'rc.conf'
    path.write_text('hostname="x"\n%s\nsshd_enable="YES"\n' % line)
    before = path.read_bytes()
    result = run(rc_conf.main, dict(path=str(path), values={'wifibox_enable': 'YES'}))
    assert result['failed'] and 'cannot edit %s safely: line 2' % path in result['msg']
    assert path.read_bytes() == before


def test_list_edit_of_an_expanding_value_is_refused(run, tmp_path):
    path = tmp_path / 'rc.conf'
    path.write_text('kld_list="vmm"\nkld_list="${kld_list} nmdm"\n')
    before = path.read_bytes()
    result = run(rc_conf.main, dict(path=str(path), add={'kld_list': ['if_bridge']}))
    assert result['failed'] and 'line 2' in result['msg'] and 'shell expansion' in result['msg']
    assert path.read_bytes() == before
    # Setting the whole value is fine: it replaces the last assignment, as sysrc does.
    run(rc_conf.main, dict(path=str(path), values={'kld_list': 'vmm nmdm if_bridge'}))
    assert path.read_text() == 'kld_list="vmm"\nkld_list="vmm nmdm if_bridge"\n'


def test_missing_or_read_only_directory(run, tmp_path, conf, monkeypatch):
    result = run(rc_conf.main, dict(path=str(tmp_path / 'no' / 'rc.conf'), values={'a': '1'}))
    assert result['failed'] and 'does not exist' in result['msg']
    monkeypatch.setattr(fileedit.os, 'access', lambda path, mode: False)
    before = conf.read_bytes()
    result = run(rc_conf.main, dict(path=str(conf), values={'a': '1'}))
    assert result['failed'] and 'read-only' in result['msg']
    assert conf.read_bytes() == before


def test_path_and_service_are_exclusive(run, conf):
    result = run(rc_conf.main, dict(path=str(conf), service='netif', values={'a': '1'}))
    assert result['failed'] and 'mutually exclusive' in result['msg']


def test_expansion_is_written_only_when_the_task_asks_for_it(run, conf):
    before = conf.read_text()
    args = dict(path=str(conf), values={'wifibox_flags': '${wifibox_base_flags} -v'})
    refused = run(rc_conf.main, args)
    assert refused['failed'] and 'wifibox_flags' in refused['msg'] and 'expand: true' in refused['msg']
    assert conf.read_text() == before
    result = run(rc_conf.main, dict(args, expand=True))
    assert result['changed'] and conf.read_text() == before + 'wifibox_flags="${wifibox_base_flags} -v"\n'
    assert not run(rc_conf.main, dict(args, expand=True))['changed']


@pytest.mark.parametrize('value', ['*.ko', 'a#b', '~root', "-o 'Port 22'", '{a,b}', 'x=y', '!x', '[ab]'])
def test_inert_characters_are_accepted(run, conf, value):
    result = run(rc_conf.main, dict(path=str(conf), values={'sshd_flags': value}))
    assert result['changed'] and result['values']['sshd_flags'] == value
