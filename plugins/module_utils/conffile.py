# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Read and edit FreeBSD's assignment files as text: loader.conf, rc.conf, sysctl.conf.

All three are lists of ``name=value`` lines with ``#`` comments, but each is read
by a different program, so each has a dialect:

* ``LOADER`` (loader.conf(5), read by stand/lua/config.lua): ``name="value"`` or an
  unquoted word, spaces allowed around ``=``, dotted names (``hw.vmm.amdvi.enable``).
  Lines are read as the loader reads them: a quoted value runs to the LAST ``"`` of the
  line (so ``vmm_load="YES" # the "vmm" module`` is malformed and ``vmm_load="YES" # "x"``
  does not load vmm), tunable values have ``\\x`` escapes and ``$name`` expansion, and a
  quote left inside a tunable value makes the loader reject it.  Such lines are kept
  (they are reported in ``problems``) unless an edit of their name replaces them.
* ``RC`` (rc.conf(5), a sh(1) script): plain assignments ``name=value`` whose
  value is sh quoting (``"..."`` may span lines, ``'...'``, ``\\x``, bare words),
  optionally followed by a comment.  Anything else (commands, ``if``, several
  assignments on a line, unterminated quotes) is refused: it cannot be edited
  without running the shell.
* ``SYSCTL`` (sysctl.conf(5), read by rc.d/sysctl): ``name=value`` with no quotes.

