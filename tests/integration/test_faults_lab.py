# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Real faults on lab laptops: a file system that is really full (a small tmpfs mounted in the
laptop over the directory a module writes to), and a converge (the host modules and the guest
role) killed at random points -- the controller and the module processes on the laptop, with
SIGKILL -- then run again: it must converge to exactly what an uninterrupted converge gives, with
no temporary file, half-written file or half-made bridge left.  Needs root.
"""

import json
import os
import random
import signal
import subprocess
import time

import pytest

from wifibox_lab.laptop import processes_in_netns

from ansible_collections.wifibox.bhyve.tests.integration.labbatch import ROOT, module_task, run_batch, snapshot

pytestmark = pytest.mark.lab

PLAYBOOK = os.path.join(ROOT, '.venv', 'bin', 'ansible-playbook')


# --- a full disk -------------------------------------------------------------------------------

FULL_DIRS = ('/etc/rc.conf.d', '/boot/loader.conf.d')


def fill_up(laptop):
    """Mount a 64 KiB tmpfs over each of FULL_DIRS, put the old files in, and fill it to the last byte."""
    script = []
    for directory in FULL_DIRS:
        script.append('mkdir -p %(d)s && mount -t tmpfs -o size=64k,mode=755 relmod-full %(d)s && '
                      'printf "# before\\nsshd_enable=\\"YES\\"\\n" > %(d)s/netif && '
                      'printf "# before\\nkern.geom.label.disk_ident.enable=\\"0\\"\\n" > %(d)s/wifibox.conf && '
                      '(dd if=/dev/zero of=%(d)s/filler bs=1k 2>/dev/null; true)'
                      % dict(d=directory))
    result = laptop.sh(' && '.join(script))
    assert result.returncode == 0, result.stderr
    probe = laptop.sh('printf x >> %s/filler' % FULL_DIRS[0])
    assert probe.returncode != 0, probe  # dash says 'I/O error' for ENOSPC


def empty_out(laptop):
    laptop.sh('; '.join('umount %s' % directory for directory in FULL_DIRS))


def test_a_full_disk_leaves_the_old_file_and_undoes_the_rest(lab_laptops, tmp_path):
    laptop = lab_laptops('thinkpad-t480')
    fill_up(laptop)
    try:
        before = snapshot(laptop)
        olds = dict((path, laptop.read_file(path)) for path in ('/etc/rc.conf.d/netif', '/boot/loader.conf.d/wifibox.conf'))
        results = run_batch(laptop, tmp_path, [
            module_task('rc_conf in a full /etc/rc.conf.d', 'rc_conf', dict(service='netif', values=dict(ifconfig_wifibox0='SYNCDHCP'))),
            module_task('loader_conf in a full /boot/loader.conf.d', 'loader_conf',
                        dict(path='/boot/loader.conf.d/wifibox.conf', tunables={'hw.vmm.amdvi.enable': 1})),
            module_task('kld loads, then its file is full', 'kld',
                        dict(name=['nmdm', 'vmm'], persist='loader', loader_conf_path='/boot/loader.conf.d/wifibox.conf')),
            module_task('bridge made, then sysctl.conf is full', 'bridge',
                        dict(members=['tap0'], tap_up_on_open=True, sysctl_conf_path='/etc/rc.conf.d/sysctl.conf')),
        ], name='full')
        listing = laptop.sh('ls -a %s' % ' '.join(FULL_DIRS)).stdout
        after = snapshot(laptop)
        news = dict((path, laptop.read_file(path)) for path in olds)
    finally:
        empty_out(laptop)
    problems = []
    for name, result in results.items():
        if not result.get('failed') or result.get('changed'):
            problems.append('%s: %s' % (name, result))
        elif 'No space left on device' not in result['msg'] or 'not changed' not in result['msg']:
            problems.append('%s: unclear message %r' % (name, result['msg']))
    assert problems == []
    assert results['kld loads, then its file is full']['undone'] == ['loaded vmm', 'loaded nmdm']
    assert results['bridge made, then sysctl.conf is full']['undone'][:3] == ['added tap0 to wifibox0', 'created tap0', 'created wifibox0']
    assert news == olds
    assert 'wifibox-tmp' not in listing and 'sysctl.conf' not in listing
    assert after == before


# --- a converge killed at random points ---------------------------------------------------------

CONVERGE_TASKS = [
    module_task('kernel modules', 'kld', dict(name=['vmm', 'nmdm'], persist='loader')),
    module_task('pass the card through at boot', 'loader_conf', dict(pptdevs=['3/0/0'], tunables={'hw.vmm.maxcpu': 4})),
    module_task('rc.conf', 'rc_conf', dict(values=dict(wifibox_enable=True, ifconfig_wifibox0='SYNCDHCP'),
                                           add=dict(devmatch_blocklist=['if_iwm'], kld_list=['nmdm']))),
    module_task('bridge', 'bridge', dict(members=['tap0'], tap_up_on_open=True)),
    {'name': 'guest configuration', 'ansible.builtin.include_role': {'name': 'wifibox.bhyve.wifibox_guest'},
     'vars': {'wifibox_guest_networks': [{'ssid': 'home', 'security': 'wpa2_psk', 'psk': 'correct horse battery'}]}},
]
GUEST_DIR = '/usr/local/etc/wifibox-bhyve'


def converge_book(tmp_path, laptop):
    book = tmp_path / 'converge.yml'
    book.write_text(json.dumps([{'hosts': laptop.name, 'gather_facts': False, 'tasks': CONVERGE_TASKS}], indent=1))
    return book


def start_converge(tmp_path, laptop):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1')
    return subprocess.Popen([PLAYBOOK, '-i', laptop.inventory_path, str(converge_book(tmp_path, laptop))], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def kill_converge(proc, laptop, netns):
    """SIGKILL the controller (its whole session) and every module process it started on the laptop."""
    victims = []
    for pid in processes_in_netns(netns):
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as handle:
                cmdline = handle.read().replace(b'\0', b' ')
        except OSError:
            continue
        if b'AnsiballZ' in cmdline or b'ansible-tmp' in cmdline:
            victims.append(pid)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    for pid in victims:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()
    return victims


def converged_state(laptop):
    """What a converge leaves: the snapshot plus the guest's files, by content."""
    state = snapshot(laptop)
    files = laptop.sh('cd %s && find . -type f | sort | while read f; do echo "$f $(stat -c %%a "$f") $(sha256sum < "$f")"; done'
                      % GUEST_DIR).stdout
    stray = laptop.sh('find /etc /boot /usr/local/etc -name "*.wifibox-tmp*" -o -name ".ansible_tmp*" 2>/dev/null').stdout
    state.pop('listing')
    # The laptops differ by name (rc.conf's hostname): compare the converged files by content, name replaced.
    texts = dict((path, (laptop.nsenter(['cat', path]).stdout or '').replace(laptop.name, 'LAPTOP'))
                 for path in ('/etc/rc.conf', '/boot/loader.conf', '/etc/sysctl.conf'))
    state['files'] = texts
    state['kenv'] = dict((key, value) for key, value in state['kenv'].items() if laptop.name not in str(value))
    return dict(state, guest_files=files, stray=stray)


