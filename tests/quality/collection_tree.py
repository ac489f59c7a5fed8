"""Helpers for the quality gates: where the tools are and a copy of the collection."""

import hashlib
import os
import shutil
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.join(ROOT, '.venv', 'bin')

# Parts of the repository that are not the collection (galaxy.yml build_ignore
# leaves them out of the built artifact): the lab has its own tests and style.
NOT_COLLECTION = ('lab/', 'bench/', '.ci/')


def tool(name):
    path = os.path.join(VENV_BIN, name)
    if not os.path.exists(path):
        raise AssertionError('%s is missing: run scripts/bootstrap first' % path)
    return path


def tool_env():
    env = dict(os.environ)
    env['PATH'] = VENV_BIN + os.pathsep + env.get('PATH', '')
    env['VIRTUAL_ENV'] = os.path.join(ROOT, '.venv')
    env['ANSIBLE_CONFIG'] = os.path.join(ROOT, 'ansible.cfg')
    return env


def collection_files():
    """The files git would ship (tracked or new and not ignored), that exist now."""
    out = subprocess.run(
        ['git', 'ls-files', '-co', '--exclude-standard', '-z'],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout.decode()
    names = [name for name in out.split('\0') if name]
    return sorted(
        name for name in names
        if not name.startswith(NOT_COLLECTION) and os.path.isfile(os.path.join(ROOT, name))
    )


def copy_collection():
    """Copy the collection to TMPDIR/wifibox-bhyve-sanity-TAG/ansible_collections/wifibox/bhyve.

    ansible-test only runs from a directory whose path ends in
    ansible_collections/NAMESPACE/NAME, and the repository root is not one.
    The copy must sit outside this git work tree: inside it, ansible-test asks
    git which files exist and git ignores .cache/, so every target is skipped.
    """
    # One copy per clone, so two clones can run their gates at the same time.
    tag = hashlib.sha1(ROOT.encode()).hexdigest()[:10]
    dest = os.path.join(tempfile.gettempdir(), 'wifibox-bhyve-sanity-' + tag, 'ansible_collections', 'wifibox', 'bhyve')
    if os.path.isdir(dest):
        shutil.rmtree(dest)
    for name in collection_files():
        target = os.path.join(dest, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, name), target)
    return dest
