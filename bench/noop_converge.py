#!/usr/bin/env python3
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""P1 no-op converge: `ansible-playbook wifibox.bhyve.laptop` (playbooks/laptop.yml) on a lab laptop
that is already converged, next to a playbook with one ansible.builtin.ping task on the same laptop.

Brings up its own lab laptop (its own lab root, removed at the end), converges it once with the
README's settings (a country and one network) and checks the second run changes nothing, then
alternates the two playbooks. Both use the same inventory and connection settings: ansible.cfg of
the tree and pipelining as set by --pipelining (on by default, as the README recommends for root on
FreeBSD). Module round trips = SSH commands of one -vvv run ("SSH: EXEC ssh"), task results = ok/changed
lines of that run.

    sudo .venv/bin/python bench/noop_converge.py [--runs 5] [--pipelining on|off|both]
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402  pylint: disable=wrong-import-position

EXTRA_VARS = {'wifibox_guest_country': 'DE', 'wifibox_guest_networks': [{'ssid': 'wifibox-lab', 'psk': 'wifibox-lab-bench'}]}
PLAYBOOK = 'wifibox.bhyve.laptop'


def playbook_argv(inventory, playbook, limit, extra=()):
    return ([os.path.join(_common.VENV, 'ansible-playbook'), '-i', inventory, playbook, '-l', limit,
             '-e', json.dumps(EXTRA_VARS)] + list(extra))


def recap(proc):
    """(changed, failed+unreachable) summed over the PLAY RECAP."""
    rows = re.findall(r'ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', proc.stdout)
    if not rows:
        return None
    return sum(int(r[0]) for r in rows), sum(int(r[1]) + int(r[2]) for r in rows)


def checked(proc, what, noop=False):
    result = recap(proc)
    if proc.returncode != 0 or result is None or result[1]:
        sys.exit('%s failed:\n%s%s' % (what, proc.stdout[-4000:], proc.stderr[-2000:]))
    if noop and result[0]:
        sys.exit('%s is not a no-op (changed=%d):\n%s' % (what, result[0], proc.stdout[-4000:]))
    return proc


def counts(out):
    """(SSH commands, ok/changed task results, skipped task results) of one -vvv run."""
    return (len(re.findall(r'SSH: EXEC ssh ', out)), len(re.findall(r'^(?:ok|changed): \[', out, re.M)),
            len(re.findall(r'^skipping: \[', out, re.M)))


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit('terminated'))
    argparser = _common.parser(__doc__, runs=5)
    argparser.add_argument('--pipelining', choices=('on', 'off', 'both'), default='on')
    argparser.add_argument('--profile', default='thinkpad-t480')
    args = argparser.parse_args()
    _common.check_runs(argparser, args)
    from wifibox_lab import api  # pylint: disable=import-outside-toplevel
    report = _common.Report('P1 no-op converge (playbooks/laptop.yml ÷ one ping)', args.markdown)
    work = tempfile.mkdtemp(prefix='noop-bench-')
    ping = os.path.join(work, 'ping.yml')
    with open(ping, 'w', encoding='utf-8') as handle:
        handle.write(_common.PING_PLAY.replace('HOST', 'all'))
    settings = ['on', 'off'] if args.pipelining == 'both' else [args.pipelining]
    try:
        with _common.lab_root('p1') as root:
            laptop = api.up('p1', profile=args.profile, root=root)
            inventory = laptop.inventory_path
            env = {s: _common.ansible_env(ANSIBLE_PIPELINING='true' if s == 'on' else 'false') for s in settings}
            first_env = env[settings[0]]
            wall, _cpu, _peak, proc = _common.run(playbook_argv(inventory, PLAYBOOK, 'p1'), env=first_env)
            checked(proc, 'the first converge')
            _common.progress('first converge: %.1f s, changed=%d' % (wall, recap(proc)[0]))
            checked(_common.run(playbook_argv(inventory, PLAYBOOK, 'p1'), env=first_env)[3], 'the second run', True)
            report.add('Lab laptop %s (profile %s), `-e %s`; %d rounds alternated; wall and CPU of ansible-playbook '
                       'and its children (controller side, ssh clients included).'
                       % (laptop.name, args.profile, json.dumps(EXTRA_VARS).replace('wifibox-lab-bench', '…'),
                          args.runs))
            report.add()
            rows, targets = [], []
            for setting in settings:
                noop_argv = playbook_argv(inventory, PLAYBOOK, 'p1')
                ping_argv = playbook_argv(inventory, ping, 'p1')

                def variant(argv, noop, setting=setting):
                    def call():
                        wall, cpu, _peak, proc = _common.run(argv, env=env[setting])
                        checked(proc, ' '.join(argv[:4]), noop)
                        return {'wall': wall, 'cpu': cpu}
                    return call
                results = _common.alternate({'noop': variant(noop_argv, True), 'ping': variant(ping_argv, False)},
                                            args.runs, 'pipelining %s ' % setting)
                noop_counts = counts(checked(_common.run(noop_argv + ['-vvv'], env=env[setting])[3], 'noop -vvv',
                                             True).stdout)
                ping_counts = counts(_common.run(ping_argv + ['-vvv'], env=env[setting])[3].stdout)
                for key, count in (('noop', noop_counts), ('ping', ping_counts)):
                    rows.append([setting, 'no-op laptop.yml' if key == 'noop' else 'one ping',
                                 _common.fmt(results[key]['wall']), _common.fmt(results[key]['cpu']),
                                 count[0], count[1], count[2]])
                targets.append((setting, results))
            report.table(['pipelining', 'playbook', 'wall', 'CPU', 'SSH commands (round trips)', 'task results',
                          'tasks skipped'], rows)
            for setting, results in targets:
                value = _common.ratio(results['noop']['wall'], results['ping']['wall'])[0]
                report.add('- pipelining %s, CPU ratio no-op ÷ ping: %s' % (
                    setting, _common.fmt_ratio(results['noop']['cpu'], results['ping']['cpu'])))
                noop_ssh, noop_tasks = [row[4:6] for row in rows if row[0] == setting and row[1] != 'one ping'][0]
                ping_ssh = [row[4] for row in rows if row[0] == setting and row[1] == 'one ping'][0]
                report.target('P1 no-op ÷ ping, wall (pipelining %s)' % setting,
                              _common.fmt_ratio(results['noop']['wall'], results['ping']['wall']), '≤ 5', value <= 5,
                              'Limit: the no-op makes %d SSH commands (the ping %d) and %d task results; each module '
                              'round trip costs the remote Python start and module import (about 0.3–0.5 s here) '
                              'whatever it does, and controller CPU per task (templating, set_fact, conditionals). '
                              'Would close it (role wifibox_host): fewer round trips (loader_conf and rc_conf in one '
                              'call, config_files skipped when host_facts reports the files unchanged).'
                              % (noop_ssh, ping_ssh, noop_tasks))
            report.add()
            report.write()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
