# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers shared by the benchmarks in bench/ (stdlib only).

Every benchmark measures ratios side by side in one run: variants are alternated (A B, B A, ...),
each at least 5 times, and reported as median / min / max. A benchmark prints its figures and,
with --markdown FILE, writes them as a Markdown section that scripts/bench puts in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, '.venv', 'bin')
if os.path.join(ROOT, 'lab') not in sys.path:
    sys.path.insert(0, os.path.join(ROOT, 'lab'))

PING_PLAY = """- name: one ping
  hosts: HOST
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
"""


def commit():
    """Short commit of the work tree, with '+dirty' when tracked files differ from it."""
    rev = subprocess.run(['git', '-C', ROOT, 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True,
                         check=False).stdout.strip()
    dirty = subprocess.run(['git', '-C', ROOT, 'status', '--porcelain', '--untracked-files=no', '--', '.', ':!*.egg-info'], capture_output=True,
                           text=True, check=False).stdout.strip()
    return rev + ('+dirty' if dirty else '')


def meminfo_gib():
    with open('/proc/meminfo', encoding='ascii') as handle:
        for line in handle:
            if line.startswith('MemTotal:'):
                return int(line.split()[1]) / 1024 / 1024
    return 0.0


def machine():
    """The setup a figure was measured on."""
    load = os.getloadavg()
    return {'host': platform.node(), 'platform': platform.platform(), 'nproc': os.cpu_count(),
            'memory_gib': round(meminfo_gib(), 1), 'load': '%.2f %.2f %.2f' % load,
            'python': platform.python_version(), 'commit': commit()}


def machine_line():
    m = machine()
    return ('%(host)s, %(platform)s, nproc %(nproc)s, %(memory_gib)s GiB, load %(load)s, python %(python)s, '
            'commit %(commit)s' % m)


def tree_rss(pid):
    """Resident memory (bytes) of PID and all its descendants, from /proc."""
    children = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry, encoding='ascii', errors='replace') as handle:
                fields = handle.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append((int(entry), int(fields[21])))
    total, todo = 0, [pid]
    page = os.sysconf('SC_PAGE_SIZE')
    try:
        with open('/proc/%d/statm' % pid, encoding='ascii') as handle:
            total += int(handle.read().split()[1]) * page
    except OSError:
        return 0
    while todo:
        for child, rss_pages in children.get(todo.pop(), []):
            total += rss_pages * page
            todo.append(child)
    return total


def run(argv, env=None, cwd=ROOT, sample_memory=False, timeout=None, input_text=None):
    """Run ARGV; return (wall s, CPU s of it and its children, peak tree RSS bytes or 0, CompletedProcess)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.PIPE if input_text is not None else subprocess.DEVNULL)
    peak = [0]
    done = threading.Event()

    def sampler():
        while not done.wait(0.05):
            peak[0] = max(peak[0], tree_rss(proc.pid))

    thread = None
    if sample_memory:
        thread = threading.Thread(target=sampler, daemon=True)
        thread.start()
    try:
        out, err = proc.communicate(input_text, timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    finally:
        done.set()
        if thread:
            thread.join()
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, peak[0], subprocess.CompletedProcess(argv, proc.returncode, out, err)


def stats(values):
    """(median, min, max)."""
    return statistics.median(values), min(values), max(values)


def fmt(values, unit='s', digits=2):
    med, low, high = stats(values)
    return '%.*f (%.*f–%.*f) %s' % (digits, med, digits, low, digits, high, unit)


def ratio(values_a, values_b):
    """Median of A ÷ median of B, and the range of the per-round ratios."""
    per_round = [a / b for a, b in zip(values_a, values_b) if b]
    return statistics.median(values_a) / statistics.median(values_b), min(per_round), max(per_round)


def fmt_ratio(values_a, values_b):
    med, low, high = ratio(values_a, values_b)
    return '%.2f (rounds %.2f–%.2f)' % (med, low, high)


def alternate(variants, runs, label=''):
    """Call each variant's function RUNS times, alternating the order every round (A B, B A, ...).

    VARIANTS is an ordered dict name -> function returning a dict of figures; returns
    name -> figure -> list of values.
    """
    results = {name: {} for name in variants}
    order = list(variants)
    for i in range(runs):
        for name in (order if i % 2 == 0 else order[::-1]):
            figures = variants[name]()
            for key, value in figures.items():
                results[name].setdefault(key, []).append(value)
            shown = ', '.join('%s %.3g' % item for item in figures.items())
            progress('%sround %d/%d %s: %s' % (label, i + 1, runs, name, shown))
    return results


def progress(text):
    print('  ' + text, file=sys.stderr, flush=True)


def ansible_env(**extra):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_RETRY_FILES_ENABLED='0', PATH=VENV + os.pathsep + os.environ.get('PATH', ''))
    env.update({key: str(value) for key, value in extra.items()})
    return env


def parser(doc, runs=5):
    """An argument parser with the options every benchmark has."""
    result = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    result.add_argument('--runs', type=int, default=runs, help='rounds of each variant (at least 5; default %d)' % runs)
    result.add_argument('--markdown', metavar='FILE', help='also write the figures as a Markdown section to FILE')
    result.add_argument('--quick', action='store_true',
                        help='development: one round of each variant (figures not valid for RESULTS.md)')
    result.add_argument('--out-dir', default=os.path.join(ROOT, 'bench'), help='where plots go (default bench/)')
    return result


def check_runs(argparser, args):
    if getattr(args, 'quick', False):
        args.runs = 1
        return
    if args.runs < 5:
        argparser.error('--runs must be at least 5')


class Report:
    """Figures printed as they come and, with --markdown, written as one Markdown section."""

    def __init__(self, title, path=None):
        self.path = path
        self.lines = ['## ' + title, '', 'Setup: ' + machine_line() + '.', '']
        print(self.lines[0][3:])
        print(self.lines[2])

    def add(self, text=''):
        self.lines.append(text)
        print(text, flush=True)

    def table(self, header, rows):
        self.add('| ' + ' | '.join(header) + ' |')
        self.add('|' + '---|' * len(header))
        for row in rows:
            self.add('| ' + ' | '.join(str(cell) for cell in row) + ' |')
        self.add()

    def target(self, name, value, goal, met, limits=None):
        """A figure against its target; when missed, LIMITS says what limits it and what would close it."""
        self.add('- **%s: %s, target %s: %s.**' % (name, value, goal, 'met' if met else 'MISSED'))
        if not met and limits:
            self.add('  ' + limits)

    def write(self):
        self.add('Measured %s, end load %s.' % (time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()),
                                                 '%.2f %.2f %.2f' % os.getloadavg()))
        if self.path:
            with open(self.path, 'w', encoding='utf-8') as handle:
                handle.write('\n'.join(self.lines) + '\n')


@contextlib.contextmanager
def lab_root(tag):
    """A lab root of this benchmark's own, with every laptop in it removed at the end."""
    from wifibox_lab import api  # pylint: disable=import-outside-toplevel
    root = '/srv/wifibox-lab-bench-%s-%d' % (tag, os.getpid())
    try:
        yield root
    finally:
        api.down_all(root)
        shutil.rmtree(root, ignore_errors=True)
