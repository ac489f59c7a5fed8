#!/usr/bin/env python3
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""P2 fleet scaling: a no-op `ansible-playbook wifibox.bhyve.laptop` on 1, 10, 25 and 50 lab laptops.

Brings up the largest fleet in a lab root of its own (removed at the end), converges all of it once
(the README's settings, pipelining on), then runs the no-op playbook limited to the first N laptops,
the sizes alternated every round (1 10 25 50, then 50 25 10 1, ...). Same forks at every size
(--forks, default 10). Figures per size: wall, controller CPU (ansible-playbook, its forks and ssh
clients) per laptop, controller peak memory (resident memory of that process tree, sampled every
50 ms). The laptops' own sshd, module Python and simulated commands run on the same cores: their CPU
is measured apart (every process in the laptops' network namespaces, its own and its reaped children's
time, before and after each run), so the table shows whether the 2 cores are the limit.
Writes bench/fleet_scaling.svg (hand-written SVG, no plotting library).

Then, at the largest size only, --compare runs the same no-op with other settings alternated with the
default one: forks N (fN) and the free strategy (free-fN), for example `--compare f25,f50,free-f50`.

    sudo .venv/bin/python bench/fleet_scaling.py [--runs 5] [--sizes 1,10,25,50] [--forks 10] [--compare f25,f50]
"""

from __future__ import annotations

import os
import re
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402  pylint: disable=wrong-import-position
from noop_converge import PLAYBOOK, checked, playbook_argv, recap  # noqa: E402  pylint: disable=wrong-import-position


def _ticks():
    return os.sysconf('SC_CLK_TCK')


def netns_cpu(netns_names):
    """CPU seconds used so far by every process in these network namespaces (its own time and its reaped children's)."""
    from wifibox_lab.laptop import netns_inode  # pylint: disable=import-outside-toplevel
    inodes = set(filter(None, (netns_inode(name) for name in netns_names)))
    total = 0
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            if os.stat('/proc/%s/ns/net' % pid).st_ino not in inodes:
                continue
            with open('/proc/%s/stat' % pid) as handle:
                fields = handle.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        # after the command: state(0) ... utime(11) stime(12) cutime(13) cstime(14)
        total += sum(int(value) for value in fields[11:15])
    return total / _ticks()


def svg_plot(path, sizes, series):
    """Three small line charts side by side: SERIES is [(title, unit, [(median, min, max) per size])]."""
    width, height, pad = 260, 200, 40
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
             'font-size="11">' % (width * len(series), height + 30),
             '<rect width="100%" height="100%" fill="white"/>']
    xmax = max(sizes)
    for i, (title, unit, values) in enumerate(series):
        x0 = i * width
        ymax = max(v[2] for v in values) * 1.1 or 1

        def xy(size, value, x0=x0, ymax=ymax):
            return (x0 + pad + (width - pad - 15) * size / xmax, height - pad + 10 - (height - pad - 20) * value / ymax)
        parts.append('<text x="%d" y="14" font-weight="bold">%s</text>' % (x0 + pad, title))
        parts.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (
            x0 + pad, height - pad + 10, x0 + width - 15, height - pad + 10))
        parts.append('<line x1="%d" y1="20" x2="%d" y2="%d" stroke="black"/>' % (x0 + pad, x0 + pad, height - pad + 10))
        for frac in (0, 0.5, 1):
            y = height - pad + 10 - (height - pad - 20) * frac
            parts.append('<text x="%d" y="%.0f" text-anchor="end">%.3g</text>' % (x0 + pad - 3, y + 4, ymax * frac))
        parts.append('<text x="%d" y="%d">%s</text>' % (x0 + 2, height - pad + 36, unit))
        for size in sizes:
            x, _y = xy(size, 0)
            parts.append('<text x="%.0f" y="%d" text-anchor="middle">%d</text>' % (x, height - pad + 24, size))
        parts.append('<text x="%d" y="%d" text-anchor="middle">laptops</text>' % (x0 + width / 2 + 10, height + 20))
        points = ' '.join('%.1f,%.1f' % xy(s, v[0]) for s, v in zip(sizes, values))
        parts.append('<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="%s"/>' % points)
        for size, value in zip(sizes, values):
            x, y = xy(size, value[0])
            _x, ylow = xy(size, value[1])
            _x, yhigh = xy(size, value[2])
            parts.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#1f77b4"/>' % (x, ylow, x, yhigh))
            parts.append('<circle cx="%.1f" cy="%.1f" r="3" fill="#1f77b4"/>' % (x, y))
    parts.append('</svg>')
    with open(path, 'w', encoding='utf-8') as handle:
        handle.write('\n'.join(parts) + '\n')


