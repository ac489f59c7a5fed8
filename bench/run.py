#!/usr/bin/env python3
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the benchmarks of bench/ (all, or the ones named) and write bench/RESULTS.md.

    sudo scripts/bench                 # all of them (P2 at 50 laptops loads the shared machine)
    sudo scripts/bench p5 p6           # a subset; the other sections of RESULTS.md are kept
    sudo scripts/bench --runs 7 p1     # more rounds
    scripts/bench --list

Each benchmark runs in its own process, its progress shown as it goes, its figures written as a
section of bench/RESULTS.md (with the machine: nproc, memory, load, and the commit). Needs root
(lab laptops, namespaces) and a bootstrapped .venv (scripts/bootstrap).
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'bench'))
import _common  # noqa: E402  pylint: disable=wrong-import-position

# name -> (script in bench/, extra arguments, what it measures); the order of a full run.
BENCHES = {
    'p5': ('nat_cost.py', [], 'NAT cost: iperf3 through the rendered guest rules / plain forwarding'),
    'p6': ('lab_costs.py', ['--no-image'], 'lab costs: one laptop and a fleet of 50 up/down'),
    'p6image': ('lab_costs.py', ['--image-only'], 'guest image build: cold (empty temporary cache) / cached'),
    'p1': ('noop_converge.py', [], 'no-op playbooks/laptop.yml / one ping on one lab laptop'),
    'p2': ('fleet_scaling.py', [], 'no-op converge of 1, 10, 25, 50 laptops'),
    'p3': ('boot_online.py', [], 'boot to online (real guest) / the hand-written floor'),
    'p4': ('resume_online.py', [], 'resume to online per recovery method / the floor'),
    'guest': ('guest_role_noop.py', [], 'the wifibox_guest role alone, no-op / one ping'),
}
RESULTS = os.path.join(ROOT, 'bench', 'RESULTS.md')
MARK = '<!-- bench:%s -->'


def sections(text):
    """name -> section text of an existing RESULTS.md."""
    found = {}
    for match in re.finditer(r'<!-- bench:(\w+) -->\n(.*?)<!-- /bench:\1 -->', text, re.S):
        found[match.group(1)] = match.group(2)
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('names', nargs='*', help='benchmarks to run (default: all): ' + ', '.join(BENCHES))
    parser.add_argument('--runs', type=int, help='rounds of each variant (at least 5; default: each benchmark\'s)')
    parser.add_argument('--quick', action='store_true',
                        help='development: one round of each, figures not valid (RESULTS.md is not written)')
    parser.add_argument('--list', action='store_true', help='list the benchmarks and exit')
    parser.add_argument('--results', default=RESULTS, help='the file to write (default bench/RESULTS.md)')
    args = parser.parse_args()
    if args.list:
        for name, (script, _extra, what) in BENCHES.items():
            present = os.path.exists(os.path.join(ROOT, 'bench', script))
            print('%-6s %-22s %s%s' % (name, script, what, '' if present else ' (not in this tree)'))
        return 0
    names = args.names or [n for n, (s, _e, _w) in BENCHES.items()
                           if os.path.exists(os.path.join(ROOT, 'bench', s))]
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        parser.error('unknown benchmark(s) %s; known: %s' % (', '.join(unknown), ', '.join(BENCHES)))
    if os.geteuid() != 0:
        parser.error('needs root (lab laptops and network namespaces)')
    python = os.path.join(ROOT, '.venv', 'bin', 'python')
    if not os.path.exists(python):
        parser.error('no .venv: run scripts/bootstrap first')
    failed = []
    began = time.monotonic()
    print('bench: %s on %s' % (' '.join(names), _common.machine_line()), flush=True)
    for i, name in enumerate(names, 1):
        script, extra, what = BENCHES[name]
        path = os.path.join(ROOT, 'bench', script)
        if not os.path.exists(path):
            print('[%d/%d] %s: bench/%s is not in this tree, skipped' % (i, len(names), name, script), flush=True)
            failed.append(name)
            continue
        print('[%d/%d] %s: %s' % (i, len(names), name, what), flush=True)
        with tempfile.NamedTemporaryFile('r', suffix='.md', encoding='utf-8') as section:
            argv = [python, path, '--markdown', section.name] + extra
            if args.runs:
                argv += ['--runs', str(args.runs)]
            if args.quick:
                argv.append('--quick')
            start = time.monotonic()
            proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for line in proc.stdout:
                print('[%d/%d %s %4.0fs] %s' % (i, len(names), name, time.monotonic() - start, line.rstrip()),
                      flush=True)
            proc.wait()
            text = section.read()
        if proc.returncode != 0 or not text:
            print('[%d/%d] %s FAILED (exit %d); its section of RESULTS.md is left as it was'
                  % (i, len(names), name, proc.returncode), flush=True)
            failed.append(name)
            continue
        if args.quick:
            print(text, flush=True)
        else:
            write(args.results, {name: text})
        print('[%d/%d] %s done in %.0f s' % (i, len(names), name, time.monotonic() - start), flush=True)
    print('bench: %d run, %d failed (%s), %.0f s; figures in %s'
          % (len(names), len(failed), ', '.join(failed) or '-', time.monotonic() - began,
             os.path.relpath(args.results, ROOT)), flush=True)
    return 1 if failed else 0


def write(path, new):
    """Put the NEW sections in PATH, keeping the others as they are in the file now."""
    done = {}
    if os.path.exists(path):
        with open(path, encoding='utf-8') as handle:
            done = sections(handle.read())
    done.update(new)
    head = ['# Benchmark results', '',
            'Written by `scripts/bench` (see `scripts/bench --list`); each section names the machine it ran',
            'on (nproc, memory, load at its start and end) and the commit. Every figure is a ratio of two',
            'variants run side by side in one run, alternated, median (min–max) of at least 5 rounds: the',
            'machine is shared and noisy, absolute times are given only to read the ratios.', '']
    body = []
    for name in BENCHES:
        if name in done:
            body += [MARK % name, done[name].rstrip('\n'), '<!-- /bench:%s -->' % name, '']
    with open(path + '.tmp', 'w', encoding='utf-8') as handle:
        handle.write('\n'.join(head + body))
    os.replace(path + '.tmp', path)


if __name__ == '__main__':
    sys.exit(main())
