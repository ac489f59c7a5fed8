# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""bridge with ifconfig and sysctl scripted as FREEBSD.md section 5 describes them."""

import os

import pytest

from ansible_collections.wifibox.bhyve.plugins.modules import bridge

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'ifconfig')


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


WIFIBOX0 = fixture('wifibox0-14.txt')
WIFIBOX0_DOWN_EMPTY = fixture('wifibox0-down-empty-13.txt')
MISSING = dict(rc=1, err='ifconfig: interface wifibox0 does not exist\n')


def tap_output(name, mtu=1500, opened_by=None):
    """ifconfig TAP as FreeBSD 14 prints it (FREEBSD.md section 5)."""
    text = ('%s: flags=8902<BROADCAST,PROMISC,SIMPLEX,MULTICAST> metric 0 mtu %d\n'
            '\toptions=80000<LINKSTATE>\n\tether 58:9c:fc:00:00:01\n\tgroups: tap\n'
            '\tmedia: Ethernet 1000baseT <full-duplex>\n\tstatus: no carrier\n' % (name, mtu))
    if opened_by:
        text += '\tOpened by PID %d\n' % opened_by
    return text


LO0 = ('lo0: flags=1008049<UP,LOOPBACK,RUNNING,MULTICAST,LOWER_UP> metric 0 mtu 16384\n'
       '\toptions=680003<RXCSUM,TXCSUM,LINKSTATE,RXCSUM_IPV6,TXCSUM_IPV6>\n'
       '\tinet 127.0.0.1 netmask 0xff000000\n\tgroups: lo\n')


@pytest.fixture(autouse=True)
def taps(host):
    for name in ('tap0', 'tap1', 'tap2', 'tap3', 'wbtap'):
        host.on('ifconfig', name, out=tap_output(name))
    host.on('ifconfig', 'lo0', out=LO0)
    host.on('kldstat', '-q', '-m', 'if_bridge')


def interfaces(host, *names):
    host.on('ifconfig', '-l', out=' '.join(names) + '\n')


def test_creates_bridge_and_tap(host, run):
    interfaces(host, 'em0', 'lo0')
    host.on('ifconfig', 'bridge', 'create', 'name', 'wifibox0', 'up', out='wifibox0\n')
    host.on('ifconfig', 'tap0', 'create', 'up')
    host.on('ifconfig', 'wifibox0', 'addm', 'tap0')
    host.on('ifconfig', 'wifibox0', out=WIFIBOX0)
    result = run(bridge.main, dict(members=['tap0']), diff=True)
    assert result['changed'] and result['exists'] and result['up']
    assert result['members'] == ['tap0']
    assert result['commands'] == [
        ['ifconfig', 'bridge', 'create', 'name', 'wifibox0', 'up'],
        ['ifconfig', 'tap0', 'create', 'up'],
        ['ifconfig', 'wifibox0', 'addm', 'tap0'],
    ]
    assert result['diff'][0]['before'] == {'exists': False}
    assert result['diff'][0]['after'] == {'exists': True, 'up': True, 'members': ['tap0']}


def test_check_mode_plans_without_running(host, run):
    interfaces(host, 'em0', 'lo0')
    result = run(bridge.main, dict(members=['tap0']), check_mode=True)
    assert result['changed'] and result['members'] == ['tap0'] and result['exists']
    assert len(result['commands']) == 3
    assert host.calls == [('ifconfig', '-l'), ('kldstat', '-q', '-m', 'if_bridge')]


def test_second_run_changes_nothing(host, run):
    interfaces(host, 'em0', 'lo0', 'wifibox0', 'tap0')
    host.on('ifconfig', 'wifibox0', out=WIFIBOX0)
    result = run(bridge.main, dict(members=['tap0']))
    assert not result['changed'] and result['commands'] == []
    assert result['flags'][0] == 'UP'


def test_existing_bridge_gets_its_member_and_is_brought_up(host, run):
    interfaces(host, 'em0', 'wifibox0', 'tap3')
    host.on('ifconfig', 'wifibox0', out=WIFIBOX0_DOWN_EMPTY)
    host.on('ifconfig', out=WIFIBOX0_DOWN_EMPTY)
    host.on('ifconfig', 'wifibox0', 'addm', 'tap3')
    host.on('ifconfig', 'wifibox0', 'up')
    result = run(bridge.main, dict(members=['tap3']))
    assert result['commands'] == [['ifconfig', 'wifibox0', 'addm', 'tap3'], ['ifconfig', 'wifibox0', 'up']]