def write_report(report, args, sizes, results, compare, compare_runs):
    """The section: the table per size, the plot, the targets, and the comparison when there is one."""
    report.add('Profile %s; forks %d; pipelining on; %d rounds, sizes alternated; the laptops\' sshd and Python share '
               'the same %d cores.' % (args.profile, args.forks, len(results[sizes[0]]['wall']), os.cpu_count()))
    report.add()
    rows = []
    for size in sizes:
        r = results[size]
        rows.append([size, _common.fmt(r['wall']), _common.fmt(r['cpu_per_laptop']),
                     _common.fmt(r['laptop_cpu_per_laptop']), _common.fmt(r['cores_busy'], 'cores'),
                     _common.fmt(r['peak_mib'], 'MiB', 0),
                     _common.fmt_ratio(r['wall'], results[sizes[0]]['wall'])])
    report.table(['laptops', 'wall', 'controller CPU per laptop', 'laptop-side CPU per laptop (sshd, modules)',
                  'cores busy ((controller + laptops CPU) ÷ wall)', 'controller peak memory',
                  'wall ÷ %d laptop' % sizes[0]], rows)
    if compare:
        report.add()
        report.add('Settings compared at %d laptops (alternated, %d rounds; fN = forks N, free = strategy free):'
                   % (max(sizes), compare_runs))
        report.add()
        base = 'f%d' % args.forks
        report.table(['setting', 'wall', 'wall ÷ %s' % base, 'controller CPU per laptop', 'laptop-side CPU per laptop',
                      'cores busy', 'controller peak memory'],
                     [[key, _common.fmt(r['wall']), _common.fmt_ratio(r['wall'], compare[base]['wall']),
                       _common.fmt(r['cpu_per_laptop']), _common.fmt(r['laptop_cpu_per_laptop']),
                       _common.fmt(r['cores_busy'], 'cores'), _common.fmt(r['peak_mib'], 'MiB', 0)]
                      for key, r in compare.items()])
    plot = os.path.join(args.out_dir, 'fleet_scaling.svg')
    svg_plot(plot, sizes, [('wall', 's', [_common.stats(results[s]['wall']) for s in sizes]),
                           ('controller CPU per laptop', 's', [_common.stats(results[s]['cpu_per_laptop'])
                                                               for s in sizes]),
                           ('controller peak memory', 'MiB', [_common.stats(results[s]['peak_mib']) for s in sizes])])
    report.add('![fleet scaling](%s)' % os.path.relpath(plot, os.path.join(_common.ROOT, 'bench')))
    report.add()
    big, one = max(sizes), sizes[0]
    wall_ratio = _common.ratio(results[big]['wall'], results[one]['wall'])[0]
    report.target('P2 wall, %d laptops ÷ %d' % (big, one), _common.fmt_ratio(results[big]['wall'],
                                                                             results[one]['wall']),
                  '≤ 10', wall_ratio <= 10,
                  'Limit: the 2 cores run the controller and all laptops\' sshd + Python; with forks %d the '
                  'no-op of %d laptops is CPU-bound, not latency-bound. Would close it: fewer module round trips '
                  'per laptop (P1), pipelining, more cores or spreading laptops over controllers (serial, '
                  'ansible-pull).' % (args.forks, big))
    cpu_ratio = _common.ratio(results[big]['cpu_per_laptop'], results[one]['cpu_per_laptop'])[0]
    report.target('P2 controller CPU per laptop, %d ÷ %d' % (big, one),
                  _common.fmt_ratio(results[big]['cpu_per_laptop'], results[one]['cpu_per_laptop']), '≤ 1.2',
                  cpu_ratio <= 1.2,
                  'Limit: the per-host cost of the strategy (linear strategy polls its workers; templar and '
                  'variable manager per host/task). Would close it: `strategy: free` or host_pinned, fewer tasks.')
    report.add()
    report.add('Which scale-out fits which fleet size, from these figures: [SCALING.md](SCALING.md).')
    report.add()
    report.write()


_ROUND = re.compile(r'(?:(\d+) laptops )?round (\d+)/(\d+) ([\w-]+): (.*)$')


