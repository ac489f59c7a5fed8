#!/usr/bin/env python3
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Why the lab's bad-input cases run batched: one ansible-playbook run with every case, next to one
`ansible -m` run per case, on the same lab laptop, alternated.

Brings up its own lab laptop (its own lab root), prepares it as tests/integration/
test_bad_inputs_lab.py does, then alternates N times:

  batch    all LAB_CASES of that test in one playbook (what the test does);
  per-case one ad-hoc `ansible LAPTOP -m wifibox.bhyve.MODULE -a ARGS` per case.

Prints the wall time per variant (median / min / max) and the ratio of medians. Timings are never
asserted anywhere.

  sudo .venv/bin/python bench/bad_inputs_batch.py --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, '.venv', 'bin')
sys.path.insert(0, os.path.join(ROOT, 'lab'))
sys.path.insert(0, os.path.join(ROOT, '.cache', 'collections'))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=3)
    args = parser.parse_args()

    from wifibox_lab import api
    from ansible_collections.wifibox.bhyve.tests.integration.labbatch import run_batch
    from ansible_collections.wifibox.bhyve.tests.integration.test_bad_inputs_lab import LAB_CASES, prepare

    root = tempfile.mkdtemp(prefix='bench-badinputs-', dir='/srv')
    work = tempfile.mkdtemp(prefix='bench-badinputs-')
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1')
    try:
        laptop = api.up('bench1', 'thinkpad-t480', root)
        prepare(laptop)
        tasks = [{'name': case[0], 'wifibox.bhyve.' + case[1]: case[2]} for case in LAB_CASES]

        def batch():
            results = run_batch(laptop, pathlib.Path(work), tasks)
            assert all(result.get('failed') for result in results.values())

        def per_case():
            for dummy, module, module_args, dummy2 in LAB_CASES:
                proc = subprocess.run([os.path.join(VENV, 'ansible'), '-i', laptop.inventory_path, laptop.name,
                                       '-m', 'wifibox.bhyve.' + module, '-a', json.dumps(module_args)],
                                      cwd=ROOT, env=env, capture_output=True, text=True, check=False)
                assert proc.returncode != 0

        times = {'batch': [], 'per-case': []}
        for dummy in range(args.runs):
            for name, run in (('batch', batch), ('per-case', per_case)):
                started = time.monotonic()
                run()
                times[name].append(time.monotonic() - started)
        print('%d bad-input cases on one lab laptop, %d runs each, alternated' % (len(LAB_CASES), args.runs))
        for name, values in times.items():
            print('  %-9s median %6.1f s  min %6.1f  max %6.1f' % (name, statistics.median(values), min(values), max(values)))
        print('  per-case / batch = %.1f' % (statistics.median(times['per-case']) / statistics.median(times['batch'])))
    finally:
        api.down_all(root)
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