Editing keeps every other line byte for byte, in order.  A changed assignment
is rewritten in place as the dialect's canonical form (``name="value"`` or
``name=value``) and keeps its trailing comment; a new one is appended.
"""

from __future__ import annotations

import re

from ansible_collections.wifibox.bhyve.plugins.module_utils.constants import KENV_BOOT_MAX_LENGTH
from ansible_collections.wifibox.bhyve.plugins.module_utils.errors import TaskError

# Names we accept from the user.  Loader/sysctl names may be dotted OIDs whose
# later parts may start with a digit or hold a dash (hint.uart.0.at,
# kern.vt.fb.modes.DP-1); rc.conf names are sh identifiers.
_OID_NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_-]+)*$')
_SH_NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')

# How the lua loader reads a line (stand/lua/config.lua): module directives first, then
# exec, then a variable; each with a quoted value (greedy, to the last quote of the line)
# or else a word; what follows must be blank or a comment.  \s is ASCII (lua's %s).
_LUA_SPACE = r'[ \t\n\v\f\r]*'
_LOADER_MODULE_SUFFIXES = ('_load', '_name', '_type', '_flags', '_before', '_after', '_error')
_LOADER_PATTERNS = (
    [('module', r'(?P<name>[-A-Za-z0-9_]+%s)' % suffix) for suffix in _LOADER_MODULE_SUFFIXES]
    + [('exec', r'(?P<name>exec)'), ('env', r'(?P<name>[A-Za-z0-9][-A-Za-z0-9_.]*)')]
)
_LOADER_QUOTED = r'"(?P<value>.*)"'
_LOADER_WORD = r'(?P<value>[-A-Za-z0-9][-A-Za-z0-9_.]*)'
_LOADER_LINE_REGEXES = [
    (kind, [re.compile('^' + _LUA_SPACE + name + _LUA_SPACE + '=' + _LUA_SPACE + value + _LUA_SPACE + '(?P<rest>.*)$',
                       re.S)
            for value in ((_LOADER_QUOTED,) if kind == 'exec' else (_LOADER_QUOTED, _LOADER_WORD))])
    for kind, name in _LOADER_PATTERNS
]
# How a person reads the same line: the value ends at the first closing quote.
_LOADER_FIRST_QUOTE = re.compile(r'^\s*(?P<name>[A-Za-z0-9_][-A-Za-z0-9_.]*)\s*=\s*"(?P<value>[^"]*)"\s*(?P<rest>.*)$')
_LOADER_LENIENT_NAME = re.compile(r'^\s*(?P<name>[A-Za-z0-9_][-A-Za-z0-9_.]*)\s*=')
_LOADER_VARNAME = re.compile(r'[A-Za-z0-9][-A-Za-z0-9_.]*')
# rc.d/sysctl reads "name=value" as the first word of the line; the rest is ignored.
_SYSCTL_LINE = re.compile(r'^\s*(?P<name>[A-Za-z0-9_.%-]+)=(?P<word>\S*)\s*(?P<comment>#.*)?$')
_SH_ASSIGNMENT_START = re.compile(r'^\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)=')
_COMMENT_OR_BLANK = re.compile(r'^\s*(#.*)?$')

# Characters of sh that end a bare word or start something we do not evaluate.
_SH_WORD_END = ' \t;&|<>()'


class ConfSyntaxError(ValueError):
    """A line of an existing file that cannot be edited safely."""

    def __init__(self, lineno, line, reason):
        super(ConfSyntaxError, self).__init__('line %d %r: %s' % (lineno, line, reason))
        self.lineno = lineno
        self.line = line
        self.reason = reason


class Assignment(object):
    """One ``name=value`` assignment spanning lines[start:end] of the file."""

    def __init__(self, name, value, start, end, comment='', expands=False, raw=None, problem=None, effective=True):
        self.name = name
        self.value = value
        # Loader dialect: why the loader does not read this line as written (None when it
        # does), and whether it sets the variable at all (False: malformed or rejected).
        self.problem = problem
        self.effective = effective
        # The value as written (sh dialect, single-line values only).
        self.raw = raw
        self.start = start
        self.end = end
        self.comment = comment
        # True when the sh value holds $ or ` outside single quotes: its value
        # depends on the shell, so we can replace it but not read it.
        self.expands = expands


class Dialect(object):
    def __init__(self, name, quote, name_pattern, forbidden, max_length=None, describe=''):
        self.name = name
        self.quote = quote
        self.name_pattern = name_pattern
        self.forbidden = forbidden
        self.max_length = max_length
        self.describe = describe

    def format(self, name, value, comment=''):
        line = '%s=%s%s%s' % (name, self.quote, value, self.quote)
        if comment:
            line += ' ' + comment
        return line

    def format_lines(self, name, value, comment=''):
        """The lines for an assignment; a comment holding a quote goes on its own line above,
        because the loader reads a quoted value up to the last quote of its line."""
        if comment and self is LOADER and '"' in comment:
            return [comment, self.format(name, value)]
        return [self.format(name, value, comment)]


LOADER = Dialect(
    'loader', '"', _OID_NAME,
    {'"': 'a double quote', '\n': 'a newline', '\r': 'a carriage return', '\\': 'a backslash',
     '$': 'a $ (the loader expands $name in values)'},
    max_length=KENV_BOOT_MAX_LENGTH, describe='loader.conf',
)
RC = Dialect(
    'rc', '"', _SH_NAME,
    {'"': 'a double quote', '\n': 'a newline', '\r': 'a carriage return', '\\': 'a backslash', '`': 'a backquote'},
    describe='rc.conf',
)
SYSCTL = Dialect(
    'sysctl', '', _OID_NAME,
    {'"': 'a double quote', '\n': 'a newline', '\r': 'a carriage return', '#': 'a #', '\\': 'a backslash'},
    describe='sysctl.conf',
)


def check_name(dialect, name):
    """Return an error message for a name this dialect cannot hold, else None."""
    if not isinstance(name, str) or not dialect.name_pattern.match(name):
        if dialect is RC:
            return ('%r is not a valid rc.conf variable name: use letters, digits and underscores, '
                    'not starting with a digit (rc.conf is sourced by sh)' % (name,))
        return ('%r is not a valid %s name: use letters, digits and underscores, parts separated by dots '
                '(such as hw.vmm.amdvi.enable)' % (name, dialect.describe))
    return None


def check_value(dialect, name, value):
    """Return an error message for a value this dialect cannot hold, else None."""
    for char, what in dialect.forbidden.items():
        if char in value:
            return ('the value of %s contains %s, which %s cannot hold safely (%r); '
                    'remove it from the value' % (name, what, dialect.describe, value))
    if dialect is LOADER and not name.endswith(_LOADER_MODULE_SUFFIXES):
        size = len(('%s=%s' % (name, value)).encode('utf-8'))
        if size > dialect.max_length:
            return ('%s="..." is %d bytes long as name=value; at boot the kernel drops a loader variable longer than '
                    '%d bytes (name, "=" and value) entirely, so %s would not be set at all; shorten the value to at '
                    'most %d bytes' % (name, size, dialect.max_length, name,
                                       dialect.max_length - len(name.encode('utf-8')) - 1))
    if dialect is SYSCTL and (not value or any(char.isspace() for char in value)):
        return 'the value of %s is empty or holds white space (%r), which sysctl.conf cannot hold; remove it' % (name, value)
    return None


def _parse_sh_value(lines, index, pos, lineno):
    """Read the sh word starting at lines[index][pos].

    Returns (value, expands, end_index, end_pos).  Quoted parts may continue on
    the following lines, as in a multi-line jail_list.
    """
    out = []
    expands = False
    quote = None
    line = lines[index]
    while True:
        if pos >= len(line):
            if quote is None:
                return ''.join(out), expands, index, pos
            out.append('\n')
            index += 1
            if index >= len(lines):
                raise ConfSyntaxError(lineno, lines[lineno - 1], 'the %s quote is never closed' % quote)
            line = lines[index]
            pos = 0
            continue
        char = line[pos]
        if quote == "'":
            if char == "'":
                quote = None
            else:
                out.append(char)
            pos += 1
            continue
        if char == '\\':
            if pos + 1 >= len(line):
                raise ConfSyntaxError(lineno, lines[index], 'a line continued with a backslash cannot be edited safely')
            following = line[pos + 1]
            if quote == '"' and following not in '\\"$`':
                out.append(char)
                pos += 1
            else:
                out.append(following)
                pos += 2
            continue
        if quote == '"':
            if char == '"':
                quote = None
            else:
                expands = expands or char in '$`'
                out.append(char)
            pos += 1
            continue
        if char in _SH_WORD_END:
            return ''.join(out), expands, index, pos
        if char in '"\'':
            quote = char
        else:
            expands = expands or char in '$`'
            out.append(char)
        pos += 1


def _parse_rc_line(lines, index):
    line = lines[index]
    lineno = index + 1
    match = _SH_ASSIGNMENT_START.match(line)
    if not match:
        raise ConfSyntaxError(lineno, line, 'not a comment or a plain name="value" assignment')
    value, expands, end_index, pos = _parse_sh_value(lines, index, match.end(), lineno)
    rest = lines[end_index][pos:]
    stripped = rest.lstrip(' \t')
    if stripped and (rest == stripped or not stripped.startswith('#')):
        raise ConfSyntaxError(lineno, line, 'more than a plain assignment on the line (%r follows the value)' % rest)
    raw = line[match.end():pos] if end_index == index else None
    return Assignment(match.group('name'), value, index, end_index + 1, stripped, expands, raw)


def loader_env_value(value):
    """The loader's escape processing of a variable's value -> (value, expands, error).

    ``\\x`` gives ``x``; ``$name``/``${name}`` expand from the loader's environment
    (unknown here: ``expands`` is True and the text is returned as written); a ``"`` left
    in the value, a ``\\`` or ``$`` at its end, or a bad ``$`` expression is an error:
    the loader rejects the assignment ("Failed to parse variable").
    """
    out = []
    expands = False
    index = 0
    while index < len(value):
        char = value[index]
        if char == '\\':
            if index == len(value) - 1:
                return None, False, 'a backslash at the end of the value'
            out.append(value[index + 1])
            index += 2
            continue
        if char == '"':
            return None, False, 'a stray double quote at position %d of the value' % (index + 1)
        if char == '$':
            if index == len(value) - 1:
                return None, False, 'an unescaped $ at the end of the value'
            if value[index + 1] == '{':
                end = value.find('}', index + 2)
                if end <= index + 2:
                    return None, False, 'a malformed ${...} at position %d of the value' % (index + 1)
                following = end + 1
            else:
                match = _LOADER_VARNAME.match(value, index + 1)
                if not match:
                    return None, False, 'a malformed $ expression at position %d of the value' % (index + 1)
                following = match.end()
            expands = True
            out.append(value[index:following])
            index = following
            continue
        out.append(char)
        index += 1
    return ''.join(out), expands, None


def _valid_loader_rest(rest):
    return rest.strip(' \t\n\v\f\r') == '' or rest.startswith('#')


def _first_quote_comment(line):
    """The comment a person sees after a quoted value (the value ending at its first quote)."""
    match = _LOADER_FIRST_QUOTE.match(line)
    if match and match.group('rest').startswith('#'):
        return match.group('rest').rstrip()
    return ''


def _parse_loader_line(line, index):
    """One non-blank, non-comment line as the loader reads it -> Assignment or None (exec)."""
    for kind, regexes in _LOADER_LINE_REGEXES:
        match = None
        for regex in regexes:
            match = regex.match(line)
            if match:
                break
        if not match:
            continue
        if not _valid_loader_rest(match.group('rest')):
            break  # the loader calls the line malformed, whatever later patterns say
        if kind == 'exec':
            return None
        name, value, rest = match.group('name'), match.group('value'), match.group('rest').rstrip()
        misread = '"' in value
        comment = _first_quote_comment(line) if misread else rest
        if kind == 'module':
            problem = None
            if misread:
                problem = ('the loader reads the value up to the last double quote of the line, %r, so %s is not %r'
                           % (value, name, _LOADER_FIRST_QUOTE.match(line).group('value')))
            return Assignment(name, value, index, index + 1, comment, problem=problem)
        processed, expands, error = loader_env_value(value)
        if error:
            return Assignment(name, value, index, index + 1, comment, problem=(
                'the loader rejects the value %r of %s (%s) and keeps the earlier value' % (value, name, error)),
                effective=False)
        return Assignment(name, processed, index, index + 1, comment, expands=expands, raw=value)
    lenient = _LOADER_LENIENT_NAME.match(line)
    name = lenient.group('name') if lenient else None
    return Assignment(name, None, index, index + 1, _first_quote_comment(line),
                      problem='the loader reports this line as malformed and skips it', effective=False)


def _parse_simple_line(dialect, pattern, line, index):
    match = pattern.match(line)
    if not match:
        if dialect is LOADER:
            reason = 'the loader reports this as a malformed line and skips it (write name="value")'
        else:
            reason = 'not a comment or a name=value line'
        raise ConfSyntaxError(index + 1, line, reason)
    return Assignment(match.group('name'), match.group('word'), index, index + 1, match.group('comment') or '')


class ConfFile(object):
    """The lines of one file and the assignments found in them."""

    def __init__(self, text, dialect):
        self.dialect = dialect
        self.newline = '\r\n' if '\r\n' in text else '\n'
        self.lines = text.splitlines()
        self.final_newline = text.endswith(('\n', '\r'))
        self.assignments = self._parse()

    def _parse(self):
        found = []
        index = 0
        while index < len(self.lines):
            line = self.lines[index]
            if _COMMENT_OR_BLANK.match(line):
                index += 1
                continue
            if self.dialect is RC:
                assignment = _parse_rc_line(self.lines, index)
            elif self.dialect is LOADER:
                assignment = _parse_loader_line(line, index)
                if assignment is None:
                    index += 1
                    continue
            else:
                assignment = _parse_simple_line(self.dialect, _SYSCTL_LINE, line, index)
            found.append(assignment)
            index = assignment.end
        return found

    # --- reading ---------------------------------------------------------------------
    def find(self, name):
        """Every line assigning ``name``, including lines the loader rejects."""
        return [item for item in self.assignments if item.name == name]

    def get(self, name):
        """The value the last assignment the reader applies gives (last one wins), or None."""
        found = [item for item in self.find(name) if item.effective]
        return found[-1].value if found else None

    def last(self, name):
        found = [item for item in self.find(name) if item.effective]
        return found[-1] if found else None

    def problems(self):
        """Lines the reader does not read as written: [(line number, line, reason)]."""
        return [(item.start + 1, self.lines[item.start], item.problem) for item in self.assignments if item.problem]

    def names(self):
        seen = []
        for item in self.assignments:
            if item.name is not None and item.name not in seen:
                seen.append(item.name)
        return seen

    # --- editing ---------------------------------------------------------------------
    def _replace(self, start, end, new_lines):
        self.lines[start:end] = new_lines
        self.assignments = self._parse()

    def set(self, name, value, remove_duplicates=False):
        """Make ``name`` end up as ``value``; return True if the text changed.

        The last assignment wins for both the loader and sh, so that is the one
        edited; with ``remove_duplicates`` the earlier ones are removed too.
        """
        changed = False
        found = self.find(name)
        if remove_duplicates and len(found) > 1:
            for item in reversed(found[:-1]):
                self._replace(item.start, item.end, [])
            changed = True
            found = self.find(name)
        if not found:
            self._append(self.dialect.format(name, value))
            return True
        last = found[-1]
        if self._same(last, value):
            return changed
        self._replace(last.start, last.end, self.dialect.format_lines(name, value, last.comment))
        return True

    def _same(self, assignment, value):
        """Whether the assignment already gives ``value`` as we would write it."""
        if not assignment.effective or assignment.problem or assignment.value != value:
            return False
        if not (assignment.expands or '$' in value):
            return True
        # With $ the quoting decides what sh makes of it: compare the text as written.
        quoted = self.dialect.quote + value + self.dialect.quote
        return assignment.raw is not None and assignment.raw in (quoted, value)

    def unset(self, name):
        """Remove every assignment of ``name``; return True if there was one."""
        found = self.find(name)
        for item in reversed(found):
            self._replace(item.start, item.end, [])
        return bool(found)

    def _append(self, line):
        self.lines.append(line)
        self.final_newline = True
        self.assignments = self._parse()

    def render(self):
        if not self.lines:
            return ''
        text = self.newline.join(self.lines)
        if self.final_newline:
            text += self.newline
        return text


def split_list(value, delimiter=' '):
    """The elements of a list value: whitespace-separated, or split on ``delimiter``."""
    if value is None:
        return []
    if delimiter.isspace() or delimiter == '':
        return value.split()
    return [item.strip() for item in value.split(delimiter) if item.strip()]


def join_list(items, delimiter=' '):
    if delimiter.isspace() or delimiter == '':
        return ' '.join(items)
    return delimiter.join(items)


def scan_value(text, name):
    """The value of the last plain ``name=`` line of a file we only read (never edit).

    Files such as /etc/defaults/rc.conf hold functions and tests that the
    editor refuses; this lenient scan reads just the simple assignments.
    Returns None when there is none.
    """
    pattern = re.compile(r'''^\s*%s=(?:"([^"]*)"|'([^']*)'|([^\s;#]*))''' % re.escape(name), re.M)
    value = None
    for match in pattern.finditer(text):
        value = next(group for group in match.groups() if group is not None)
    return value


def value_text(option, name, value):
    """The text to write for a task's YAML value: booleans as YES/NO, numbers as digits.

    Raises TaskError naming ``option`` and ``name`` for anything else than a string.
    """
    if isinstance(value, bool):
        return 'YES' if value else 'NO'
    if isinstance(value, (int, float)):
        return str(value)
    if not isinstance(value, str):
        raise TaskError('%s: the value of %s is %r; give a string, a number or a boolean' % (option, name, value))
    return value
