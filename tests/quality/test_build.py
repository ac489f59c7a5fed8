"""The collection builds into an artifact with only the collection in it, and its changelog lints."""

import os
import shutil
import subprocess
import tarfile

from collection_tree import ROOT, collection_files, tool, tool_env


# What the artifact users install may contain, and nothing else (an allow list: a deny list let a nested
# .ansible/ copy of the collection through).  Top-level files, then top-level directories.
ALLOWED_FILES = {'MANIFEST.json', 'FILES.json', 'LICENSE', 'README.md', 'CHANGELOG.rst', 'CHANGELOG.md'}
ALLOWED_DIRS = {'plugins', 'roles', 'meta', 'changelogs', 'playbooks', 'docs', 'extensions'}
# Debris that test runs and tools leave in a work tree; the build must leave every one out.
DEBRIS = (
    '.ansible/collections/ansible_collections/wifibox/bhyve/galaxy.yml',
    '.pytest_cache/v/cache/lastfailed',
    '.cache/collections/x',
    'plugins/modules/__pycache__/kld.cpython-311.pyc',
    'plugins/modules/.kld.py.swp',
    'roles/wifibox_guest/.ansible/x',
    'tests/output/.tmp/x',
    'lab/wifibox_lab.egg-info/PKG-INFO',
    'wifibox-bhyve-0.0.1.tar.gz',
)


def disallowed(names):
    """Members of the artifact outside the allow list."""
    bad = []
    for name in names:
        parts = name.split('/')
        if len(parts) == 1:
            if name not in ALLOWED_FILES and name not in ALLOWED_DIRS:
                bad.append(name)
        elif parts[0] not in ALLOWED_DIRS or any(part.startswith('.') or part == '__pycache__' for part in parts) \
                or name.endswith(('.pyc', '.pyo', '.tar.gz', '.swp', '~')):
            bad.append(name)
    return bad


def test_the_allow_list_itself():
    assert disallowed(['plugins/modules/kld.py', 'MANIFEST.json', 'roles/wifibox_guest/tasks/main.yml']) == []
    foreign = ['.ansible/collections/x', 'lab/x.py', 'plugins/modules/__pycache__/k.pyc', 'tests/unit/x.py',
               'galaxy.yml', 'roles/r/.ansible/x']
    assert disallowed(foreign) == foreign


def test_galaxy_build_contains_only_the_allow_list(tmp_path):
    """Build a copy of the work tree with the debris test runs leave in it; only the allow list may ship."""
    tree = tmp_path / 'tree'
    for name in collection_files() + ['galaxy.yml']:
        target = tree / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(os.path.join(ROOT, name), target)
    for name in DEBRIS:
        target = tree / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text('debris\n')
    out = tmp_path / 'out'
    subprocess.run(
        [tool('ansible-galaxy'), 'collection', 'build', '--output-path', str(out), str(tree)],
        cwd=str(tree), env=tool_env(), capture_output=True, text=True, check=True,
    )
    (artifact,) = out.glob('wifibox-bhyve-*.tar.gz')
    with tarfile.open(artifact) as tar:
        names = [member.name for member in tar.getmembers() if not member.isdir()]
    assert 'plugins/modules/pci_info.py' in names
    assert 'MANIFEST.json' in names and 'LICENSE' in names
    assert disallowed(names) == []


def test_changelog_fragments_lint():
    result = subprocess.run(
        [tool('antsibull-changelog'), 'lint'],
        cwd=ROOT, env=tool_env(), capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_git_holds_no_generated_files():
    """Files that bootstrap or test runs generate (lab/wifibox_lab.egg-info was committed) stay out of git."""
    tracked = subprocess.run(['git', 'ls-files', '-z'], cwd=ROOT, check=True, capture_output=True).stdout.decode().split('\0')
    generated = [name for name in tracked if name and any(
        part.endswith('.egg-info') or part in ('__pycache__', '.ansible', '.pytest_cache', '.cache', '.venv', 'output')
        for part in name.split('/')[:-1]) or name.endswith(('.pyc', '.tar.gz'))]
    assert generated == []