def from_log(path):
    """(setup line, results per size, comparison results) from the progress lines of a run (its log)."""
    setup, results, compare = None, {}, {}
    with open(path, encoding='utf-8') as handle:
        for line in handle:
            if 'Setup: ' in line and setup is None:
                setup = line.split('Setup: ', 1)[1].strip()
            match = _ROUND.search(line.rstrip())
            if not match:
                continue
            figures = dict((key, float(value)) for key, value in
                           (item.split(' ') for item in match.group(5).split(', ')))
            target = compare.setdefault(match.group(4), {}) if match.group(1) else results.setdefault(
                int(match.group(4)), {})
            for key, value in figures.items():
                target.setdefault(key, []).append(value)
    return setup, results, compare


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit('terminated'))
    argparser = _common.parser(__doc__, runs=5)
    argparser.add_argument('--sizes', default='1,10,25,50')
    argparser.add_argument('--forks', type=int, default=10)
    argparser.add_argument('--profile', default='thinkpad-t480')
    argparser.add_argument('--compare', default='',
                           help='settings to compare at the largest size: fN (forks N), free-fN (strategy free)')
    argparser.add_argument('--compare-runs', type=int, default=None,
                           help='rounds of the comparison (default --runs; at least 3, said in the table)')
    argparser.add_argument('--from-log', metavar='LOG',
                           help='write the section from the progress lines of an earlier run (one stopped during '
                                'the comparison, for example) instead of running')
    args = argparser.parse_args()
    _common.check_runs(argparser, args)
    sizes = sorted(int(s) for s in args.sizes.split(','))
    compare_runs = args.compare_runs or args.runs
    if compare_runs < 3:
        argparser.error('--compare-runs must be at least 3')
    from wifibox_lab import api  # pylint: disable=import-outside-toplevel
    report = _common.Report('P2 fleet scaling (no-op playbooks/laptop.yml)', args.markdown)
    if args.from_log:
        setup, results, compare = from_log(args.from_log)
        report.lines[2] = 'Setup: %s Section written from the run\'s progress log (%s).' % (
            setup, 'comparison stopped after %d round(s)' % min(len(r['wall']) for r in compare.values())
            if compare else 'no comparison')
        sizes = sorted(results)
        write_report(report, args, sizes, results, compare,
                     min(len(r['wall']) for r in compare.values()) if compare else 0)
        return
    with _common.lab_root('p2') as root:
        names = ['fleet%02d' % i for i in range(1, max(sizes) + 1)]
        api.up_many(names, profile=args.profile, root=root)
        inventory = api.inventory(root)
        env = _common.ansible_env(ANSIBLE_PIPELINING='true', ANSIBLE_FORKS=args.forks)
        wall, cpu, _peak, proc = _common.run(playbook_argv(inventory, PLAYBOOK, ','.join(names)), env=env)
        checked(proc, 'the first converge of %d laptops' % len(names))
        _common.progress('first converge of %d laptops: %.0f s wall, %.0f s controller CPU, changed=%d'
                         % (len(names), wall, cpu, recap(proc)[0]))

        netns = dict((name, api.get(name, root=root).netns) for name in names)

        def variant(size, run_env=env):
            def call():
                before = netns_cpu([netns[name] for name in names[:size]])
                wall, cpu, peak, proc = _common.run(playbook_argv(inventory, PLAYBOOK, ','.join(names[:size])),
                                                    env=run_env, sample_memory=True)
                laptops = netns_cpu([netns[name] for name in names[:size]]) - before
                checked(proc, 'no-op on %d laptops' % size, noop=True)
                return {'wall': wall, 'cpu_per_laptop': cpu / size, 'peak_mib': peak / 2 ** 20,
                        'laptop_cpu_per_laptop': laptops / size, 'cores_busy': (cpu + laptops) / wall}
            return call
        results = _common.alternate({size: variant(size) for size in sizes}, args.runs)
        compare = {}
        big = max(sizes)
        if args.compare:
            settings = {'f%d' % args.forks: env}
            for item in args.compare.split(','):
                strategy, _sep, forks = item.rpartition('-')
                settings[item] = _common.ansible_env(ANSIBLE_PIPELINING='true', ANSIBLE_FORKS=int(forks.lstrip('f')),
                                                     **({'ANSIBLE_STRATEGY': strategy} if strategy else {}))
            compare = _common.alternate(dict((key, variant(big, value)) for key, value in settings.items()),
                                        compare_runs, '%d laptops ' % big)
    write_report(report, args, sizes, results, compare, compare_runs)


if __name__ == '__main__':
    main()
