"""Every molecule scenario in extensions/molecule runs its full test sequence
(converge, idempotence, verify...) as part of the project's test command."""

import os
import re
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCENARIOS_DIR = os.path.join(ROOT, 'extensions', 'molecule')
SCENARIOS = sorted(
    name for name in os.listdir(SCENARIOS_DIR)
    if os.path.isfile(os.path.join(SCENARIOS_DIR, name, 'molecule.yml'))
) if os.path.isdir(SCENARIOS_DIR) else []


def test_there_are_scenarios():
    assert SCENARIOS, 'no molecule scenario found under extensions/molecule'


@pytest.mark.parametrize('scenario', SCENARIOS)
def test_molecule_scenario(scenario):
    venv_bin = os.path.join(ROOT, '.venv', 'bin')
    env = dict(os.environ, PATH=venv_bin + os.pathsep + os.environ['PATH'], ANSIBLE_NOCOLOR='1', NO_COLOR='1')
    result = subprocess.run(
        [os.path.join(venv_bin, 'molecule'), 'test', '-s', scenario],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=900,
    )
    output = re.sub(r'\x1b\[[0-9;]*m', '', result.stdout + result.stderr)
    assert result.returncode == 0, output[-15000:]
    # Converge, the idempotence re-run and verify must all have run, not been left out.
    for step in ('converge', 'idempotence', 'verify'):
        assert re.search(r'%s: Executed: Successful' % step, output), (step, output[-5000:])
