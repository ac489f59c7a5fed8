# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The assignment-file parser and editor shared by loader_conf, rc_conf, kld and bridge."""

import pytest

from ansible_collections.wifibox.bhyve.plugins.module_utils.conffile import (
    LOADER,
    RC,
    SYSCTL,
    ConfFile,
    ConfSyntaxError,
    check_name,
    check_value,
    join_list,
    scan_value,
    split_list,
)

# A loader.conf as bsdinstall and a user leave it (FREEBSD.md section 2).
LOADER_CONF = '''# Loader configuration
kern.geom.label.disk_ident.enable="0"
kern.geom.label.gptid.enable="0"
cryptodev_load="YES"
zfs_load="YES"

# wifibox
vmm_load = "YES"   # spaces are fine for the lua loader
hw.vmm.amdvi.enable=1
pptdevs="3/0/0"
'''

RC_CONF = '''hostname="t480"
ifconfig_em0="DHCP"
sshd_enable="YES"
# lists
kld_list="fusefs vmm"
jail_list="www
    db"
devmatch_blocklist='if_iwm'
moused_nondefault_enable=NO # old
'''


def test_loader_reads_quoted_unquoted_and_spaced_assignments():
    conf = ConfFile(LOADER_CONF, LOADER)
    assert conf.get('vmm_load') == 'YES'
    assert conf.get('hw.vmm.amdvi.enable') == '1'
    assert conf.get('pptdevs') == '3/0/0'
    assert conf.get('missing') is None
    assert conf.names()[:2] == ['kern.geom.label.disk_ident.enable', 'kern.geom.label.gptid.enable']


def test_loader_set_keeps_other_lines_and_comment_of_the_edited_one():
    conf = ConfFile(LOADER_CONF, LOADER)
    assert conf.set('vmm_load', 'NO')
    assert conf.set('hint.uart.0.disabled', '1')
    text = conf.render()
    assert 'vmm_load="NO" # spaces are fine for the lua loader\n' in text
    assert text.startswith(LOADER_CONF.split('vmm_load', maxsplit=1)[0])
    assert text.endswith('pptdevs="3/0/0"\nhint.uart.0.disabled="1"\n')


def test_setting_the_same_value_changes_nothing_whatever_the_quoting():
    conf = ConfFile(LOADER_CONF, LOADER)
    assert not conf.set('hw.vmm.amdvi.enable', '1')
    assert not conf.set('vmm_load', 'YES')
    assert conf.render() == LOADER_CONF


def test_loader_duplicates_last_wins_and_the_rest_are_removed():
    conf = ConfFile('a="1"\n# keep\na="2"\nb="x"\na="3"\n', LOADER)
    assert conf.get('a') == '3'
    assert conf.set('a', '3', remove_duplicates=True)
    assert conf.render() == '# keep\nb="x"\na="3"\n'


def test_unset_removes_every_assignment():
    conf = ConfFile('a="1"\nb="2"\na="3"\n', LOADER)
    assert conf.unset('a')
    assert not conf.unset('a')
    assert conf.render() == 'b="2"\n'


def test_missing_final_newline_and_crlf_are_kept():
    conf = ConfFile('a="1"', LOADER)
    conf.set('b', '2')
    assert conf.render() == 'a="1"\nb="2"\n'
    conf = ConfFile('a="1"\r\n', LOADER)
    conf.set('b', '2')
    assert conf.render() == 'a="1"\r\nb="2"\r\n'
    assert ConfFile('', LOADER).render() == ''


@pytest.mark.parametrize('line, value, reason', [
    ('vmm_load="YES', None, 'malformed'),                      # unclosed quote
    ('pptdevs="3/0/0" "4/0/0"', None, 'rejects the value'),    # the value runs to the last quote: 3/0/0" "4/0/0
    ('just a sentence', None, 'malformed'),
    ('name=', None, 'malformed'),
    ('name="a"b"', None, 'rejects the value'),
    ('vmm_load="YES" # the "vmm" module', None, 'malformed'),  # stand/lua/config.lua: "(.*)" is greedy
    ('vmm_load="YES" # "vmm"', 'YES" # "vmm', 'last double quote'),
    ('a=1 2', None, 'malformed'),
    ('_a=1', None, 'malformed'),
])
def test_loader_lines_are_read_as_the_lua_loader_reads_them(line, value, reason):
    conf = ConfFile('ok="1"\n%s\n' % line, LOADER)
    name = conf.assignments[1].name
    assert conf.get('ok') == '1'
    if name and name != 'just':
        assert conf.get(name) == value
    [(lineno, text, problem)] = conf.problems()
    assert lineno == 2 and text == line and reason in problem
    assert conf.render() == 'ok="1"\n%s\n' % line


def test_loader_rejected_value_keeps_the_earlier_one_and_set_fixes_the_line():
    conf = ConfFile('pptdevs="1/0/0"\npptdevs="3/0/0" # the "card"\n', LOADER)
    assert conf.get('pptdevs') == '1/0/0'
    assert conf.set('pptdevs', '3/0/0', remove_duplicates=True)
    assert conf.render() == '# the "card"\npptdevs="3/0/0"\n'
    assert conf.problems() == []


def test_loader_escapes_and_expansion():
    conf = ConfFile('a="x\\\\y"\nb="$a/${c}"\nc=word # "quoted" comment is fine after a word\n', LOADER)
    assert conf.get('a') == 'x\\y'
    assert conf.get('b') == '$a/${c}' and conf.last('b').expands
    assert conf.get('c') == 'word'
    assert conf.problems() == []
    assert conf.set('b', 'plain')  # an expanding value is never "the same"