def test_purge_members(host, run):
    interfaces(host, 'wifibox0', 'tap0', 'tap1')
    host.on('ifconfig', 'wifibox0', out=WIFIBOX0)
    host.on('ifconfig', out=WIFIBOX0)
    host.on('ifconfig', 'wifibox0', 'addm', 'tap1')
    host.on('ifconfig', 'wifibox0', 'deletem', 'tap0')
    result = run(bridge.main, dict(members=['tap1'], purge_members=True))
    assert result['commands'] == [['ifconfig', 'wifibox0', 'deletem', 'tap0'], ['ifconfig', 'wifibox0', 'addm', 'tap1']]


def test_renames_an_existing_bridge(host, run):
    interfaces(host, 'em0', 'bridge0', 'tap0')
    host.on('ifconfig', 'bridge0', out=WIFIBOX0.replace('wifibox0:', 'bridge0:'))
    host.on('ifconfig', 'bridge0', 'name', 'wifibox0', out='wifibox0\n')
    host.on('ifconfig', 'wifibox0', out=WIFIBOX0)
    result = run(bridge.main, dict(rename_from='bridge0', members=['tap0']))
    assert result['commands'] == [['ifconfig', 'bridge0', 'name', 'wifibox0']]
    assert result['members'] == ['tap0']


def test_rename_from_is_ignored_once_the_bridge_has_its_name(host, run):
    interfaces(host, 'wifibox0', 'tap0')
    host.on('ifconfig', 'wifibox0', out=WIFIBOX0)
    assert not run(bridge.main, dict(rename_from='bridge0', members=['tap0']))['changed']


def test_other_tap_names_are_created_by_name(host, run):
    interfaces(host, 'wifibox0')
    host.on('ifconfig', 'wifibox0', out=WIFIBOX0_DOWN_EMPTY.replace('flags=8802<', 'flags=8843<UP,'))
    result = run(bridge.main, dict(members=['wbtap']), check_mode=True)
    assert result['commands'] == [['ifconfig', 'tap', 'create', 'name', 'wbtap', 'up'], ['ifconfig', 'wifibox0', 'addm', 'wbtap']]


def test_destroy(host, run):
    interfaces(host, 'wifibox0', 'tap0')
    host.on('ifconfig', 'wifibox0', out=WIFIBOX0)
    host.on('ifconfig', 'tap0', 'destroy')
    host.on('ifconfig', 'wifibox0', 'destroy')
    host.on('ifconfig', 'wifibox0', **MISSING)
    result = run(bridge.main, dict(state='absent', members=['tap0']))
    assert result['changed'] and not result['exists'] and result['members'] == []
    assert result['commands'] == [['ifconfig', 'tap0', 'destroy'], ['ifconfig', 'wifibox0', 'destroy']]


def test_destroy_when_absent_is_no_change(host, run):
    interfaces(host, 'em0')
    host.on('ifconfig', 'wifibox0', **MISSING)
    result = run(bridge.main, dict(state='absent', members=['tap0']))
    assert not result['changed'] and result['commands'] == []


def test_a_non_bridge_with_the_name_is_a_clear_error(host, run):
    interfaces(host, 'wifibox0')
    host.on('ifconfig', 'wifibox0', out=fixture('em0-not-bridge.txt').replace('em0', 'wifibox0'))
    result = run(bridge.main, dict(members=['tap0']))
    assert result['failed'] and 'wifibox0 exists but is not a bridge' in result['msg']
    assert set(host.calls) == {('ifconfig', '-l'), ('ifconfig', 'wifibox0')}


def test_member_of_another_bridge_is_refused_before_any_change(host, run):
    interfaces(host, 'em0', 'bridge0', 'tap0', 'tap1')
    host.on('ifconfig', 'wifibox0', **MISSING)
    host.on('ifconfig', out=fixture('em0-not-bridge.txt') + fixture('bridge0-two-taps.txt'))
    result = run(bridge.main, dict(members=['tap1']))
    assert result['failed'] and 'tap1 is already a member of bridge0' in result['msg']
    assert 'ifconfig bridge0 deletem tap1' in result['msg']
    assert not any(call[:2] == ('ifconfig', 'bridge') for call in host.calls)


