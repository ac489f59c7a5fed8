#!/usr/bin/env python3
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""P1 (guest part): a no-op run of the wifibox_guest role against a lab laptop, next to a one-ping playbook.

Brings up its own lab laptop (its own lab root), converges the role once (so the next runs are
no-ops), then alternates, N times each:

  ping      a playbook with one ansible.builtin.ping task;
  after     the role of this work tree (validation on the controller + one config_files call);
  before    (with --before REV) the role as it was at git revision REV, one templated task per file,
            from a collection tree made with `git archive` (its own config dir on the laptop).

Every run uses the same inventory and connection settings (SSH as the lab sets it up, the
defaults of ansible.cfg). Prints the wall and CPU time (the ansible-playbook process and its
children) per variant as median / min / max, the ratio of medians to ping, and the number
of SSH commands and module runs of one -vvv run of each variant. Timings are never asserted.

  sudo .venv/bin/python bench/guest_role_noop.py --runs 7 --before 43304ca
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402  pylint: disable=wrong-import-position

ROOT, VENV, stats = _common.ROOT, _common.VENV, _common.stats

NETWORKS = """        wifibox_guest_networks:
          - {ssid: home, psk: 'correct horse battery', priority: 10}
          - {ssid: 'caf\\u00e9', security: wpa3_sae, psk: 'sae "pass" #1'}
          - {ssid: open, security: open}
        wifibox_guest_port_forwards:
          - {proto: tcp, port: 2222, to_address: 10.0.0.2, to_port: 22}
"""

ROLE_PLAY = """- name: wifibox_guest role
  hosts: HOST
  gather_facts: false
  roles:
    - role: wifibox.bhyve.wifibox_guest
      vars:
        wifibox_guest_config_dir: CONFIG_DIR
""" + NETWORKS

PING_PLAY = _common.PING_PLAY


def run(argv, env):
    """Run ARGV; return (wall seconds, CPU seconds of the children, process)."""
    wall, cpu, _peak, proc = _common.run(argv, env=env)
    return wall, cpu, proc


def collection_at(rev, work):
    """A collections path holding wifibox.bhyve as it was at REV (git archive)."""
    dest = os.path.join(work, 'before', 'ansible_collections', 'wifibox', 'bhyve')
    os.makedirs(dest)
    archive = subprocess.run(['git', '-C', ROOT, 'archive', rev], capture_output=True, check=True).stdout
    subprocess.run(['tar', '-x', '-C', dest], input=archive, check=True)
    return os.path.join(work, 'before')


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--runs', type=int, default=7, help='runs of each variant (at least 5)')
    parser.add_argument('--before', metavar='REV', help='also time the role as it was at this git revision')
    parser.add_argument('--root', default='/srv/wifibox-lab-bench-guest', help='lab root for the laptop')
    parser.add_argument('--profile', default='thinkpad-t480')
    parser.add_argument('--markdown', metavar='FILE', help='also write the figures as a Markdown section to FILE')
    args = parser.parse_args()
    if args.runs < 5:
        parser.error('--runs must be at least 5')
    from wifibox_lab import api  # pylint: disable=import-outside-toplevel

    work = tempfile.mkdtemp(prefix='guest-bench-')
    name = 'gbench%d' % (os.getpid() % 10000)
    print('setup: %s, %s, %d CPUs, python %s, lab root %s, laptop %s (%s)'
          % (platform.node(), platform.platform(), os.cpu_count(), platform.python_version(), args.root, name,
             args.profile), flush=True)
    rev = subprocess.run(['git', '-C', ROOT, 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True).stdout
    print('commit: %s%s' % (rev.strip(), ' (before: %s)' % args.before if args.before else ''), flush=True)
    laptop = api.up(name, profile=args.profile, root=args.root)
    try:
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
                   ANSIBLE_RETRY_FILES_ENABLED='0', PATH=VENV + os.pathsep + os.environ.get('PATH', ''))
        variants = {}

        def play(key, text, collections=None):
            path = os.path.join(work, key + '.yml')
            with open(path, 'w', encoding='utf-8') as handle:
                handle.write(text)
            venv = dict(env)
            if collections:
                venv['ANSIBLE_COLLECTIONS_PATH'] = collections
            variants[key] = ([os.path.join(VENV, 'ansible-playbook'), '-i', laptop.inventory_path, path], venv)

        play('ping', PING_PLAY.replace('HOST', name))
        play('after', ROLE_PLAY.replace('HOST', name).replace('CONFIG_DIR', '/usr/local/etc/wifibox-bhyve-bench-after'))
        if args.before:
            play('before', ROLE_PLAY.replace('HOST', name).replace('CONFIG_DIR', '/usr/local/etc/wifibox-bhyve-bench-before'),
                 collection_at(args.before, work))
        # Converge once (and check the next run is a no-op), count SSH commands and module runs at -vvv.
        counts = {}
        for key, (argv, venv) in variants.items():
            for attempt in (1, 2):
                _wall, _cpu, proc = run(argv, venv)
                recap = re.search(r'ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', proc.stdout)
                if proc.returncode != 0 or not recap:
                    sys.exit('%s failed:\n%s%s' % (key, proc.stdout[-3000:], proc.stderr[-2000:]))
            if recap.group(1) != '0':
                sys.exit('%s is not a no-op on its second run:\n%s' % (key, proc.stdout[-3000:]))
            _wall, _cpu, proc = run(argv + ['-vvv'], venv)
            out = proc.stdout + proc.stderr
            counts[key] = (len(re.findall(r'SSH: EXEC ssh ', out)),
                           len(re.findall(r'^(?:ok|changed): \[', out, re.M)))
        results = {key: {'wall': [], 'cpu': []} for key in variants}
        order = list(variants)
        for i in range(args.runs):
            for key in (order if i % 2 == 0 else order[::-1]):
                argv, venv = variants[key]
                wall, cpu, proc = run(argv, venv)
                if proc.returncode != 0:
                    sys.exit('%s failed:\n%s' % (key, proc.stdout[-3000:]))
                results[key]['wall'].append(wall)
                results[key]['cpu'].append(cpu)
                print('  run %d %-6s %.2f s wall, %.2f s CPU' % (i + 1, key, wall, cpu), flush=True)
        ping_wall = statistics.median(results['ping']['wall'])
        ping_cpu = statistics.median(results['ping']['cpu'])
        lines = ['%-7s %-22s %-22s %-13s %s' % ('variant', 'wall median/min/max', 'CPU median/min/max',
                                                 'ratio wall/CPU', 'SSH commands, task results (-vvv run)')]
        for key in order:
            wall, cpu = stats(results[key]['wall']), stats(results[key]['cpu'])
            lines.append('%-7s %5.2f %5.2f %5.2f s    %5.2f %5.2f %5.2f s    %4.2f / %4.2f   %d, %d'
                         % (key, wall[0], wall[1], wall[2], cpu[0], cpu[1], cpu[2], wall[0] / ping_wall,
                            cpu[0] / ping_cpu, counts[key][0], counts[key][1]))
        lines.append('\nratio = median of the variant / median of ping (%d runs each, alternated).' % args.runs)
        print('\n' + '\n'.join(lines))
        if args.markdown:
            with open(args.markdown, 'w', encoding='utf-8') as handle:
                handle.write('## wifibox_guest role alone, no-op ÷ one ping\n\nSetup: %s.\n\n```\n%s\n```\n'
                             % (_common.machine_line(), '\n'.join(lines)))
    finally:
        laptop.destroy()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
