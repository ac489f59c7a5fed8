# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run FreeBSD base commands from modules, with errors that name the command."""

from __future__ import annotations

# FreeBSD tools print their messages in the C locale when asked; we parse some of them.
C_LOCALE = {'LANG': 'C', 'LC_ALL': 'C', 'LC_MESSAGES': 'C'}

# Where FreeBSD keeps the tools the modules run (get_bin_path also searches PATH).
FREEBSD_BIN_DIRS = ['/sbin', '/usr/sbin', '/usr/local/sbin', '/bin', '/usr/bin', '/usr/local/bin']


class CommandError(Exception):
    """A command was missing or exited non-zero; ``result()`` feeds fail_json."""

    def __init__(self, msg, argv, rc=None, stdout='', stderr=''):
        super(CommandError, self).__init__(msg)
        self.msg = msg
        self.argv = argv
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr

    def result(self):
        return dict(msg=self.msg, cmd=self.argv, rc=self.rc, stdout=self.stdout, stderr=self.stderr)


def find_command(module, name):
    """Return the absolute path of ``name`` or raise CommandError saying what is missing."""
    path = module.get_bin_path(name, opt_dirs=FREEBSD_BIN_DIRS)
    if not path:
        raise CommandError(
            '%s was not found in PATH or %s: this module needs FreeBSD\'s %s; run it against a FreeBSD host'
            % (name, ' '.join(FREEBSD_BIN_DIRS), name),
            [name],
        )
    return path


def run_command(module, argv, check_rc=False, **kwargs):
    """Run ``argv`` (a list, never a shell string) in the C locale.

    The first element is looked up with find_command.  Returns (rc, stdout,
    stderr); with ``check_rc`` a non-zero exit raises CommandError.
    """
    argv = [find_command(module, argv[0])] + list(argv[1:])
    rc, stdout, stderr = module.run_command(argv, environ_update=C_LOCALE, **kwargs)
    if check_rc and rc != 0:
        raise CommandError(
            '%s exited with status %d: %s' % (' '.join(argv), rc, stderr.strip() or stdout.strip() or 'no message'),
            argv, rc, stdout, stderr,
        )
    return rc, stdout, stderr


def run_checked(module, argv, **kwargs):
    """Run ``argv`` and return its stdout; any non-zero exit raises CommandError."""
    return run_command(module, argv, check_rc=True, **kwargs)[1]
