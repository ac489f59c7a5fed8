# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pull mode: the schedule converge installed, then its command run inside the laptop."""

import json
import shlex

CRON = '/usr/local/etc/cron.d/wifibox-bhyve-pull'
LOG = '/var/log/wifibox-bhyve-pull.log'


def cron_job(host):
    """(environment lines, command) of the schedule, as cron(8) reads the system crontab."""
    env, command = {}, None
    for line in host.file(CRON).content_string.splitlines():
        if not line.strip() or line.startswith('#'):
            continue
        name, sep, value = line.partition('=')
        if sep and ' ' not in name and '\t' not in name:
            env[name] = value
            continue
        fields = line.split(None, 6)
        assert fields[5] == 'root', line
        command = fields[6]
    return env, command


def test_the_schedule_and_its_log_rotation(host):
    env, command = cron_job(host)
    assert env['ANSIBLE_COLLECTIONS_PATH'] == '/var/db/wifibox-bhyve-pull'
    assert '/usr/local/bin' in env['PATH']
    argv = shlex.split(command.split(' >> ')[0])
    assert argv[0].endswith('/ansible-pull')
    assert argv[1:] == ['-U', argv[2], '-C', 'main', '-d', '/var/db/wifibox-bhyve-pull/ansible_collections/wifibox/bhyve',
                        '-i', 'localhost,', 'playbooks/pull.yml']
    assert command.endswith('>> %s 2>&1' % LOG)
    rotation = host.file('/usr/local/etc/newsyslog.conf.d/wifibox-bhyve-pull.conf').content_string
    assert LOG in rotation and ' JC' in rotation


def test_the_laptop_pulls_and_converges(host):
    env, command = cron_job(host)
    # As cron(8) runs it: sh, the crontab's environment, nothing of the SSH session's.
    run = host.run('env -i HOME=/root %s /bin/sh -c %s' % (
        ' '.join('%s=%s' % (k, shlex.quote(v)) for k, v in env.items()), shlex.quote(command)))
    log = host.file(LOG).content_string
    assert run.rc == 0, log[-5000:]
    assert 'wifibox-bhyve-pull: changed: localhost: card pci0:3:0:0 held by ppt0' in log, log[-5000:]
    assert 'failed=0' in log
    status = json.loads(host.check_output('/usr/local/sbin/wifibox-bhyve status --json'))
    assert status['running'] is True
    conf = host.file('/usr/local/etc/wifibox-bhyve/wpa_supplicant/wpa_supplicant.conf').content_string
    assert 'ssid="molecule-pull"' in conf