def test_rc_reads_sh_quoting_and_multi_line_values():
    conf = ConfFile(RC_CONF, RC)
    assert conf.get('jail_list') == 'www\n    db'
    assert conf.get('devmatch_blocklist') == 'if_iwm'
    assert conf.get('moused_nondefault_enable') == 'NO'
    assert conf.last('jail_list').start == 5 and conf.last('jail_list').end == 7


def test_rc_edit_of_a_multi_line_value_replaces_all_its_lines():
    conf = ConfFile(RC_CONF, RC)
    conf.set('jail_list', 'www db')
    assert 'jail_list="www db"\ndevmatch_blocklist=\'if_iwm\'\n' in conf.render()


def test_rc_escapes_and_expansion():
    conf = ConfFile('a="x \\"y\\" \\$z"\nb="${a} more"\nc=`hostname`\nd=\'$HOME\'\n', RC)
    assert conf.get('a') == 'x "y" $z'
    assert not conf.last('a').expands
    assert conf.last('b').expands and conf.last('c').expands
    assert not conf.last('d').expands and conf.get('d') == '$HOME'


def test_rc_set_edits_the_last_assignment_and_keeps_earlier_ones_like_sysrc():
    conf = ConfFile('kld_list="a"\nkld_list="b"\n', RC)
    conf.set('kld_list', 'c')
    assert conf.render() == 'kld_list="a"\nkld_list="c"\n'


@pytest.mark.parametrize('line, reason', [
    ('if [ -x /x ]; then', 'not a comment'),
    ('a="1" b="2"', 'more than a plain assignment'),
    ('a=1; b=2', 'more than a plain assignment'),
    ('a="open', 'never closed'),
    ('a=b\\', 'backslash'),
    ('. /etc/rc.conf.wifi', 'not a comment'),
])
def test_rc_lines_that_need_the_shell_are_refused(line, reason):
    with pytest.raises(ConfSyntaxError) as caught:
        ConfFile('x="1"\n%s\n' % line, RC)
    assert reason in str(caught.value)


def test_rc_value_with_hash_inside_a_word_is_not_a_comment():
    conf = ConfFile('a=b#c\n', RC)
    assert conf.get('a') == 'b#c'


def test_sysctl_dialect_writes_without_quotes():
    conf = ConfFile('# sysctl\nkern.coredump=0  # no cores\n', SYSCTL)
    assert conf.get('kern.coredump') == '0'
    conf.set('net.link.tap.up_on_open', '1')
    assert conf.render() == '# sysctl\nkern.coredump=0  # no cores\nnet.link.tap.up_on_open=1\n'
    with pytest.raises(ConfSyntaxError):
        ConfFile('kern.coredump = 0\n', SYSCTL)


@pytest.mark.parametrize('dialect, name, ok', [
    (LOADER, 'hw.vmm.amdvi.enable', True),
    (LOADER, 'hint.uart.0.at', True),
    (LOADER, 'kern.vt.fb.modes.DP-1', True),
    (LOADER, 'vmm_load', True),
    (LOADER, '9lives', False),
    (LOADER, 'a..b', False),
    (LOADER, 'has space', False),
    (LOADER, 'a=b', False),
    (RC, 'kld_list', True),
    (RC, 'hw.vmm.amdvi.enable', False),
    (RC, 'ifconfig_wifibox0-x', False),
    (RC, '', False),
])
def test_names(dialect, name, ok):
    assert (check_name(dialect, name) is None) is ok


@pytest.mark.parametrize('value', ['a"b', 'a\nb', 'a\\b', 'x' * 256, 'a$b'])
def test_loader_values_that_cannot_be_written(value):
    assert check_value(LOADER, 'n', value)


def test_values_that_can_be_written():
    # kern_environment.c keeps "name=value" up to 257 bytes at boot: n= plus 255 bytes
    assert check_value(LOADER, 'n', 'x' * 255) is None
    assert check_value(LOADER, 'vmm_load', 'x' * 300) is None  # module settings never reach the kernel
    assert check_value(RC, 'n', 'inet 10.0.0.2/24 up') is None
    assert check_value(SYSCTL, 'n', 'a b')
    assert check_value(RC, 'n', 'a`b`')


def test_lists():
    assert split_list('a  b\tc') == ['a', 'b', 'c']
    assert split_list(None) == []
    assert split_list('a, b,,c', ',') == ['a', 'b', 'c']
    assert join_list(['a', 'b']) == 'a b'
    assert join_list(['a', 'b'], ',') == 'a,b'


def test_scan_value_reads_simple_lines_of_files_it_will_not_edit():
    defaults = 'kld_list=""\t\t# Kernel modules to load after local disks are mounted\n' \
               'if [ -z "${source_rc_confs_defined}" ]; then\n  source_rc_confs_defined=yes\nfi\n' \
               "cloned_interfaces='lo1'\n"
    assert scan_value(defaults, 'kld_list') == ''
    assert scan_value(defaults, 'cloned_interfaces') == 'lo1'
    assert scan_value(defaults, 'nothing') is None


def test_values_with_expansion_are_compared_as_written():
    conf = ConfFile('a="${b} x"\nc=\\$d\ne=$f\n', RC)
    assert not conf.set('a', '${b} x')      # same text: no change, every run
    assert conf.set('c', '$d')              # \$d is a literal, "$d" would expand
    assert not conf.set('e', '$f')          # e=$f and e="$f" assign the same
    assert conf.render() == 'a="${b} x"\nc="$d"\ne=$f\n'
