# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The guest's /var (the var share): the tree net/wifibox-alpine ships (WIFIBOX.md section 4),
made by the service before every start, leaving what is there as it is."""

import os
import stat

from ansible_collections.wifibox.bhyve.plugins.module_utils import vmservice

TREE = ['log', 'lib/misc', 'lib/iptables', 'lib/dhcpcd', 'cache/misc', 'spool/cron/crontabs', 'spool/mail',
        'empty', 'local', 'mail', 'opt', 'tmp', 'run']


def test_the_tree_is_made_with_log_and_the_lock_link(tmp_path):
    top = tmp_path / 'run' / 'appliance'
    made = vmservice.make_var_share(str(top))
    for name in TREE:
        assert (top / name).is_dir(), name
    assert os.readlink(str(top / 'lock')) == '/run/lock'
    assert stat.S_IMODE((top / 'tmp').stat().st_mode) == 0o1777
    assert stat.S_IMODE((top / 'log').stat().st_mode) == 0o755
    assert str(top / 'log') in made and str(top) in made


def test_what_exists_stays_and_a_second_start_makes_nothing(tmp_path):
    top = tmp_path / 'appliance'
    (top / 'log').mkdir(parents=True)
    (top / 'log').chmod(0o700)
    (top / 'log' / 'messages').write_text('guest syslog\n')
    vmservice.make_var_share(str(top))
    assert (top / 'log' / 'messages').read_text() == 'guest syslog\n'
    assert stat.S_IMODE((top / 'log').stat().st_mode) == 0o700
    assert vmservice.make_var_share(str(top)) == []
