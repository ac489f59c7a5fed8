# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""wifibox.bhyve.config_files: one call writes files, directories and links; secrets never come out."""

import base64
import os
import stat

import pytest

from ansible_collections.wifibox.bhyve.plugins.modules import config_files

SECRET = 'Top"Secret#1'
WPA_LINES = [r'^(\s*(?:psk|sae_password|password)=)']


def mode_of(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def tree(tmp_path, secret=SECRET):
    d = str(tmp_path / 'conf')
    return [
        {'path': d, 'state': 'directory'},
        {'path': d + '/wpa', 'state': 'directory', 'mode': '0700'},
        {'path': d + '/hostname', 'content': 'wifibox\n'},
        {'path': d + '/wpa/wpa.conf', 'secret_content': 'ssid="x"\npsk="%s"\n' % secret, 'secret': True,
         'secret_lines': WPA_LINES},
        {'path': d + '/key.pem', 'secret_content_base64': base64.b64encode(b'KEY-' + secret.encode()).decode(),
         'secret': True},
        {'path': d + '/app_config', 'state': 'link', 'target': 'wpa'},
        {'path': d + '/unused.conf', 'state': 'absent'},
    ]


def test_writes_everything_then_changes_nothing(run, tmp_path):
    files = tree(tmp_path)
    result = run(config_files.main, {'files': files}, diff=True)
    assert result['changed'] and len(result['changed_paths']) == 6, result
    d = str(tmp_path / 'conf')
    assert mode_of(d + '/wpa') == 0o700 and mode_of(d + '/hostname') == 0o644
    assert mode_of(d + '/wpa/wpa.conf') == 0o600 and mode_of(d + '/key.pem') == 0o600
    assert os.readlink(d + '/app_config') == 'wpa'
    with open(d + '/wpa/wpa.conf', encoding='utf-8') as handle:
        assert SECRET in handle.read()
    text = repr(result)
    assert SECRET not in text and 'KEY-' not in text
    wpa_diff = [x for x in result['diff'] if x['after_header'].endswith('wpa.conf')][0]
    assert wpa_diff['after'] == 'ssid="x"\npsk=********(secret 1)\n'
    again = run(config_files.main, {'files': files}, diff=True)
    assert not again['changed'] and again['diff'] == [] and again['changed_paths'] == []


def test_check_mode_writes_nothing(run, tmp_path):
    result = run(config_files.main, {'files': tree(tmp_path)}, check_mode=True, diff=True)
    assert result['changed'] and not os.path.exists(str(tmp_path / 'conf'))


def test_changed_secret_shows_as_a_changed_number(run, tmp_path):
    run(config_files.main, {'files': tree(tmp_path)})
    result = run(config_files.main, {'files': tree(tmp_path, secret='Other"Secret#2')}, diff=True)
    assert result['changed_paths'] == [str(tmp_path / 'conf' / 'wpa' / 'wpa.conf'), str(tmp_path / 'conf' / 'key.pem')]
    wpa_diff = result['diff'][0]
    assert wpa_diff['before'] == 'ssid="x"\npsk=********(secret 1)\n'
    assert wpa_diff['after'] == 'ssid="x"\npsk=********(secret 2)\n'
    assert 'Secret' not in repr(result)


def test_backup_keeps_the_old_file_with_its_mode(run, tmp_path):
    run(config_files.main, {'files': tree(tmp_path)})
    result = run(config_files.main, {'files': tree(tmp_path, secret='Other"Secret#2'), 'backup': True})
    backups = [f['backup_file'] for f in result['files'] if 'backup_file' in f]
    assert len(backups) == 2
    for path in backups:
        assert mode_of(path) == 0o600


def test_mode_and_owner_changes_alone(run, tmp_path):
    files = tree(tmp_path)
    run(config_files.main, {'files': files})
    os.chmod(str(tmp_path / 'conf' / 'hostname'), 0o666)
    result = run(config_files.main, {'files': files}, diff=True)
    assert result['changed_paths'] == [str(tmp_path / 'conf' / 'hostname')]
    assert result['files'][2]['changes'] == ['mode']
    assert result['diff'][0]['after'] == 'mode 0644\n'
    assert mode_of(str(tmp_path / 'conf' / 'hostname')) == 0o644


@pytest.mark.parametrize('bad, message', [
    ({'path': 'relative/file', 'content': 'x'}, 'path must be absolute'),
    ({'path': '/tmp/../etc/x', 'content': 'x'}, 'normalised'),
    ({'path': '/tmp/x', 'content': 'x', 'mode': '999'}, 'not an octal mode'),
    ({'path': '/tmp/x', 'secret_content': 'x', 'secret': True, 'mode': '0644'}, 'lets other users read'),
    ({'path': '/tmp/x', 'content': 'x', 'secret': True}, 'secret files carry their content'),
    ({'path': '/tmp/x'}, 'exactly one of content'),
    ({'path': '/tmp/x', 'content': 'x', 'owner': 'no-such-user-wbx'}, "user 'no-such-user-wbx' does not exist"),
    ({'path': '/tmp/x', 'state': 'link'}, 'state=link needs target'),
    ({'path': '/tmp/x', 'template': 'a.j2'}, 'read by the action plugin'),
    ({'path': '/nonexistent-wbx/dir/x', 'content': 'x'}, 'does not exist; add it as an item'),
])
def test_bad_items_change_nothing(run, tmp_path, bad, message):
    files = tree(tmp_path) + [bad]
    result = run(config_files.main, {'files': files})
    assert result.get('failed') and message in result['msg'], result
    assert 'Nothing was changed' in result['msg']
    assert not os.path.exists(str(tmp_path / 'conf'))


def test_refuses_to_replace_a_directory_or_a_file_with_a_link(run, tmp_path):
    d = tmp_path / 'conf'
    d.mkdir()
    (d / 'app_config').write_text('not a link')
    result = run(config_files.main, {'files': tree(tmp_path)})
    assert result.get('failed') and 'not a symbolic link' in result['msg']
    assert not (d / 'hostname').exists()
    dup = tree(tmp_path) + [{'path': str(d / 'hostname'), 'content': 'y'}]
    assert 'give each path once' in run(config_files.main, {'files': dup})['msg']


def test_failure_midway_says_what_changed(run, tmp_path, monkeypatch):
    files = tree(tmp_path)
    real = config_files.Item._write

    def failing(self, path):
        if path.endswith('wpa.conf'):
            raise OSError(28, 'No space left on device')
        return real(self, path)
    monkeypatch.setattr(config_files.Item, '_write', failing)
    result = run(config_files.main, {'files': files})
    assert result['failed'] and result['changed'], result
    d = str(tmp_path / 'conf')
    assert result['changed_paths'] == [d, d + '/wpa', d + '/hostname']
    assert 'No space left on device' in result['msg'] and SECRET not in repr(result)
    assert not os.path.exists(d + '/key.pem') and not os.path.exists(d + '/wpa/wpa.conf')
    assert not [n for n in os.listdir(d + '/wpa') if n.startswith('.')], 'temporary file left behind'


def test_a_link_to_a_directory_stands_for_it(run, tmp_path):
    real = tmp_path / 'real'
    real.mkdir(mode=0o755)
    os.symlink('real', str(tmp_path / 'alias'))
    files = [{'path': str(tmp_path / 'alias'), 'state': 'directory', 'mode': '0755'},
             {'path': str(tmp_path / 'alias' / 'f'), 'content': 'x\n'}]
    result = run(config_files.main, {'files': files})
    assert result['changed_paths'] == [str(tmp_path / 'alias' / 'f')], result
    assert (real / 'f').read_text() == 'x\n' and os.path.islink(str(tmp_path / 'alias'))
