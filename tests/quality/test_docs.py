"""Every module's documentation renders with ansible-doc, examples included."""

import json
import os
import subprocess

import pytest

from collection_tree import ROOT, tool, tool_env

MODULES = sorted(
    name[:-3] for name in os.listdir(os.path.join(ROOT, 'plugins', 'modules'))
    if name.endswith('.py') and not name.startswith('_')
)


@pytest.mark.parametrize('module', MODULES)
def test_ansible_doc_renders(module):
    fqcn = 'wifibox.bhyve.' + module
    text = subprocess.run(
        [tool('ansible-doc'), '-t', 'module', fqcn],
        cwd=ROOT, env=tool_env(), capture_output=True, text=True, check=False,
    )
    assert text.returncode == 0, text.stderr
    assert 'EXAMPLES:' in text.stdout and 'RETURN VALUES:' in text.stdout
    data = json.loads(subprocess.run(
        [tool('ansible-doc'), '-t', 'module', '--json', fqcn],
        cwd=ROOT, env=tool_env(), capture_output=True, text=True, check=True,
    ).stdout)[fqcn]
    assert data['doc']['short_description']
    assert data['examples'].strip()
    assert data['return']
