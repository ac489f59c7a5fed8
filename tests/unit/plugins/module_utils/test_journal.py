# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The undo journal: newest first, what is left when an undo fails, and the fail_json it makes."""

import pytest

from ansible_collections.wifibox.bhyve.plugins.module_utils.journal import Journal


class Failed(Exception):
    pass


class FakeModule(object):
    def fail_json(self, **result):
        raise Failed(result)


def steps(journal, log, failing_undo=None, without_undo=None):
    for name in ('one', 'two', 'three'):
        def undo(name=name):
            if name == failing_undo:
                raise RuntimeError('busy')
            log.append('undo ' + name)
        journal.step(name, lambda name=name: log.append(name), None if name == without_undo else undo)


def test_everything_undone_newest_first_is_changed_false():
    journal, log = Journal(FakeModule()), []
    steps(journal, log)
    with pytest.raises(Failed) as caught:
        journal.fail('four failed')
    result = caught.value.args[0]
    assert log == ['one', 'two', 'three', 'undo three', 'undo two', 'undo one']
    assert result['changed'] is False and result['undone'] == ['three', 'two', 'one'] and result['left'] == []
    assert result['msg'] == 'four failed. Undone what this task had changed before the failure: three; two; one'


def test_an_undo_that_fails_keeps_the_older_steps_and_says_changed():
    journal, log = Journal(FakeModule()), []
    steps(journal, log, failing_undo='two')
    with pytest.raises(Failed) as caught:
        journal.fail('four failed')
    result = caught.value.args[0]
    assert result['changed'] is True
    assert result['undone'] == ['three']
    assert result['left'] == ['two (undo failed: busy)', 'one (kept: a later change could not be undone)']
    assert 'left changed: two (undo failed: busy); one' in result['msg']
    assert log == ['one', 'two', 'three', 'undo three']


def test_a_step_without_undo_is_reported_as_left():
    journal, log = Journal(FakeModule()), []
    steps(journal, log, without_undo='three')
    with pytest.raises(Failed) as caught:
        journal.fail('x')
    assert caught.value.args[0]['left'][0] == 'three (cannot be undone)' and caught.value.args[0]['changed'] is True


def test_a_failing_action_is_not_recorded():
    journal = Journal(FakeModule())

    def boom():
        raise RuntimeError('no')
    with pytest.raises(RuntimeError):
        journal.step('never', boom, lambda: None)
    assert not journal.changed and journal.descriptions() == []
