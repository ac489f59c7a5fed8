"""pci_info run the way a user runs it: `ansible localhost -m wifibox.bhyve.pci_info`
from the repository root, with a program named pciconf first on PATH."""

import json
import os
import re
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CAPTURES = os.path.join(ROOT, 'tests', 'unit', 'fixtures', 'pciconf')


def run_adhoc(tmp_path, script, module_args=''):
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    pciconf = bindir / 'pciconf'
    pciconf.write_text('#!/bin/sh\n' + script)
    pciconf.chmod(0o755)
    env = dict(os.environ, PATH='%s:%s' % (bindir, os.environ['PATH']), ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_NOCOLOR='1')
    argv = [os.path.join(ROOT, '.venv', 'bin', 'ansible'), 'localhost', '-m', 'wifibox.bhyve.pci_info']
    if module_args:
        argv += ['-a', module_args]
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    # The ad-hoc output is "localhost | SUCCESS => {json}" (or "FAILED! =>").
    match = re.search(r'^localhost \| (?P<status>[A-Z]+)!? => ', proc.stdout, re.MULTILINE)
    assert match, proc.stdout + proc.stderr
    return proc.returncode, match.group('status'), json.loads(proc.stdout[match.end():])


@pytest.mark.parametrize('capture, name, pptdev, driver', [
    ('thinkpad-t480-14.txt', 'iwm0', '3/0/0', 'iwm'),
    ('thinkpad-t480-ppt.txt', 'ppt0', '3/0/0', 'ppt'),
    ('x220-12.txt', 'iwn0', '3/0/0', 'iwn'),
    ('macbook-bcm4350.txt', 'none1', '2/0/0', None),
])
def test_adhoc_finds_the_card(tmp_path, capture, name, pptdev, driver):
    rc, status, result = run_adhoc(tmp_path, 'cat %s\n' % os.path.join(CAPTURES, capture))
    assert (rc, status) == (0, 'SUCCESS'), result
    card = result['wireless'][0]
    assert (card['name'], card['pptdev'], card['driver']) == (name, pptdev, driver)
    assert card['held_by_ppt'] is (driver == 'ppt')


def test_adhoc_selector(tmp_path):
    rc, status, result = run_adhoc(tmp_path, 'cat %s\n' % os.path.join(CAPTURES, 'amd-two-cards.txt'), 'selector=pci0:3:0:0')
    assert (rc, status) == (0, 'SUCCESS'), result
    assert [device['name'] for device in result['devices']] == ['iwlwifi0']


def test_adhoc_failing_pciconf(tmp_path):
    rc, status, result = run_adhoc(tmp_path, 'echo "pciconf: /dev/pci: Permission denied" >&2\nexit 1\n')
    assert (rc, status) == (2, 'FAILED')
    assert result['rc'] == 1
    assert 'exited with status 1' in result['msg'] and 'Permission denied' in result['msg']
