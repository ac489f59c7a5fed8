# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What sh would execute in a value written to an rc.conf file.

rc.conf(5) is sourced by sh(1) at every boot, and rc.subr(8) passes values such as
``NAME_flags`` and ``NAME_args`` through ``eval``.  A value written as ``name="value"``
is therefore expanded once when the file is read (``$name``, ``${...}``, ``$(...)``,
``$((...))``; backquotes and backslashes are refused by conffile) and may be parsed
again as a command line, where ``; & | < > ( )`` separate commands, redirect or start
subshells.  ``unsafe_shell`` names the first such construct.

Deliberately accepted: ``* ? [ ]`` (pathname patterns: they can only expand to file
names, never run anything), ``#`` (inside quotes it is text; in an eval it can only cut
the rest of the value), ``~ ! { } =`` and single quotes (no effect without ``$`` or
a separator).
"""

from __future__ import annotations

_EXPANSIONS = (
    ('$((', 'arithmetic expansion'),
    ('$(', 'command substitution'),
    ('${', 'parameter expansion'),
    ('$', 'parameter expansion'),
)
_OPERATORS = (
    (';', 'a command separator'),
    ('&', 'a background/list operator'),
    ('|', 'a pipe'),
    ('<', 'a redirection'),
    ('>', 'a redirection'),
    ('(', 'a subshell'),
    (')', 'a subshell'),
)


def unsafe_shell(value):
    """Return (construct, what it is) for the first thing sh would expand or execute, or None."""
    position = value.find('$')
    if position >= 0:
        for construct, what in _EXPANSIONS:
            if value.startswith(construct, position):
                return construct, what
    for construct, what in _OPERATORS:
        if construct in value:
            return construct, what
    return None


def check_rc_value(option, name, value):
    """An error message naming ``option``, ``name`` and the construct, or None when ``value`` is inert."""
    found = unsafe_shell(value)
    if found is None:
        return None
    construct, what = found
    return ('%s: the value of %s (%r) holds %r, %s, which sh expands or runs when it reads rc.conf at boot '
            '(and again where rc.subr evals it); remove it, or set expand: true if this task really wants the '
            'shell to expand the value' % (option, name, value, construct, what))
