# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The P3 floor's generator and parser (bench/floor.py): the script, the appended cpio, the console marks."""

import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(ROOT, 'bench'))

import floor  # noqa: E402  pylint: disable=wrong-import-position


def test_script_has_the_network_and_every_step_marked():
    text = floor.script('labnet', 'correct horse battery', 2437)
    assert text.startswith('#!/bin/sh\n')
    assert 'ssid="labnet"' in text and 'psk="correct horse battery"' in text and 'scan_freq=2437' in text
    assert '@' not in text.replace('$@', '')
    for step in floor.STEPS:
        assert 'mark %s\n' % step in text


@pytest.mark.parametrize('bad', ['a"b', 'a\\b', 'a$b', 'a`b', 'a\nb'])
def test_script_refuses_what_would_break_the_quoting(bad):
    with pytest.raises(ValueError, match='plain ssid'):
        floor.script(bad, 'x' * 8, 2437)


def test_newc_archive_reads_back_with_cpio(tmp_path):
    if not shutil.which('cpio'):
        pytest.skip('no cpio(1) to read the archive back')
    base = tmp_path / 'base.cpio'
    base.write_bytes(floor.newc({'/etc/hello': (0o100644, b'hi\n')}))
    dest = floor.initramfs(str(base), '#!/bin/sh\necho floor\n', str(tmp_path / 'floor.cpio'))
    out = tmp_path / 'out'
    out.mkdir()
    data = open(dest, 'rb').read()
    # the kernel reads concatenated archives; cpio -i reads one: the second starts after the first's trailer
    first_end = data.index(b'TRAILER!!!')
    second = data[(first_end + 11 + 3) // 4 * 4:]
    while second.startswith(b'\0'):
        second = second[4:]
    subprocess.run(['cpio', '-id', '--quiet'], cwd=out, input=second, check=True)
    assert (out / 'floor.sh').read_text() == '#!/bin/sh\necho floor\n'
    assert os.stat(out / 'floor.sh').st_mode & 0o777 == 0o755


def test_parse_marks_first_of_each_step_and_carriage_returns():
    console = ('[    1.0] noise\r\nfloor: init 3.21\r\nfloor: wlan0 3.5\nfloor: init 9.9\n'
               'not floor: nat 1\nfloor: associated 12\n')
    assert floor.parse_marks(console) == {'init': 3.21, 'wlan0': 3.5, 'associated': 12.0}
