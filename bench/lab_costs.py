#!/usr/bin/env python3
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""P6 lab costs: what the lab itself costs, with the commands people run (`wifibox-lab`).

Rounds alternate, in a lab root of this benchmark's own:

  one       `wifibox-lab up NAME` (booted, answering SSH), then `wifibox-lab down NAME`;
  noboot    the same with `up --no-boot` (the namespaces and sshd without /etc/rc): the reference
            that shows what the simulated boot costs;
  fleet     `wifibox-lab up fleet --count N` (50 by default, 4 in parallel as the CLI does), then
            `wifibox-lab down --all` (only this root's laptops).

Figures: wall and CPU per command, up(one) ÷ up(no boot), and the per-laptop cost in a fleet
÷ one laptop alone. The fleet rounds load the shared machine: --fleet-runs (default 5) bounds them.
With the guest tier present (wifibox_lab.guest), also the guest image build, cold (empty cache
folder) next to cached.

    sudo .venv/bin/python bench/lab_costs.py [--runs 5] [--fleet 50] [--fleet-runs 5]
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402  pylint: disable=wrong-import-position

LAB = os.path.join(_common.VENV, 'wifibox-lab')


def lab(root, *argv):
    wall, cpu, _peak, proc = _common.run([LAB, '--root', root] + list(argv), timeout=900)
    if proc.returncode != 0:
        raise RuntimeError('wifibox-lab %s failed: %s' % (' '.join(argv), proc.stdout[-1000:] + proc.stderr[-1000:]))
    return wall, cpu


def cycle(root, up_argv, down_argv):
    up_wall, up_cpu = lab(root, *up_argv)
    down_wall, down_cpu = lab(root, *down_argv)
    return {'up_wall': up_wall, 'up_cpu': up_cpu, 'down_wall': down_wall, 'down_cpu': down_cpu}


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit('terminated'))
    argparser = _common.parser(__doc__, runs=5)
    argparser.add_argument('--fleet', type=int, default=50, help='fleet size (default 50)')
    argparser.add_argument('--fleet-runs', type=int, default=5, help='rounds of the fleet (default 5)')
    argparser.add_argument('--no-image', action='store_true', help='skip the guest image build')
    argparser.add_argument('--image-only', action='store_true',
                           help='only the guest image build, cold and cached (scripts/bench p6image)')
    args = argparser.parse_args()
    _common.check_runs(argparser, args)
    if args.quick:
        args.fleet_runs = 0
    if args.image_only:
        report = _common.Report('P6 guest image build', args.markdown)
        image_build(args, report)
        report.write()
        return
    report = _common.Report('P6 lab costs', args.markdown)
    with _common.lab_root('lab') as root:
        lab(root, 'up', 'warm')  # the root's key, known_hosts and base files exist before the first timing
        lab(root, 'down', 'warm')
        single = _common.alternate({
            'one': lambda: cycle(root, ['up', 'one'], ['down', 'one']),
            'noboot': lambda: cycle(root, ['up', 'one', '--no-boot'], ['down', 'one']),
        }, args.runs, 'one laptop ')
        rows = []
        for key, label in (('one', 'one laptop, booted'), ('noboot', 'one laptop, --no-boot')):
            rows.append([label, _common.fmt(single[key]['up_wall']), _common.fmt(single[key]['up_cpu']),
                         _common.fmt(single[key]['down_wall']), _common.fmt(single[key]['down_cpu'])])
        fleet = None
        if args.fleet_runs:
            # a fleet round and a one-laptop round alternate, so the per-laptop ratio is side by side
            fleet = _common.alternate({
                'fleet': lambda: cycle(root, ['up', 'fleet', '--count', str(args.fleet)], ['down', '--all']),
                'one': lambda: cycle(root, ['up', 'one'], ['down', 'one']),
            }, max(args.fleet_runs, 5), 'fleet of %d ' % args.fleet)
            rows.append(['fleet of %d (4 in parallel)' % args.fleet, _common.fmt(fleet['fleet']['up_wall']),
                         _common.fmt(fleet['fleet']['up_cpu']), _common.fmt(fleet['fleet']['down_wall']),
                         _common.fmt(fleet['fleet']['down_cpu'])])
        report.add('Profile thinkpad-t480; wall and CPU (the command and its children) median (min–max) of %d '
                   'rounds alternated.' % args.runs)
        report.add()
        report.table(['what', 'up wall', 'up CPU', 'down wall', 'down CPU'], rows)
        report.add('- up booted ÷ up --no-boot (wall): %s' % _common.fmt_ratio(single['one']['up_wall'],
                                                                               single['noboot']['up_wall']))
        if fleet:
            per = [w / args.fleet for w in fleet['fleet']['up_wall']]
            report.add('- fleet up per laptop ÷ one laptop up (wall): %s; down: %s' % (
                _common.fmt_ratio(per, fleet['one']['up_wall']),
                _common.fmt_ratio([w / args.fleet for w in fleet['fleet']['down_wall']], fleet['one']['down_wall'])))
        report.add()
    if not args.no_image:
        image_build(args, report)
    report.write()


IMAGE_BUILD = 'from wifibox_lab.guest import image; image.ensure()'


def image_build(args, report):
    """The guest image (wifibox_lab.guest.image.ensure), cold (an empty cache folder) next to cached."""
    try:
        from wifibox_lab.guest import image  # pylint: disable=import-outside-toplevel,unused-import
    except ImportError:
        report.add('Guest image build: not measured (no guest tier, wifibox_lab.guest, in this tree).')
        report.add()
        return
    work = tempfile.mkdtemp(prefix='image-bench-')
    cached = os.path.join(work, 'cached')
    python = os.path.join(_common.VENV, 'python')

    def build(cache):
        env = dict(os.environ, WIFIBOX_LAB_CACHE=cache)
        wall, cpu, _peak, proc = _common.run([python, '-c', IMAGE_BUILD], env=env, timeout=1800)
        if proc.returncode != 0:
            raise RuntimeError('guest image build failed: ' + proc.stdout[-1000:] + proc.stderr[-1000:])
        return {'wall': wall, 'cpu': cpu}

    def cold():
        cache = tempfile.mkdtemp(prefix='cold-', dir=work)
        try:
            return build(cache)
        finally:
            shutil.rmtree(cache, ignore_errors=True)
    try:
        build(cached)
        results = _common.alternate({'cold': cold, 'cached': lambda: build(cached)}, args.runs, 'guest image ')
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report.table(['guest image build', 'wall', 'CPU'],
                 [[key, _common.fmt(results[key]['wall']), _common.fmt(results[key]['cpu'])]
                  for key in ('cold', 'cached')])
    report.add('- cold ÷ cached (wall): %s' % _common.fmt_ratio(results['cold']['wall'], results['cached']['wall']))
    report.add()


if __name__ == '__main__':
    main()
