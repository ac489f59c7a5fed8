# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A strict parser of OpenWrt UCI configuration files, written from OpenWrt's documented syntax.

A file is a list of sections; each starts with ``config TYPE ['NAME']`` and holds
``option NAME 'VALUE'`` and ``list NAME 'VALUE'`` lines. Values may be bare words or
quoted with single or double quotes; quoted strings are joined to adjacent ones
(``'it'\\''s'``), a backslash escapes the next character outside single quotes,
and ``#`` starts a comment outside quotes. Type, section and option names are made of
letters, digits and underscores (types may also have ``-``). Anything else is an error.
"""

from __future__ import annotations

import re

_NAME = re.compile(r'^[A-Za-z0-9_]+$')
_TYPE = re.compile(r'^[A-Za-z0-9_-]+$')


class UciError(ValueError):
    """A syntax error, with the line number."""


def _tokens(line, lineno):
    """Split one line into words the way uci's parser does."""
    words = []
    cur = None
    i = 0
    while i < len(line):
        ch = line[i]
        if ch in ' \t':
            if cur is not None:
                words.append(cur)
                cur = None
            i += 1
            continue
        if ch == '#' and cur is None:
            break
        if cur is None:
            cur = ''
        if ch == "'":
            end = line.find("'", i + 1)
            if end < 0:
                raise UciError('line %d: unterminated single quote' % lineno)
            cur += line[i + 1:end]
            i = end + 1
        elif ch == '"':
            i += 1
            while True:
                if i >= len(line):
                    raise UciError('line %d: unterminated double quote' % lineno)
                if line[i] == '\\' and i + 1 < len(line):
                    cur += line[i + 1]
                    i += 2
                elif line[i] == '"':
                    i += 1
                    break
                else:
                    cur += line[i]
                    i += 1
        elif ch == '\\':
            if i + 1 >= len(line):
                raise UciError('line %d: backslash at the end of the line' % lineno)
            cur += line[i + 1]
            i += 2
        else:
            cur += ch
            i += 1
    if cur is not None:
        words.append(cur)
    return words


def parse(text):
    """Parse TEXT; returns a list of sections {'type', 'name', 'options': {}, 'lists': {}}."""
    sections = []
    current = None
    for lineno, line in enumerate(text.splitlines(), 1):
        words = _tokens(line, lineno)
        if not words:
            continue
        keyword = words[0]
        if keyword == 'config':
            if len(words) not in (2, 3):
                raise UciError('line %d: config takes a type and an optional name' % lineno)
            if not _TYPE.match(words[1]):
                raise UciError('line %d: invalid section type %r' % (lineno, words[1]))
            if len(words) == 3 and not _NAME.match(words[2]):
                raise UciError('line %d: invalid section name %r' % (lineno, words[2]))
            current = {'type': words[1], 'name': words[2] if len(words) == 3 else None, 'options': {}, 'lists': {}}
            sections.append(current)
        elif keyword in ('option', 'list'):
            if current is None:
                raise UciError('line %d: %s outside a config section' % (lineno, keyword))
            if len(words) != 3:
                raise UciError('line %d: %s takes a name and one value, got %r' % (lineno, keyword, words[1:]))
            if not _NAME.match(words[1]):
                raise UciError('line %d: invalid option name %r' % (lineno, words[1]))
            if keyword == 'option':
                if words[1] in current['lists']:
                    raise UciError('line %d: %s is already a list' % (lineno, words[1]))
                current['options'][words[1]] = words[2]
            else:
                if words[1] in current['options']:
                    raise UciError('line %d: %s is already an option' % (lineno, words[1]))
                current['lists'].setdefault(words[1], []).append(words[2])
        elif keyword == 'package':
            if len(words) != 2:
                raise UciError('line %d: package takes one name' % lineno)
        else:
            raise UciError('line %d: unknown keyword %r' % (lineno, keyword))
    return sections


def find(sections, stype, sname=None, **options):
    """The sections of type STYPE (and section name SNAME) whose options have the given values."""
    return [s for s in sections if s['type'] == stype and (sname is None or s['name'] == sname)
            and all(s['options'].get(k) == v for k, v in options.items())]