def run_converge(tmp_path, laptop):
    proc = start_converge(tmp_path, laptop)
    out, dummy = proc.communicate(timeout=600)
    assert proc.returncode == 0, out[-4000:]
    return out


def test_a_converge_killed_at_random_points_converges_on_the_next_run(lab_laptops, tmp_path):
    seed = int(os.environ.get('RELMOD_KILL_SEED', time.time()))
    rng = random.Random(seed)
    reference = lab_laptops('thinkpad-t480')
    started = time.monotonic()
    run_converge(tmp_path, reference)
    duration = time.monotonic() - started
    expected = converged_state(reference)
    assert expected['stray'] == ''
    assert 'tap0' in expected['runtime']

    laptop = lab_laptops('thinkpad-t480')
    netns = laptop.info['netns']
    kills = []
    for dummy in range(4):
        delay = rng.uniform(0.5, 0.9 * duration)  # inside the run, not after it
        proc = start_converge(tmp_path, laptop)
        time.sleep(delay)
        if proc.poll() is None:
            kills.append((round(delay, 2), len(kill_converge(proc, laptop, netns))))
        else:
            proc.wait()
    out = run_converge(tmp_path, laptop)
    got = converged_state(laptop)
    assert got == expected, 'seed %d, kills (delay, module processes killed) %s' % (seed, kills)
    again = run_converge(tmp_path, laptop)
    assert 'changed=0' in again, again[-2000:]
    print('converge %.1f s; seed %d; kills %s' % (duration, seed, kills))
