# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The host role's dhclient.conf block on a lab laptop, against the lab's dhclient(8) (which reads
dhclient.conf as FreeBSD's clparse.c does): the user's lines stay, a second run changes nothing
and calls no module for it, and a wifibox0 that gets no DHCP answer for longer than `timeout`
has its lease seconds after the answer comes (FreeBSD's own retry would be 300 s).  Needs root."""

import importlib.util
import os
import subprocess
import time

import pytest

pytestmark = pytest.mark.lab

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(ROOT, '.venv', 'bin', 'ansible-playbook')
_spec = importlib.util.spec_from_file_location(
    'lab_dhclient_tests', os.path.join(ROOT, 'lab', 'tests', 'test_lab_dhclient.py'))
lab_dhclient = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lab_dhclient)

USER = '# my own settings\nsend host-name "t480";\ninterface "em0" {\n  timeout 30;\n}\n'
# As the preflight does it: host_facts reads the block back, then the role's task decides.
PLAY = """- name: The role's dhclient.conf block
  hosts: all
  gather_facts: false
  tasks:
    - name: Read the block back (the preflight's host_facts call)
      wifibox.bhyve.host_facts:
        blocks:
          - path: /etc/dhclient.conf
            marker: "# {mark} wifibox.bhyve: dhclient(8) on wifibox0 (managed by Ansible)"
    - name: The role's task
      ansible.builtin.include_role:
        name: wifibox.bhyve.wifibox_host
        tasks_from: dhclient.yml
      vars:
        wifibox_host_ipv4: %s
"""


def play(laptop, tmp_path, ipv4='dhcp'):
    path = os.path.join(str(tmp_path), 'play-%s.yml' % ipv4)
    with open(path, 'w') as handle:
        handle.write(PLAY % ipv4)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_STDOUT_CALLBACK='ansible.builtin.default', ANSIBLE_DISPLAY_OK_HOSTS='true')
    proc = subprocess.run([PLAYBOOK, '-i', laptop.inventory_path, path, '--diff'], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-5000:]
    return proc.stdout


def test_the_block_keeps_the_users_lines_and_brings_the_lease_within_seconds(lab_laptop, tmp_path):
    lp = lab_laptop
    lp.write_file('/etc/dhclient.conf', USER, mode=0o640)
    out = play(lp, tmp_path)
    assert 'changed=1' in out, out
    conf = lp.read_file('/etc/dhclient.conf')
    assert conf.startswith(USER), conf
    assert conf[len(USER):] == (
        '# BEGIN wifibox.bhyve: dhclient(8) on wifibox0 (managed by Ansible)\n'
        'interface "wifibox0" {\n  timeout 10;\n  retry 3;\n  initial-interval 1;\n  backoff-cutoff 3;\n}\n'
        '# END wifibox.bhyve: dhclient(8) on wifibox0 (managed by Ansible)\n'), conf
    assert lp.nsenter(['stat', '-c', '%a', '/etc/dhclient.conf']).stdout.strip() == '640'  # the user's mode
    # the second run: nothing to do, and the task is skipped on the controller (no round trip)
    out = play(lp, tmp_path)
    assert 'changed=0' in out and "skipping: [%s]" % lp.name in out, out

    # wifibox0 with nobody answering DHCP for longer than the block's timeout (10 s) ...
    server = lab_dhclient.DhcpServer(lp, str(tmp_path))
    try:
        began = time.monotonic()
        rc, _out, err = lab_dhclient.run(lp, 'dhclient', 'wifibox0', timeout=120)
        assert rc == 0 and err.splitlines()[-1] == 'No working leases in persistent database - sleeping.', err
        assert 'dhclient.conf line' not in err, err  # the role's block parses without a warning
        # it gave up after the block's timeout, not FreeBSD's default of 60 s (wide margins: a loaded CI)
        assert 9 <= time.monotonic() - began < 55, err
        time.sleep(2)
        # ... then the guest's DHCP server answers: the lease comes within retry 3 s + a DISCOVER,
        # not after FreeBSD's retry of 300 s (the bound leaves a loaded CI a wide margin)
        server.start()
        answered = time.monotonic()
        assert lab_dhclient.wait_for(lambda: lab_dhclient.inet(lp), 90), lp.read_file('/var/log/messages')[-2000:]
        assert time.monotonic() - answered < 60
    finally:
        pidfile = lab_dhclient.PIDFILE
        lab_dhclient.run(lp, 'sh', '-c', 'test -f %s && kill $(cat %s)' % (pidfile, pidfile))
        server.close()

    # static addresses: the block goes, the user's lines stay
    out = play(lp, tmp_path, ipv4='static')
    assert 'changed=1' in out, out
    assert lp.read_file('/etc/dhclient.conf') == USER
