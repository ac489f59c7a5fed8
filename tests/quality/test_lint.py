"""ansible-lint with the production profile over the whole repository."""

import subprocess

from collection_tree import ROOT, tool, tool_env


def test_ansible_lint_production_profile():
    result = subprocess.run(
        [tool('ansible-lint'), '--profile', 'production', '--nocolor'],
        cwd=ROOT, env=tool_env(), capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, 'ansible-lint failed:\n%s\n%s' % (result.stdout[-20000:], result.stderr[-5000:])