def test_member_of_another_bridge_is_explained(host, run):
    interfaces(host, 'wifibox0', 'tap0')
    host.on('ifconfig', 'wifibox0', out=WIFIBOX0_DOWN_EMPTY)
    host.on('ifconfig', out=WIFIBOX0_DOWN_EMPTY)  # the race: another bridge took it after we looked
    host.on('ifconfig', 'wifibox0', 'addm', 'tap0', rc=1, err='ifconfig: BRDGADD tap0: Device busy\n')
    result = run(bridge.main, dict(members=['tap0']))
    assert result['failed'] and 'member of another bridge' in result['msg'] and 'deletem' in result['msg']


@pytest.mark.parametrize('args, words', [
    (dict(name='wifi box'), ["name: 'wifi box' is not an interface name"]),
    (dict(name='a' * 16), ['at most 15']),
    (dict(members=['tap 0']), ['members:']),
    (dict(members=['wifibox0']), ['member of itself']),
    (dict(rename_from='0bridge'), ['rename_from:']),
])
def test_bad_input(host, run, args, words):
    result = run(bridge.main, args)
    assert result['failed']
    for word in words:
        assert word in result['msg']
    assert host.calls == []


def test_tap_up_on_open_now_and_in_sysctl_conf(host, run, tmp_path):
    sysctl_conf = tmp_path / 'sysctl.conf'
    sysctl_conf.write_text('# $FreeBSD$\nkern.coredump=0\n')
    interfaces(host, 'wifibox0', 'tap0')
    host.on('ifconfig', 'wifibox0', out=WIFIBOX0)
    host.on('sysctl', '-n', 'net.link.tap.up_on_open', out='0\n')
    host.on('sysctl', 'net.link.tap.up_on_open=1', out='net.link.tap.up_on_open: 0 -> 1\n')
    result = run(bridge.main, dict(members=['tap0'], tap_up_on_open=True, sysctl_conf_path=str(sysctl_conf)), diff=True)
    assert result['changed'] and result['tap_up_on_open'] == 1
    assert result['commands'] == [['sysctl', 'net.link.tap.up_on_open=1']]
    assert sysctl_conf.read_text() == '# $FreeBSD$\nkern.coredump=0\nnet.link.tap.up_on_open=1\n'
    assert result['diff'][1]['after'] == sysctl_conf.read_text()
    host.answers.pop(('sysctl', '-n', 'net.link.tap.up_on_open'))
    host.on('sysctl', '-n', 'net.link.tap.up_on_open', out='1\n')
    assert not run(bridge.main, dict(members=['tap0'], tap_up_on_open=True, sysctl_conf_path=str(sysctl_conf)))['changed']


def test_tap_up_on_open_check_mode(host, run, tmp_path):
    sysctl_conf = tmp_path / 'sysctl.conf'
    interfaces(host, 'wifibox0', 'tap0')
    host.on('ifconfig', 'wifibox0', out=WIFIBOX0)
    host.on('sysctl', '-n', 'net.link.tap.up_on_open', out='0\n')
    result = run(bridge.main, dict(members=['tap0'], tap_up_on_open=True, sysctl_conf_path=str(sysctl_conf)), check_mode=True)
    assert result['changed'] and not sysctl_conf.exists()
    assert not host.ran('sysctl', 'net.link.tap.up_on_open=1')


def test_broken_sysctl_conf_stops_before_any_command(host, run, tmp_path):
    sysctl_conf = tmp_path / 'sysctl.conf'
    sysctl_conf.write_text('kern.coredump = 0\n')
    interfaces(host, 'em0')
    host.on('ifconfig', 'wifibox0', **MISSING)
    host.on('sysctl', '-n', 'net.link.tap.up_on_open', out='0\n')
    result = run(bridge.main, dict(members=['tap0'], tap_up_on_open=True, sysctl_conf_path=str(sysctl_conf)))
    assert result['failed'] and 'cannot edit' in result['msg']
    assert sysctl_conf.read_text() == 'kern.coredump = 0\n'
    assert not any(call[:2] == ('ifconfig', 'bridge') for call in host.calls)
