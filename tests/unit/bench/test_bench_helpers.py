# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The benchmark helpers (bench/_common.py, bench/run.py behind scripts/bench, the P2 plot): no timing is asserted."""

import importlib.machinery
import importlib.util
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(ROOT, 'bench'))

import _common  # noqa: E402  pylint: disable=wrong-import-position
import fleet_scaling  # noqa: E402  pylint: disable=wrong-import-position


def load_script():
    loader = importlib.machinery.SourceFileLoader('bench_script', os.path.join(ROOT, 'bench', 'run.py'))
    spec = importlib.util.spec_from_loader('bench_script', loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_alternate_reverses_the_order_every_round():
    calls = []
    variants = {'a': lambda: calls.append('a') or {'x': 1.0}, 'b': lambda: calls.append('b') or {'x': 2.0}}
    results = _common.alternate(variants, 5)
    assert calls == ['a', 'b', 'b', 'a', 'a', 'b', 'b', 'a', 'a', 'b']
    assert results == {'a': {'x': [1.0] * 5}, 'b': {'x': [2.0] * 5}}


def test_stats_and_ratio():
    assert _common.stats([3, 1, 2, 5, 4]) == (3, 1, 5)
    value, low, high = _common.ratio([2, 4, 6, 8, 10], [1, 1, 2, 2, 5])
    assert value == 3.0 and low == 2.0 and high == 4.0
    assert _common.fmt([1, 2, 3], 's') == '2.00 (1.00–3.00) s'


def test_run_measures_the_child_and_its_tree(tmp_path):
    wall, cpu, peak, proc = _common.run([sys.executable, '-c', 'import time; x = bytearray(50 << 20); time.sleep(0.3)'],
                                        sample_memory=True)
    assert proc.returncode == 0
    assert wall > 0 and cpu >= 0
    assert peak >= 50 << 20


def test_machine_names_the_setup():
    setup = _common.machine()
    assert setup['nproc'] == os.cpu_count() and setup['memory_gib'] > 0 and setup['commit']


def test_report_writes_a_markdown_section(tmp_path):
    path = tmp_path / 'section.md'
    report = _common.Report('PX something', str(path))
    report.table(['a', 'b'], [[1, 2]])
    report.target('PX ratio', '0.5', '≥ 0.9', False, 'Limit: this. Would close it: that.')
    report.write()
    text = path.read_text()
    assert text.startswith('## PX something\n\nSetup: ')
    assert '| 1 | 2 |' in text and 'MISSED' in text and 'Would close it' in text


def test_results_sections_are_replaced_one_by_one(tmp_path):
    script = load_script()
    path = str(tmp_path / 'RESULTS.md')
    script.write(path, {'p5': '## P5\nold\n', 'p1': '## P1\nfirst\n'})
    script.write(path, {'p5': '## P5\nnew\n'})
    text = open(path, encoding='utf-8').read()
    assert script.sections(text) == {'p5': '## P5\nnew\n', 'p1': '## P1\nfirst\n'}
    assert text.index('<!-- bench:p5 -->') < text.index('<!-- bench:p1 -->')  # the order of a full run


def test_bench_refuses_unknown_names():
    proc = subprocess.run([sys.executable, os.path.join(ROOT, 'bench', 'run.py'), 'p99'], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 2 and 'unknown benchmark' in proc.stderr


def test_fleet_plot_is_svg(tmp_path):
    path = tmp_path / 'plot.svg'
    fleet_scaling.svg_plot(str(path), [1, 10, 25, 50],
                           [('wall', 's', [(1, 1, 1), (3, 2, 4), (6, 5, 7), (12, 10, 14)]),
                            ('cpu', 's', [(1, 1, 1)] * 4), ('mem', 'MiB', [(100, 90, 110)] * 4)])
    root = ET.parse(str(path)).getroot()
    assert root.tag.endswith('svg')
    assert len([e for e in root.iter() if e.tag.endswith('polyline')]) == 3
