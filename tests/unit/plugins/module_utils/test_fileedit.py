# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading, checking and atomically writing the edited files."""

import pytest

from ansible_collections.wifibox.bhyve.plugins.module_utils.conffile import LOADER, RC
from ansible_collections.wifibox.bhyve.plugins.module_utils.fileedit import EditedFile, FileEditError, apply_edits


class FakeModule(object):
    def __init__(self, tmpdir, check_mode=False):
        self.tmpdir = str(tmpdir)
        self.check_mode = check_mode
        self.params = {}
        self.moved = []

    def atomic_move(self, src, dest, unsafe_writes=False):
        import shutil
        self.moved.append(dest)
        shutil.move(src, dest)

    def backup_local(self, path):
        backup = path + '.bak'
        with open(path, 'rb') as source, open(backup, 'wb') as target:
            target.write(source.read())
        return backup


@pytest.fixture
def tmp(tmp_path):
    work = tmp_path / 'tmp'
    work.mkdir()
    return work


def test_missing_file_reads_as_empty_and_is_created(tmp_path, tmp):
    edited = EditedFile(str(tmp_path / 'loader.conf'), LOADER)
    assert not edited.exists and edited.before == '' and not edited.changed
    edited.conf.set('vmm_load', 'YES')
    module = FakeModule(tmp)
    assert apply_edits(module, [edited])[0]
    assert (tmp_path / 'loader.conf').read_text() == 'vmm_load="YES"\n'


def test_check_mode_writes_nothing_but_returns_the_diff(tmp_path, tmp):
    path = tmp_path / 'rc.conf'
    path.write_text('a="1"\n')
    edited = EditedFile(str(path), RC)
    edited.conf.set('a', '2')
    module = FakeModule(tmp, check_mode=True)
    changed, diffs, backups = apply_edits(module, [edited], backup=True)
    assert changed and diffs[0]['before'] == 'a="1"\n' and diffs[0]['after'] == 'a="2"\n'
    assert backups == {} and module.moved == [] and path.read_text() == 'a="1"\n'


def test_unchanged_files_are_not_written(tmp_path, tmp):
    path = tmp_path / 'rc.conf'
    path.write_text("a='1'\n")
    edited = EditedFile(str(path), RC)
    edited.conf.set('a', '1')
    module = FakeModule(tmp)
    assert apply_edits(module, [edited]) == (False, [], {})
    assert module.moved == []


def test_backup(tmp_path, tmp):
    path = tmp_path / 'rc.conf'
    path.write_text('a="1"\n')
    edited = EditedFile(str(path), RC)
    edited.conf.set('a', '2')
    changed, dummy, backups = apply_edits(FakeModule(tmp), [edited], backup=True)
    with open(backups[str(path)]) as handle:
        assert changed and handle.read() == 'a="1"\n'


def test_a_directory_or_non_utf8_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileEditError, match='is a directory'):
        EditedFile(str(tmp_path), RC)
    path = tmp_path / 'rc.conf'
    path.write_bytes(b'a="\xff"\n')
    with pytest.raises(FileEditError, match='not UTF-8'):
        EditedFile(str(path), RC)


def test_syntax_error_names_the_file_and_the_line(tmp_path):
    # rc.conf only: loader.conf lines the loader misreads are kept and reported (ConfFile.problems)
    path = tmp_path / 'rc.conf'
    path.write_text('ok="1"\nbroken="\n')
    with pytest.raises(FileEditError) as caught:
        EditedFile(str(path), RC)
    assert 'cannot edit %s safely: line 2' % path in str(caught.value)


def test_all_files_are_checked_before_the_first_is_written(tmp_path, tmp):
    good = tmp_path / 'good.conf'
    good.write_text('a="1"\n')
    first = EditedFile(str(good), LOADER)
    first.conf.set('a', '2')
    second = EditedFile(str(tmp_path / 'missing' / 'x.conf'), LOADER)
    second.conf.set('a', '2')
    module = FakeModule(tmp)
    with pytest.raises(FileEditError, match='does not exist'):
        apply_edits(module, [first, second])
    assert good.read_text() == 'a="1"\n' and module.moved == []


# --- writing next to the target, and what a killed writer left ---------------------------------

def test_temporaries_of_dead_writers_are_removed_and_live_ones_kept(tmp_path):
    import os
    from ansible_collections.wifibox.bhyve.plugins.module_utils.fileedit import write_atomically
    target = tmp_path / 'rc.conf'
    target.write_text('a="1"\n')
    dead = tmp_path / '.rc.conf.999999999.wifibox-tmp'
    dead.write_text('half')
    live = tmp_path / ('.rc.conf.%d.wifibox-tmp' % os.getppid())
    live.write_text('another writer at work')
    other = tmp_path / '.loader.conf.999999999.wifibox-tmp'
    other.write_text('not this file\'s')
    write_atomically(FakeModule(tmp_path), str(target), 'a="2"\n')
    assert target.read_text() == 'a="2"\n'
    assert not dead.exists() and live.exists() and other.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, live.name, other.name])


def test_a_full_disk_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    import errno
    import os
    from ansible_collections.wifibox.bhyve.plugins.module_utils import fileedit
    target = tmp_path / 'loader.conf'
    target.write_text('vmm_load="YES"\n')
    edited = EditedFile(str(target), LOADER)
    edited.conf.set('nmdm_load', 'YES')

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(fileedit.os, 'fsync', full)
    with pytest.raises(FileEditError) as caught:
        apply_edits(FakeModule(tmp_path), [edited])
    assert 'No space left on device' in str(caught.value) and 'the file was not changed' in str(caught.value)
    assert target.read_text() == 'vmm_load="YES"\n'
    assert [p.name for p in tmp_path.iterdir()] == ['loader.conf']


def test_restore_puts_back_the_old_text_or_removes_a_new_file(tmp_path):
    old = tmp_path / 'old.conf'
    old.write_text('a="1"\n')
    new = tmp_path / 'new.conf'
    module = FakeModule(tmp_path)
    for path in (old, new):
        edited = EditedFile(str(path), RC)
        edited.conf.set('b', '2')
        edited.save(module)
        assert 'b="2"' in path.read_text()
        edited.restore(module)
    assert old.read_text() == 'a="1"\n' and not new.exists()


def test_a_run_with_nothing_to_change_still_removes_a_killed_runs_temporary(tmp_path):
    target = tmp_path / 'rc.conf'
    target.write_text('a="1"\n')
    dead = tmp_path / '.rc.conf.999999999.wifibox-tmp'
    dead.write_text('half')
    edited = EditedFile(str(target), RC)
    edited.conf.set('a', '1')
    assert apply_edits(FakeModule(tmp_path, check_mode=True), [edited])[0] is False and dead.exists()
    assert apply_edits(FakeModule(tmp_path), [edited])[0] is False and not dead.exists()
