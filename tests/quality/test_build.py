"""The collection builds into an artifact with only the collection in it, and its changelog lints."""

import subprocess
import tarfile

from collection_tree import ROOT, tool, tool_env


def test_galaxy_build_leaves_out_what_is_not_the_collection(tmp_path):
    subprocess.run(
        [tool('ansible-galaxy'), 'collection', 'build', '--output-path', str(tmp_path), ROOT],
        cwd=ROOT, env=tool_env(), capture_output=True, text=True, check=True,
    )
    (artifact,) = tmp_path.glob('wifibox-bhyve-*.tar.gz')
    with tarfile.open(artifact) as tar:
        names = tar.getnames()
    assert 'plugins/modules/pci_info.py' in names
    assert 'MANIFEST.json' in names and 'LICENSE' in names
    for foreign in ('lab', '.venv', '.cache', 'scripts', 'tests/unit', 'tests/output'):
        assert not any(name == foreign or name.startswith(foreign + '/') for name in names), foreign


def test_changelog_fragments_lint():
    result = subprocess.run(
        [tool('antsibull-changelog'), 'lint'],
        cwd=ROOT, env=tool_env(), capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr
