# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""wifibox.bhyve.config_files on a really full file system: the old files stay intact, nothing is left behind.

The playbook runs in a private mount namespace (unshare -m) in which a 256 KiB tmpfs, nearly full (too little room for one of the files),
holds the files; nothing outside the test's own directory is touched.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from conftest import ROOT, VENV_BIN, is_root

pytestmark = pytest.mark.lab

PLAY = """- name: Write to a full disk
  hosts: localhost
  gather_facts: false
  tasks:
    - name: A file too big for the space left, and a small one
      wifibox.bhyve.config_files:
        files:
          FIRST
          SECOND
          - {path: DISK/conf/secret.conf, content: "psk=Full-Disk-Secret-9\\n", secret: true,
             secret_lines: ['^(psk=)']}
"""

SCRIPT = r"""
set -e
mount -t tmpfs -o size=256k wbxfull "$DISK"
mkdir "$DISK/conf"
printf 'old big\n' > "$DISK/conf/big.conf"
printf 'old small\n' > "$DISK/conf/small.conf"
dd if=/dev/zero of="$DISK/filler" bs=4k count=40 2>/dev/null  # about 90 KiB stay free
set +e
"$VENV/ansible-playbook" -i localhost, -c local -e ansible_python_interpreter="$VENV/python" "$PLAY" -v > "$OUT/run.log" 2>&1
echo $? > "$OUT/rc"
cat "$DISK/conf/big.conf" > "$OUT/big"
cat "$DISK/conf/small.conf" > "$OUT/small"
ls -a "$DISK/conf" > "$OUT/listing"
umount "$DISK"
"""


BIG = '{path: DISK/conf/big.conf, content: "{{ \'x\' * 200000 }}"}'
SMALL = '{path: DISK/conf/small.conf, content: "new small\\n"}'


@pytest.mark.parametrize('small_first', [False, True], ids=['big-first', 'small-first'])
def test_full_disk_leaves_the_old_files(tmp_path, small_first):
    if not is_root():
        pytest.fail('needs root (a tmpfs in a private mount namespace)')
    disk = tmp_path / 'disk'
    disk.mkdir()
    out = tmp_path / 'out'
    out.mkdir()
    play = tmp_path / 'play.yml'
    first, second = (SMALL, BIG) if small_first else (BIG, SMALL)
    play.write_text(PLAY.replace('FIRST', '- ' + first).replace('SECOND', '- ' + second).replace('DISK', str(disk)))
    env = dict(os.environ, DISK=str(disk), OUT=str(out), PLAY=str(play), VENV=VENV_BIN,
               ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_LOCAL_TEMP=str(tmp_path / 'ansible-local'))
    proc = subprocess.run(['unshare', '-m', '--propagation', 'private', 'sh', '-c', SCRIPT], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    log = (out / 'run.log').read_text()
    assert (out / 'rc').read_text().strip() != '0', log
    assert 'No space left on device' in log, log
    small_path = str(disk / 'conf' / 'small.conf')
    assert ('Changed before the failure: %s;' % small_path if small_first
            else 'Changed before the failure: nothing;') in log, log
    fatal = [line for line in log.splitlines() if line.startswith('fatal: [localhost]: FAILED! => ')]
    assert fatal, log
    result = json.loads(fatal[0].split(' => ', 1)[1])
    # changed=true with exactly what was left when something was written before the failure.
    assert result['changed'] is small_first and result['changed_paths'] == ([small_path] if small_first else []), result
    assert (out / 'big').read_text() == 'old big\n'
    assert (out / 'small').read_text() == ('new small\n' if small_first else 'old small\n')
    assert sorted((out / 'listing').read_text().split()) == ['.', '..', 'big.conf', 'small.conf'], \
        'a temporary file was left behind'
    assert 'Full-Disk-Secret-9' not in log
    assert not os.path.ismount(str(disk)) and os.listdir(str(disk)) == []
