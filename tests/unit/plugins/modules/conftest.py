# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a module's main() with its arguments and a scripted FreeBSD host.

``host`` answers run_command by argv (the program's base name plus its
arguments) and records every call; ``run`` calls main() and returns the JSON
result that exit_json or fail_json printed.
"""

import json
import os

import pytest

from ansible.module_utils import _internal, basic
from ansible.module_utils.common import warnings as ansible_warnings
from ansible.module_utils.testing import patch_module_args


@pytest.fixture(autouse=True)
def module_side(monkeypatch):
    """Run modules as on the target, whatever other tests imported before.

    Importing controller code (filter plugin tests do) sets
    ansible.module_utils._internal.is_controller, after which module warnings
    go to the controller's display instead of the module result.
    """
    monkeypatch.setattr(_internal, 'is_controller', False)


class FakeHost(object):
    def __init__(self):
        self.answers = {}
        self.calls = []
        self.default = None

    def on(self, *argv, **kwargs):
        """Answer ``argv`` with rc/out/err; a list of answers is used in turn."""
        answer = (kwargs.get('rc', 0), kwargs.get('out', ''), kwargs.get('err', ''))
        self.answers.setdefault(tuple(argv), []).append(answer)
        return self

    def run_command(self, args, **kwargs):
        argv = tuple([os.path.basename(args[0])] + list(args[1:]))
        self.calls.append(argv)
        answers = self.answers.get(argv)
        if not answers:
            if self.default is not None:
                return self.default
            raise AssertionError('unexpected command: %s' % ' '.join(argv))
        return answers.pop(0) if len(answers) > 1 else answers[0]

    def ran(self, *argv):
        return tuple(argv) in self.calls

    def changing_calls(self, programs=('kldload', 'kldunload', 'ifconfig', 'sysctl')):
        return [call for call in self.calls if call[0] in programs and not is_read(call)]


def is_read(call):
    """Calls that only read: sysctl -n OID, ifconfig, ifconfig -l, ifconfig -g GROUP, ifconfig NAME."""
    if call[0] == 'sysctl':
        return len(call) == 3 and call[1] == '-n'
    if call[0] == 'ifconfig':
        return len(call) <= 2 or call[1] == '-g'
    return False


@pytest.fixture
def host(monkeypatch):
    fake = FakeHost()
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', lambda self, args, **kw: fake.run_command(args, **kw))
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', lambda self, name, *a, **kw: '/sbin/' + name)
    return fake


def _warning_text(item):
    if isinstance(item, dict):
        return (item.get('event') or {}).get('msg') or item.get('msg') or ''
    return item


@pytest.fixture
def run(capsys):
    def _run(main, args, check_mode=False, diff=False):
        args = dict(args)
        if check_mode:
            args['_ansible_check_mode'] = True
        if diff:
            args['_ansible_diff'] = True
        # Warnings are kept in a process-wide list: start each run with none, as a real run does.
        ansible_warnings._global_warnings.clear()
        with patch_module_args(args):
            with pytest.raises(SystemExit):
                main()
        result = json.loads(capsys.readouterr().out)
        # ansible-core 2.19 reports warnings as WarningSummary objects; keep their texts at hand.
        result['warning_texts'] = [_warning_text(item) for item in result.get('warnings', [])]
        return result
    return _run
