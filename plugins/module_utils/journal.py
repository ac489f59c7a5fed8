# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""An undo journal: what a task changed, and how to take it back when a later step fails.

Every module follows the same order: read and check everything, then act.  Acting can
still fail midway (a kernel refuses a module, a disk fills up, a command vanishes).  Each
action is run through ``Journal.step`` with the action that undoes it; when a later step
fails, ``Journal.fail`` undoes the earlier ones newest first and reports with fail_json:

* everything undone: ``changed=false``, ``undone`` lists what was taken back;
* something could not be undone: ``changed=true``, ``left`` lists exactly what stays
  changed (and why the undo failed), ``undone`` what was taken back.  Steps older than
  one whose undo failed are kept: later steps build on earlier ones.

So a module never reports ``changed=false`` after it changed something.
"""

from __future__ import annotations

from ansible_collections.wifibox.bhyve.plugins.module_utils.commands import CommandError, run_command


class StepError(Exception):
    """An action of a step failed; the message names the action and the fix."""

    def __init__(self, msg, result=None):
        super(StepError, self).__init__(msg)
        self.msg = msg
        self.result = result or {}


class Journal(object):
    """The actions a task has done so far, each with its undo."""

    def __init__(self, module):
        self.module = module
        self.done = []

    @property
    def changed(self):
        return bool(self.done)

    def descriptions(self):
        return [description for description, dummy in self.done]

    def step(self, description, action, undo=None):
        """Run ``action()``; remember ``undo`` (a callable, or None when it cannot be undone).

        Returns what ``action`` returns.  An exception from ``action`` propagates and
        the step is not recorded: an action must either finish or change nothing.
        """
        result = action()
        self.done.append((description, undo))
        return result

    def command(self, description, argv, undo=None, hint=None):
        """A step that runs ``argv``; a non-zero exit or a missing command raises StepError.

        ``undo`` is the list of argvs that take it back, run in order (None: it cannot be undone).
        """
        def action():
            return run_command_or_raise(self.module, argv, hint)

        def run_undo():
            for undo_argv in undo:
                run_command_or_raise(self.module, undo_argv)
        return self.step(description, action, run_undo if undo is not None else None)

    def rollback(self):
        """Undo the steps newest first; returns (undone, left) as lists of descriptions.

        Later steps build on earlier ones (a tap is added to the bridge created before it), so
        when an undo fails the older steps are kept too, and reported as left.
        """
        undone = []
        left = []
        while self.done:
            description, undo = self.done.pop()
            if left:
                left.append('%s (kept: a later change could not be undone)' % description)
                continue
            if undo is None:
                left.append('%s (cannot be undone)' % description)
                continue
            try:
                undo()
            except Exception as exc:  # pylint: disable=broad-except
                left.append('%s (undo failed: %s)' % (description, getattr(exc, 'msg', None) or exc))
            else:
                undone.append(description)
        return undone, left

    def fail(self, msg, **result):
        """Undo what this task did and fail_json, saying what was undone and what was left."""
        undone, left = self.rollback()
        if left:
            msg = '%s. This task had already changed the host; left changed: %s' % (msg.rstrip('.'), '; '.join(left))
            if undone:
                msg += '; undone: %s' % '; '.join(undone)
        elif undone:
            msg = '%s. Undone what this task had changed before the failure: %s' % (msg.rstrip('.'), '; '.join(undone))
        result.update(changed=bool(left), undone=undone, left=left)
        self.module.fail_json(msg=msg, **result)


def run_command_or_raise(module, argv, hint=None):
    """Run ``argv``; on a missing command or a non-zero exit raise StepError naming it.

    ``hint(stderr)`` may return a sentence saying what the error means.
    """
    try:
        rc, out, err = run_command(module, argv)
    except CommandError as exc:
        raise StepError(exc.msg, exc.result())
    if rc != 0:
        text = err.strip() or out.strip() or 'no message'
        msg = '%s exited with status %d: %s' % (' '.join(argv), rc, text)
        extra = hint(err) if hint else None
        if extra:
            msg = '%s: %s' % (msg, extra)
        raise StepError(msg, dict(cmd=argv, rc=rc, stdout=out, stderr=err))
    return out
