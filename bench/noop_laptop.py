#!/usr/bin/env python3
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a fleet pays on every run: a no-op `ansible-playbook wifibox.bhyve.laptop` next to a
one-`ping` playbook against the same lab laptop, side by side, and the number of SSH
module executions (round trips) of the no-op run.

    .venv/bin/python bench/noop_laptop.py [--runs 3] [--profile thinkpad-t480]

Needs root (a lab laptop in a lab root of its own, removed at the end).
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, '.venv', 'bin')
PING = """- name: Ping
  hosts: all
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
"""


def play(inventory, playbook, pipelining, verbose=False, extra=()):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_PIPELINING=str(pipelining).lower())
    argv = [os.path.join(BIN, 'ansible-playbook'), '-i', inventory, playbook] + (['-vvv'] if verbose else []) + list(extra)
    began = time.monotonic()
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - began
    if proc.returncode != 0:
        raise SystemExit(proc.stdout[-3000:] + proc.stderr[-3000:])
    return elapsed, proc.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--profile', default='thinkpad-t480')
    args = parser.parse_args()
    lab_root = '/srv/wifibox-lab-bench-%d' % os.getpid()
    os.environ['WIFIBOX_LAB_ROOT'] = lab_root
    lab = os.path.join(BIN, 'wifibox-lab')
    scratch = tempfile.mkdtemp(prefix='wifibox-bench-')
    ping = os.path.join(scratch, 'ping.yml')
    with open(ping, 'w') as handle:
        handle.write(PING)
    try:
        subprocess.run([lab, 'up', 'bench', '--profile', args.profile], check=True, capture_output=True)
        inventory = subprocess.run([lab, 'inventory'], check=True, capture_output=True, text=True).stdout.strip()
        first, out = play(inventory, 'wifibox.bhyve.laptop', True)
        print('first run (configures the laptop): %.1f s' % first)
        assert 'changed=0' not in out
        for pipelining in (True, False):
            noop, pings = [], []
            for dummy in range(args.runs):
                elapsed, out = play(inventory, 'wifibox.bhyve.laptop', pipelining)
                assert re.search(r'changed=0\s', out), out[-2000:]
                noop.append(elapsed)
                pings.append(play(inventory, ping, pipelining)[0])
            n, p = statistics.median(noop), statistics.median(pings)
            print('pipelining=%s: no-op laptop.yml %.1f s, one-ping playbook %.1f s, ratio %.1f (medians of %d)'
                  % (pipelining, n, p, n / p, args.runs))
        dummy, out = play(inventory, 'wifibox.bhyve.laptop', True, verbose=True)
        execs = len(re.findall(r'SSH: EXEC ssh ', out))
        ping_execs = len(re.findall(r'SSH: EXEC ssh ', play(inventory, ping, True, verbose=True)[1]))
        print('SSH executions of a no-op laptop.yml (pipelining): %d; of the ping playbook: %d' % (execs, ping_execs))
        per_role = {}
        for chunk in re.split(r'^TASK \[', out, flags=re.MULTILINE)[1:]:
            role = chunk.split(' : ')[0] if ' : ' in chunk.split(']')[0] else '(playbook)'
            per_role[role] = per_role.get(role, 0) + len(re.findall(r'SSH: EXEC ssh ', chunk))
        for role, count in sorted(per_role.items()):
            print('  %s: %d' % (role, count))
        elapsed, dummy = play(inventory, 'wifibox.bhyve.laptop', True, extra=['-e', 'wifibox_host_guest=false'])
        print('no-op laptop.yml without the guest role (wifibox_host_guest=false): %.1f s' % elapsed)
    finally:
        subprocess.run([lab, 'down', 'bench'], check=False, capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(lab_root, ignore_errors=True)


if __name__ == '__main__':
    main()
