# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bad inputs and faults against lab laptops over real SSH, batched: one ansible-playbook run
per batch, many cases per run (the cheap cases are unit tests: tests/unit/plugins/modules/
test_bad_inputs.py and test_transactions.py).

Every case must fail with a message naming the input (or the failing command), and after each
batch the laptop must be what it was: loaded kernel files, interfaces and bridge members, the
sysctl and kernel environment model, the configuration files byte for byte and the names of the
files in the configuration folders (no temporary file left).  Faults are the lab's own
(`command-fails PROG`, `kldload-enoexec MODULE`), a command hidden by a bind mount of /dev/null
(a missing command), and a wrapper in front of ifconfig that fails one argv (a failure midway).
Needs root.
"""

import json
import os
import subprocess

import pytest

from wifibox_lab import api

from ansible_collections.wifibox.bhyve.tests.integration.labbatch import (
    PLAYBOOK,
    ROOT,
    TEST_DIR,
    module_task,
    run_batch,
    snapshot,
)

pytestmark = pytest.mark.lab


def assert_refused(results, cases):
    problems = []
    for case_id, dummy, dummy2, words in cases:
        result = results[case_id]
        message = result.get('msg', '')
        if not result.get('failed'):
            problems.append('%s: did not fail: %s' % (case_id, result))
        elif result.get('changed'):
            problems.append('%s: changed=true: %s' % (case_id, message))
        else:
            problems += ['%s: %r not in %r' % (case_id, word, message) for word in words if word not in message]
    assert problems == []


# --- bad inputs that need a real laptop's state -----------------------------------------------

def prepare(laptop):
    """A second bridge with a tap, a tap with MTU 9000, and files to point the modules at."""
    script = ('ifconfig bridge create name bridge0 up >/dev/null && ifconfig tap8 create up && ifconfig bridge0 addm tap8 && '
              'ifconfig tap7 create && ifconfig tap7 mtu 9000 && kldload -n vmm && '
              'mkdir -p %(d)s && printf "hostname=\\"x\\"\\n" > %(d)s/rc.conf && '
              'printf "vmm_load=\\"YES\\"\\n" > %(d)s/loader.conf && printf "kern.coredump=0\\n" > %(d)s/sysctl.conf && '
              'printf "vmm_load=YES YES\\n" > %(d)s/broken.conf' % dict(d=TEST_DIR))
    result = laptop.sh(script)
    assert result.returncode == 0, result.stderr


LAB_CASES = [
    ('kld second of three missing', 'kld', dict(name=['nmdm', 'if_nonexistent', 'if_bridge']), ['if_nonexistent.ko', 'nothing was loaded']),
    ('kld unload if_bridge with bridge0', 'kld', dict(name=['if_bridge'], state='absent'), ['destroys every bridge', 'bridge0']),
    ('kld unload compiled-in if_tap', 'kld', dict(name=['if_tap'], state='absent'), ['if_tap', 'compiled into the kernel']),
    ('kld unload bridgestp alone', 'kld', dict(name=['bridgestp'], state='absent'), ['bridgestp', 'depend']),
    ('kld path name', 'kld', dict(name=['../vmm']), ["'../vmm'"]),
    ('bridge lo0 member', 'bridge', dict(members=['tap0', 'lo0']), ['lo0 is not an Ethernet interface', 'loopback']),
    ('bridge tap7 MTU', 'bridge', dict(members=['tap0', 'tap7']), ['tap7 has MTU 9000']),
    ('bridge tap8 of bridge0', 'bridge', dict(members=['tap0', 'tap8']), ['tap8 is already a member of bridge0']),
    ('bridge absent wlan0', 'bridge', dict(name='bridge0', state='absent', members=['tap8', 'wlan0']), ['wlan0 is not a tap']),
    ('bridge absent em0', 'bridge', dict(name='bridge0', state='absent', members=['em0']), ['em0 is not a tap']),
    ('bridge absent lo0', 'bridge', dict(name='bridge0', state='absent', members=['lo0']), ['lo0 is not a tap']),
    ('bridge absent name em0', 'bridge', dict(name='em0', state='absent'), ['em0 is not a bridge']),
    ('bridge present name em0', 'bridge', dict(name='em0', members=['tap0']), ['em0 exists but is not a bridge']),
    ('bridge rename_from em0', 'bridge', dict(name='wifibox9', rename_from='em0'), ['em0 is not a bridge']),
    ('bridge sysctl.conf in missing dir', 'bridge', dict(members=['tap0'], tap_up_on_open=True, sysctl_conf_path=TEST_DIR + '/no/sysctl.conf'),
     ['does not exist']),
    ('rc_conf command substitution', 'rc_conf', dict(path=TEST_DIR + '/rc.conf', values=dict(hostname='$(reboot)')), ['hostname', 'command substitution']),
    ('rc_conf semicolon', 'rc_conf', dict(path=TEST_DIR + '/rc.conf', values=dict(sshd_flags='-4; reboot')), ['sshd_flags', "';'"]),
    ('rc_conf parameter', 'rc_conf', dict(path=TEST_DIR + '/rc.conf', values=dict(hostname='${HOME}')), ['hostname', 'parameter expansion']),
    ('rc_conf pipe in list', 'rc_conf', dict(path=TEST_DIR + '/rc.conf', add=dict(kld_list=['vmm|sh'])), ['kld_list', "'|'"]),
    ('rc_conf bad name', 'rc_conf', dict(path=TEST_DIR + '/rc.conf', values={'a b': 1}), ["'a b'"]),
    ('loader_conf absent device', 'loader_conf', dict(path='/boot/loader.conf', pptdevs=['9/0/0']), ['9/0/0', 'no PCI device']),
    # loader_conf edits only the files the loader reads (/boot/loader.conf, /boot/loader.conf.d/NAME.conf).
    ('loader_conf path outside /boot', 'loader_conf', dict(path=TEST_DIR + '/broken.conf', tunables=dict(a=1)), ['broken.conf', 'neither']),
    ('pci_info bus 256', 'pci_info', dict(selector='pci0:256:0:0'), ['bus 256 is impossible']),
    ('pci_info function 8', 'pci_info', dict(selector='3/0/8'), ['function 8 is impossible']),
    ('host_facts unknown option', 'host_facts', dict(card='iwm0'), ['card']),
]


def test_bad_inputs_on_a_laptop_are_refused_and_change_nothing(lab_laptops, tmp_path):
    laptop = lab_laptops('thinkpad-t480')
    prepare(laptop)
    before = snapshot(laptop)
    results = run_batch(laptop, tmp_path, [module_task(c[0], c[1], c[2]) for c in LAB_CASES])
    assert_refused(results, LAB_CASES)
    assert snapshot(laptop) == before


# --- the guest role as it is on main ----------------------------------------------------------

NET = dict(ssid='home', security='wpa2_psk', psk='correct horse battery')
ROLE_CASES = [
    ('role unknown flavour', dict(wifibox_guest_flavour='gentoo'), ['wifibox_guest_flavour', 'gentoo']),
    ('role unknown mode', dict(wifibox_guest_mode='mesh'), ['wifibox_guest_mode', 'mesh']),
    ('role bad hostname', dict(wifibox_guest_hostname='a b;reboot'), ['wifibox_guest_hostname', 'not a valid host name']),
    ('role bad country', dict(wifibox_guest_country='Germany'), ['wifibox_guest_country', 'Germany']),
    ('role networks not a list', dict(wifibox_guest_networks='home'), ['wifibox_guest_networks']),
    ('role ssid too long', dict(wifibox_guest_networks=[dict(NET, ssid='x' * 33)]), ['ssid', '33 bytes']),
    ('role unknown security', dict(wifibox_guest_networks=[dict(NET, security='wep')]), ['security', 'wep']),
    ('role psk too short', dict(wifibox_guest_networks=[dict(NET, psk='short')]), ['psk', '8 to 63']),
    ('role psk with newline', dict(wifibox_guest_networks=[dict(NET, psk='abcdefgh\nnetwork={')]), ['psk', 'printable ASCII']),
    ('role bad bssid', dict(wifibox_guest_networks=[dict(NET, bssid='11:22:33')]), ['bssid', '11:22:33']),
    ('role lan address no prefix', dict(wifibox_guest_lan_address='10.0.0.1'), ['wifibox_guest_lan_address']),
    ('role lan address network', dict(wifibox_guest_lan_address='10.0.0.0/24'), ['wifibox_guest_lan_address', 'network or broadcast']),
    ('role lease time', dict(wifibox_guest_dhcp_lease_time=5), ['wifibox_guest_dhcp_lease_time']),
    ('role port forward port', dict(wifibox_guest_port_forwards=[dict(proto='tcp', port=70000, to_address='10.0.0.2')]), ['70000']),
    ('role port forward proto', dict(wifibox_guest_port_forwards=[dict(proto='icmp', port=22, to_address='10.0.0.2')]), ['icmp']),
]


def test_guest_role_bad_inputs_are_refused_before_any_file(lab_laptops, tmp_path):
    laptop = lab_laptops('thinkpad-t480')
    before = snapshot(laptop)
    tasks = []
    for case_id, variables, dummy in ROLE_CASES:
        base = dict(wifibox_guest_networks=[NET])
        base.update(variables)
        tasks.append({'name': case_id, 'block': [{'name': 'role', 'ansible.builtin.include_role': {'name': 'wifibox.bhyve.wifibox_guest'},
                                                  'vars': base}],
                      'rescue': [{'name': 'keep', 'ansible.builtin.set_fact': {'failure_%d' % len(tasks): '{{ ansible_failed_result }}'}}]})
    # Blocks cannot be registered: collect the rescued failures instead.
    plays = []
    for index, task in enumerate(tasks):
        plays.append(task)
    collected = '{{ {%s} | to_json }}' % ', '.join('%s: failure_%d | default({})' % (json.dumps(c[0]), i) for i, c in enumerate(ROLE_CASES))
    out = tmp_path / 'role.json'
    plays.append({'name': 'collect', 'delegate_to': 'localhost', 'ansible.builtin.copy': {'content': collected, 'dest': str(out)}})
    book = tmp_path / 'role.yml'
    book.write_text(json.dumps([{'hosts': laptop.name, 'gather_facts': False, 'tasks': plays}], indent=1))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1')
    proc = subprocess.run([PLAYBOOK, '-i', laptop.inventory_path, str(book)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert out.exists(), proc.stdout[-4000:] + proc.stderr[-2000:]
    results = json.loads(out.read_text())
    assert_refused(results, [(case_id, None, None, words) for case_id, dummy, words in ROLE_CASES])
    assert 'correct horse' not in proc.stdout + proc.stderr + out.read_text()
    assert snapshot(laptop) == before


# --- every command failing, and missing -------------------------------------------------------

def valid_tasks():
    """Tasks that succeed on a fresh T480 and, between them, run every command the modules use."""
    return [
        module_task('kld load nmdm', 'kld', dict(name=['nmdm', 'vmm'], persist='loader', loader_conf_path=TEST_DIR + '/loader.conf')),
        module_task('kld unload if_iwm', 'kld', dict(name=['if_iwm'], state='absent')),
        module_task('bridge create', 'bridge', dict(members=['tap0', 'tap1'], tap_up_on_open=True, sysctl_conf_path=TEST_DIR + '/sysctl.conf')),
        module_task('loader_conf pptdevs', 'loader_conf', dict(path='/boot/loader.conf', pptdevs=['3/0/0'])),
        module_task('pci_info', 'pci_info', dict(selector='pci0:3:0:0')),
        module_task('host_facts', 'host_facts', {}),
    ]


# program -> the tasks of valid_tasks() that must fail when it fails (the others do not run it)
USERS = {
    'kldstat': ['kld load nmdm', 'kld unload if_iwm'],
    'kldload': ['kld load nmdm'],
    'kldunload': ['kld unload if_iwm'],
    'ifconfig': ['bridge create'],
    'pciconf': ['loader_conf pptdevs', 'pci_info', 'host_facts'],
    'sysctl': ['kld load nmdm', 'bridge create'],
}


@pytest.mark.parametrize('how', ['command-fails', 'missing'])
def test_each_command_failing_or_missing_changes_nothing(lab_laptops, tmp_path, how):
    laptop = lab_laptops('thinkpad-t480')
    assert laptop.sh('mkdir -p %(d)s && printf "kern.coredump=0\\n" > %(d)s/sysctl.conf && : > %(d)s/loader.conf'
                     % dict(d=TEST_DIR)).returncode == 0
    problems = []
    for program, users in sorted(USERS.items()):
        before = snapshot(laptop)
        if how == 'command-fails':
            api.fault(laptop, 'command-fails', '%s:Operation not permitted' % program)
        else:
            hidden = laptop.sh('p=$(command -v %s) && mount --bind /dev/null "$p" && echo "$p"' % program)
            assert hidden.returncode == 0, hidden.stderr
        try:
            tasks = [task for task in valid_tasks() if task['name'] in users]
            results = run_batch(laptop, tmp_path, tasks, name=program + '-' + how)
        finally:
            if how == 'command-fails':
                api.fault(laptop, 'clear')
            else:
                laptop.sh('umount "$(command -v %s 2>/dev/null || echo /sbin/%s)" 2>/dev/null; umount /sbin/%s /usr/sbin/%s 2>/dev/null; true'
                          % (program, program, program, program))
        for name in users:
            result = results[name]
            if not result.get('failed') or result.get('changed') or program not in result.get('msg', ''):
                problems.append('%s %s / %s: %s' % (how, program, name, result.get('msg', result)))
        after = snapshot(laptop)
        if after != before:
            problems.append('%s %s: the laptop changed: %s' % (how, program, sorted(k for k in after if after[k] != before[k])))
    assert problems == []


# --- failures midway, on a real laptop ---------------------------------------------------------

def test_failures_midway_are_undone_on_a_laptop(lab_laptops, tmp_path):
    laptop = lab_laptops('thinkpad-t480')
    assert laptop.sh('mkdir -p %(d)s && printf "kern.coredump=0\\n" > %(d)s/sysctl.conf && printf "# x\\n" > %(d)s/loader.conf'
                     % dict(d=TEST_DIR)).returncode == 0
    # ifconfig fails for one argv (the second tap's addm), as a kernel refusing it would.
    wrapper = ('#!/bin/sh\ncase "$*" in "wifibox0 addm tap1") echo "ifconfig: BRDGADD tap1: Invalid argument" >&2; exit 1;; esac\n'
               'exec /tmp/relmod-real-ifconfig "$@"\n')
    laptop.write_file('/tmp/relmod-ifconfig', wrapper, 0o755)
    assert laptop.sh('cp "$(command -v ifconfig)" /tmp/relmod-real-ifconfig && mount --bind /tmp/relmod-ifconfig "$(command -v ifconfig)"').returncode == 0
    api.fault(laptop, 'kldload-enoexec', 'vmm')
    before = snapshot(laptop)
    try:
        results = run_batch(laptop, tmp_path, [
            module_task('kld nmdm then vmm', 'kld', dict(name=['nmdm', 'vmm'], persist='loader', loader_conf_path=TEST_DIR + '/loader.conf')),
            module_task('bridge two taps', 'bridge', dict(members=['tap0', 'tap1'], tap_up_on_open=True, sysctl_conf_path=TEST_DIR + '/sysctl.conf')),
        ], name='midway')
    finally:
        laptop.sh('umount "$(command -v ifconfig)"')
        api.fault(laptop, 'clear')
    kld_result, bridge_result = results['kld nmdm then vmm'], results['bridge two taps']
    assert kld_result['failed'] and kld_result['changed'] is False and kld_result['undone'] == ['loaded nmdm'], kld_result
    assert 'kldload -n vmm' in kld_result['msg'] and 'dmesg' in kld_result['msg']
    assert bridge_result['failed'] and bridge_result['changed'] is False, bridge_result
    assert bridge_result['undone'] == ['created tap1', 'added tap0 to wifibox0', 'created tap0', 'created wifibox0',
                                       'loaded if_bridge', 'set net.link.tap.up_on_open=1'], bridge_result
    assert 'addm tap1' in bridge_result['msg'] and 'Invalid argument' in bridge_result['msg']
    assert snapshot(laptop) == before
