#!/usr/bin/env python3
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Time the VM lifecycle on one lab laptop, side by side with an Ansible ping in the same run.

    sudo .venv/bin/python bench/vm_lifecycle.py [--profile thinkpad-t480] [--rounds 3]

Builds a laptop in a lab root of its own (removed at the end), installs stand-in images,
and prints the median seconds of each step and its ratio to `ansible -m ping` (the cost of
one module round trip on this machine at this moment).  Figures, not assertions.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'lab'))
from wifibox_lab import api  # noqa: E402  pylint: disable=wrong-import-position

ANSIBLE = os.path.join(ROOT, '.venv', 'bin', 'ansible')
COMMAND = '/usr/local/sbin/wifibox-bhyve'


def ansible(lp, module, args=None):
    argv = [ANSIBLE, '-i', lp.inventory_path, lp.name, '-m', module]
    if args:
        argv += ['-a', json.dumps(args)]
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1')
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if ' | FAILED' in proc.stdout or proc.returncode not in (0, 2):
        raise SystemExit(proc.stdout + proc.stderr)


def timed(step):
    began = time.monotonic()
    step()
    return time.monotonic() - began


def status(lp):
    return json.loads(lp.ssh(COMMAND, 'status', '--json').stdout)


def wait(check, timeout=60):
    end = time.monotonic() + timeout
    while not check():
        if time.monotonic() > end:
            raise SystemExit('timed out')
        time.sleep(0.1)


def new_pid(now, pid):
    return now['running'] and now['pid'] != pid


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--profile', default='thinkpad-t480')
    parser.add_argument('--rounds', type=int, default=3)
    opts = parser.parse_args()
    root = tempfile.mkdtemp(prefix='wifibox-bench-', dir='/srv')
    lp = api.up('bench', opts.profile, root=root)
    try:
        lp.sh('pkg install -y bhyve-firmware >/dev/null; mkdir -p /usr/local/share/wifibox; '
              'truncate -s 4M /usr/local/share/wifibox/esp.img /usr/local/share/wifibox/root.img')
        vm = {'passthru': ['/'.join(lp.state()['wifi'].split(':')[1:])]}  # pci0:3:0:0 -> 3/0/0
        ansible(lp, 'wifibox.bhyve.vm', dict(vm, state='present'))
        results = {}

        def record(name, seconds):
            results.setdefault(name, []).append(seconds)

        for _ in range(opts.rounds):
            record('ansible ping (baseline)', timed(lambda: ansible(lp, 'ansible.builtin.ping')))
            record('vm started (from stopped)', timed(lambda: ansible(lp, 'wifibox.bhyve.vm', vm)))
            record('vm started (no change)', timed(lambda: ansible(lp, 'wifibox.bhyve.vm', vm)))
            record('vm_info', timed(lambda: ansible(lp, 'wifibox.bhyve.vm_info')))
            record('vm stopped (netif)', timed(lambda: ansible(lp, 'wifibox.bhyve.vm', dict(state='stopped'))))
            record('wifibox-bhyve start (ssh)', timed(lambda: lp.ssh(COMMAND, 'start')))
            record('wifibox-bhyve restart guest (ssh)', timed(lambda: lp.ssh(COMMAND, 'restart', 'guest')))
            pid = status(lp)['pid']

            def crash():
                api.guest_request(lp, 'wifibox', 'error')
                wait(lambda: new_pid(status(lp), pid))
            record('bhyve crash -> running again (restart_delay 5)', timed(crash))
            record('service wifibox_bhyve stop (ssh)', timed(lambda: lp.ssh('service', 'wifibox_bhyve', 'stop')))
            lp.ssh(COMMAND, 'start')
            record('reboot -> VM running', timed(lambda: (api.reboot(lp), wait(lambda: status(lp)['running']))))
            lp.ssh(COMMAND, 'stop')
        base = statistics.median(results['ansible ping (baseline)'])
        print('%-48s %8s %8s' % ('step (%s, %d rounds)' % (opts.profile, opts.rounds), 'median s', 'x ping'))
        for name, values in results.items():
            median = statistics.median(values)
            print('%-48s %8.2f %8.2f' % (name, median, median / base))
    finally:
        api.down('bench', root=root)
        subprocess.run(['rm', '-rf', root], check=False)


if __name__ == '__main__':
    main()
