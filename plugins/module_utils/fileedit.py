# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Read a configuration file, edit it with conffile, write it back atomically.

Every check that can fail happens before anything is written, so a failed run
leaves the file byte-identical; the write is a temporary file in the module's
tmpdir moved over the target (module.atomic_move).
"""

from __future__ import annotations

import os

from ansible.module_utils.common.text.converters import to_bytes, to_native

from ansible_collections.wifibox.bhyve.plugins.module_utils.conffile import ConfFile, ConfSyntaxError, scan_value


class FileEditError(Exception):
    """A file that cannot be read, parsed or written; the message names the fix."""


class EditedFile(object):
    """One file being edited: its text before, its ConfFile, and how to save it."""

    def __init__(self, path, dialect):
        self.path = path
        self.dialect = dialect
        self.exists = os.path.exists(path)
        self.before = self._read()
        try:
            self.conf = ConfFile(self.before, dialect)
        except ConfSyntaxError as exc:
            raise FileEditError(
                'cannot edit %s safely: %s. Fix that line by hand (the %s file must hold only comments and '
                'name="value" lines), then run again; the file was not changed' % (path, exc, dialect.describe)
            )

    def _read(self):
        if not self.exists:
            return ''
        if os.path.isdir(self.path):
            raise FileEditError('%s is a directory; give the path of a file in it' % self.path)
        try:
            with open(to_bytes(self.path), 'rb') as handle:
                data = handle.read()
        except (IOError, OSError) as exc:
            raise FileEditError('cannot read %s: %s; check its permissions' % (self.path, to_native(exc)))
        try:
            return data.decode('utf-8')
        except UnicodeDecodeError as exc:
            raise FileEditError('%s is not UTF-8 text (%s); fix or remove the offending bytes first' % (self.path, exc))

    @property
    def after(self):
        return self.conf.render()

    @property
    def changed(self):
        return self.after != self.before

    def check_writable(self):
        """Raise FileEditError when the file could not be written (before any write)."""
        parent = os.path.dirname(os.path.abspath(self.path)) or '/'
        if not os.path.isdir(parent):
            raise FileEditError(
                'the directory %s of %s does not exist; create it first (for example with ansible.builtin.file '
                'state=directory) or choose another path' % (parent, self.path)
            )
        target = os.path.realpath(self.path)
        if not os.access(os.path.dirname(target), os.W_OK | os.X_OK) or (self.exists and not os.access(target, os.W_OK)):
            raise FileEditError(
                'cannot write %s: its directory %s is read-only (read-only file system or permissions); '
                'remount it read-write or run with become: true' % (self.path, os.path.dirname(target))
            )

    def diff(self):
        return dict(
            before=self.before,
            after=self.after,
            before_header='%s (content)' % self.path if self.exists else '%s (absent)' % self.path,
            after_header='%s (content)' % self.path,
        )

    def save(self, module, backup=False):
        """Write the new text atomically; returns the backup file name or None."""
        backup_file = None
        target = os.path.realpath(self.path)
        if backup and self.exists:
            backup_file = module.backup_local(target)
        try:
            write_atomically(module, target, self.after)
        except FileEditError:
            if backup_file:
                _remove(backup_file)
            raise
        return backup_file

    def restore(self, module, backup_file=None):
        """Put the file back as it was before save() (the undo of a save)."""
        target = os.path.realpath(self.path)
        if self.exists:
            write_atomically(module, target, self.before)
        else:
            os.unlink(target)
        if backup_file:
            _remove(backup_file)


# Temporary files are written next to the target (same file system, so the final
# rename is atomic and a full disk fails before the target is touched), named after
# it and the writer's pid so that a run killed midway can be cleaned up by the next one.
_TMP_SUFFIX = '.wifibox-tmp'


def _remove(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def remove_stale_temporaries(target):
    """Remove the temporary files of ``target`` left by writers that were killed."""
    directory, base = os.path.split(target)
    prefix = '.%s.' % base
    try:
        names = os.listdir(directory or '.')
    except OSError:
        return
    for name in names:
        if not (name.startswith(prefix) and name.endswith(_TMP_SUFFIX)):
            continue
        pid = name[len(prefix):-len(_TMP_SUFFIX)]
        if pid.isdigit() and not _pid_alive(int(pid)):
            _remove(os.path.join(directory, name))


def write_atomically(module, target, text):
    """Replace ``target`` by ``text``: the old file stays intact unless the new one is complete.

    Raises FileEditError (naming the file and the cause, such as a full disk).
    """
    remove_stale_temporaries(target)
    directory, base = os.path.split(target)
    tmp = os.path.join(directory, '.%s.%d%s' % (base, os.getpid(), _TMP_SUFFIX))
    try:
        fd = os.open(to_bytes(tmp), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_EXCL, 0o600)
        with os.fdopen(fd, 'wb') as handle:
            handle.write(to_bytes(text))
            handle.flush()
            os.fsync(handle.fileno())
    except (IOError, OSError) as exc:
        _remove(tmp)
        raise FileEditError('cannot write %s: %s while writing the new content next to it (%s); the file was not '
                            'changed; free space on that file system or fix its permissions, then run again'
                            % (target, to_native(exc.strerror or exc), tmp))
    try:
        # atomic_move gives the new file the old one's mode and owner (a new file: 0666 less the umask).
        module.atomic_move(tmp, target, unsafe_writes=False)
    finally:
        _remove(tmp)


def apply_edits(module, files, backup=False, journal=None):
    """Check and save every changed EditedFile (unless in check mode).

    Returns (changed, diffs, backup_files).  All files are checked for
    writability before the first one is written.  With ``journal`` (a
    journal.Journal) each write is a step that a later failure undoes.
    """
    changed_files = [edited for edited in files if edited.changed]
    diffs = [edited.diff() for edited in changed_files]
    backups = {}
    if not module.check_mode:
        # Also when nothing changes: a run killed midway must not leave its temporary file for good.
        for edited in files:
            remove_stale_temporaries(os.path.realpath(edited.path))
    if not changed_files:
        return False, diffs, backups
    # Also in check mode: a run that would fail must not report success.
    for edited in changed_files:
        edited.check_writable()
    if module.check_mode:
        return True, diffs, backups
    for edited in changed_files:
        if journal is None:
            backup_file = edited.save(module, backup)
        else:
            backup_file = journal.step(
                'wrote %s' % edited.path,
                lambda edited=edited: edited.save(module, backup),
            )
            journal.done[-1] = (journal.done[-1][0], lambda edited=edited, kept=backup_file: edited.restore(module, kept))
        if backup_file:
            backups[edited.path] = backup_file
    return True, diffs, backups


def read_text(path):
    """The text of ``path``, or '' when it is absent or unreadable (for files only consulted)."""
    try:
        with open(to_bytes(path), 'rb') as handle:
            return handle.read().decode('utf-8')
    except (IOError, OSError, UnicodeDecodeError):
        return ''


def warn_overridden(module, path, later_files, names, read_after):
    """Warn for each of ``names`` that a file read after ``path`` also sets: that value wins.

    ``read_after`` completes "which ... after PATH", e.g. "the loader reads".
    """
    for later in later_files:
        text = read_text(later)
        for name in names:
            if scan_value(text, name) is not None:
                module.warn('%s is also set in %s, which %s after %s, so that value wins; '
                            'change it there or remove it from there' % (name, later, read_after, path))


def warn_misread_lines(module, path, conf):
    """Warn for each line of ``conf`` (read from ``path``) that its reader misreads or skips (ConfFile.problems).

    Shared by every module that edits a loader.conf (loader_conf, kld persist=loader).
    """
    for lineno, line, reason in conf.problems():
        module.warn('%s line %d %r: %s; fix or remove that line (this task rewrites only the lines of the names it '
                    'manages)' % (path, lineno, line, reason))
