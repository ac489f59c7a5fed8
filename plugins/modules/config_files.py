#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: config_files
short_description: Write a set of configuration files, directories and links in one call
version_added: 0.2.0
description:
  - Brings a list of files, directories and symbolic links to the state given, in one module call. A role
    renders every file on the controller and sends them all at once, instead of one templated task (and one
    SSH round trip) per file.
  - Every item is checked before anything is written (absolute paths, no path twice, modes, owners and groups
    that exist, a parent directory for every file, no directory where a file should be); a bad item fails the
    call with nothing changed.
  - A file is written only when its content, mode, owner or group differ, atomically (a temporary file in the
    same directory, with the final mode set before it is moved over the old file).
  - Files marked O(files[].secret) never have their content in the output, the diff or the log. Their diff shows
    the lines that match O(files[].secret_lines) with the value replaced by C(********(secret N)) (the same
    value keeps its number, so a changed secret shows as a changed number), and every other line as it is; with
    no O(files[].secret_lines), every line is masked. Their mode must not be readable by others.
  - If writing fails midway the result says which items were already changed (C(changed=true)); the items
    after it are left as they were.
  - The action plugin of the same name runs on the controller first; it renders O(files[].template) with the
    task's variables and reads O(files[].src), so the module receives only contents.
author:
  - wifibox.bhyve developers (@wifibox-bhyve)
extends_documentation_fragment:
  - wifibox.bhyve.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: One diff per changed item; secret files are masked.
  action:
    description: Indicates this has a corresponding action plugin so some parts of the work happen on the controller.
    support: full
    details: Templates are rendered and controller files read by the action plugin.
options:
  files:
    description: The items, handled in the order given (put a directory before the files in it).
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Absolute path on the target.
        type: path
        required: true
      state:
        description:
          - V(file) writes the content; V(directory) creates the directory (and missing parents, mode 0755);
            V(link) makes a symbolic link to O(files[].target); V(absent) removes a file or link.
        type: str
        choices: [file, directory, link, absent]
        default: file
      content:
        description: The text of the file (V(file) only). Exactly one of O(files[].content), O(files[].template),
          O(files[].src) or O(files[].content_base64) is needed for a file.
        type: str
      template:
        description: A Jinja2 template on the controller (found like M(ansible.builtin.template) finds it, in the
          role's C(templates/) first), rendered with the task's variables by the action plugin.
        type: str
      src:
        description: A file on the controller (found like M(ansible.builtin.copy) finds it, in the role's
          C(files/) first) whose bytes are copied as they are.
        type: str
      content_base64:
        description: The bytes of the file in base64 (what the action plugin sends for O(files[].src)).
        type: str
      secret_content:
        description:
          - The text of a secret file (O(files[].secret=true)). The action plugin moves O(files[].content) or a
            rendered O(files[].template) here for secret files; this option is C(no_log).
        type: str
      secret_content_base64:
        description:
          - The bytes of a secret file in base64; the action plugin moves O(files[].content_base64) or the bytes
            of O(files[].src) here for secret files; this option is C(no_log).
        type: str
      target:
        description: What a V(link) points to (used as it is, so relative targets stay relative).
        type: str
      mode:
        description:
          - Octal mode such as V('0644'). Defaults to V('0644') for files (V('0600') for secret ones) and
            V('0755') for directories. Ignored for links.
        type: raw
      owner:
        description: Owner (name or number); default the connecting user for new items, unchanged for old ones.
        type: str
      group:
        description: Group (name or number); default as for O(files[].owner).
        type: str
      secret:
        description: The content is secret; see the description. Its mode must not be readable by others.
        type: bool
        default: false
      secret_lines:
        description:
          - Regular expressions (Python) for the lines of a secret file whose value is masked in the diff; the
            first group is the part kept (for example V('^(\\s*psk=)')), the rest of the line is masked.
        type: list
        elements: str
        default: []
  backup:
    description: Keep a copy of every file that is replaced or removed, next to it with a time stamp
      (mode as the file's).
    type: bool
    default: false
notes:
  - The action plugin moves the content of secret files into options the module declares C(no_log), so Ansible
    also keeps them out of the target's syslog and masks them anywhere in the result.
seealso:
  - module: ansible.builtin.template
  - module: ansible.builtin.copy
"""

EXAMPLES = r"""
- name: Write the guest configuration in one call
  wifibox.bhyve.config_files:
    backup: true
    files:
      - path: /usr/local/etc/wifibox-bhyve/appliance
        state: directory
      - path: /usr/local/etc/wifibox-bhyve/appliance/hostname
        content: "wifibox\n"
      - path: /usr/local/etc/wifibox-bhyve/appliance/iptables
        template: common/iptables.j2
      - path: /usr/local/etc/wifibox-bhyve/wpa_supplicant
        state: directory
        mode: "0700"
      - path: /usr/local/etc/wifibox-bhyve/wpa_supplicant/wpa_supplicant.conf
        template: common/wpa_supplicant.conf.j2
        secret: true
        secret_lines: ['^(\s*(?:psk|sae_password|password|private_key_passwd)=)']
      - path: /usr/local/etc/wifibox-bhyve/app_config
        state: link
        target: wpa_supplicant
      - path: /usr/local/etc/wifibox-bhyve/appliance/uds_passthru.conf
        state: absent
"""

RETURN = r"""
files:
  description: One entry per item, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The path.
      type: str
    state:
      description: The state asked for.
      type: str
    changed:
      description: Whether this item was (or in check mode would be) changed.
      type: bool
    changes:
      description: What changed, among V(created), V(content), V(mode), V(owner), V(group), V(target), V(removed).
      type: list
      elements: str
    backup_file:
      description: The backup of the old file, when one was made.
      type: str
      returned: when a backup was made
changed_paths:
  description: The paths that changed.
  returned: always
  type: list
  elements: str
"""

import base64
import grp
import os
import pwd
import re
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native

MASK = '********'
MAX_DIFF_BYTES = 256 * 1024


class ItemError(Exception):
    """A bad item; the message names it and the fix."""


def _mode(value, default):
    if value in (None, ''):
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value <= 0o7777:
            return value
        raise ItemError('mode %d is out of range' % value)
    text = str(value)
    if not re.match(r'^0?[0-7]{3,4}$', text):
        raise ItemError("mode '%s' is not an octal mode such as '0644' (quote it in YAML)" % text)
    return int(text, 8)


def _uid(owner):
    if owner in (None, ''):
        return None
    if str(owner).isdigit():
        return int(owner)
    try:
        return pwd.getpwnam(owner).pw_uid
    except KeyError:
        raise ItemError("user '%s' does not exist on the target" % owner)


def _gid(group):
    if group in (None, ''):
        return None
    if str(group).isdigit():
        return int(group)
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise ItemError("group '%s' does not exist on the target" % group)


class Masker(object):
    """Masks secret values; each distinct value gets a number shared by the before and after texts."""

    def __init__(self):
        self.tokens = {}

    def token(self, value):
        return '%s(secret %d)' % (MASK, self.tokens.setdefault(value, len(self.tokens) + 1))

    def mask(self, text, patterns):
        out = []
        for line in text.splitlines(True):
            body = line.rstrip('\r\n')
            end = line[len(body):]
            if not patterns:
                out.append(self.token(body) + end if body.strip() else line)
                continue
            for pattern in patterns:
                match = pattern.match(body)
                if match:
                    keep = match.group(1) if match.groups() else ''
                    rest = body[len(keep):]
                    body = keep + (self.token(rest) if rest else '')
                    break
            out.append(body + end)
        return ''.join(out)


class Item(object):
    """One item, checked; plan() finds what differs, apply() changes it."""

    def __init__(self, module, index, spec):
        self.module = module
        self.index = index
        self.spec = spec
        self.path = spec['path']
        self.state = spec['state']
        self.secret = spec['secret']
        self.changes = []
        self.backup_file = None
        self.data = None
        self.before_text = None
        self.label = 'files[%d] (%s)' % (index, self.path)
        try:
            self._check()
        except ItemError as exc:
            raise ItemError('%s: %s' % (self.label, exc))

    def _check(self):
        spec = self.spec
        if not os.path.isabs(self.path) or '\x00' in self.path:
            raise ItemError('path must be absolute')
        if self.path != os.path.normpath(self.path):
            raise ItemError("path must be normalised (no '//', '.', '..' or trailing '/'): %s"
                            % os.path.normpath(self.path))
        sources = [key for key in ('content', 'content_base64', 'secret_content', 'secret_content_base64')
                   if spec.get(key) is not None]
        if spec.get('template') is not None or spec.get('src') is not None:
            raise ItemError('template and src are read by the action plugin on the controller; call the module '
                            'through its action (wifibox.bhyve.config_files), or pass content')
        if self.state == 'file':
            if len(sources) != 1:
                raise ItemError('a file needs exactly one of content, template, src or content_base64')
            key = sources[0]
            if self.secret != key.startswith('secret_'):
                raise ItemError('secret files carry their content in secret_content or secret_content_base64 '
                                '(no_log), others in content or content_base64')
            value = spec[key]
            if key.endswith('base64'):
                try:
                    self.data = base64.b64decode(value, validate=True)
                except (ValueError, TypeError):
                    raise ItemError('%s is not valid base64' % key)
            else:
                self.data = to_bytes(value, errors='surrogate_or_strict')
            self.mode = _mode(spec.get('mode'), 0o600 if self.secret else 0o644)
            if self.secret and self.mode & 0o007:
                raise ItemError("mode %04o lets other users read a secret file; use '0600' or '0640'" % self.mode)
        else:
            if sources:
                raise ItemError('content is only for state=file')
            self.mode = _mode(spec.get('mode'), 0o755) if self.state == 'directory' else None
        if self.state == 'link' and not spec.get('target'):
            raise ItemError('state=link needs target')
        if self.state != 'link' and spec.get('target'):
            raise ItemError('target is only for state=link')
        self.uid = _uid(spec.get('owner'))
        self.gid = _gid(spec.get('group'))
        try:
            self.patterns = [re.compile(p) for p in spec.get('secret_lines') or []]
        except re.error as exc:
            raise ItemError('secret_lines: %s' % exc)

    # -- planning -------------------------------------------------------------

    def plan(self, planned_dirs):
        path = self.path
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            st = None
        except OSError as exc:
            raise ItemError('%s: cannot examine it: %s' % (self.label, to_native(exc)))
        self.st = st
        parent = os.path.dirname(path)
        if self.state in ('file', 'link') and not os.path.isdir(parent) and parent not in planned_dirs:
            raise ItemError('%s: the directory %s does not exist; add it as an item with state=directory before '
                            'this one' % (self.label, parent))
        if self.state == 'file':
            self._plan_file(st)
        elif self.state == 'directory':
            if st is not None and stat.S_ISLNK(st.st_mode) and os.path.isdir(path):
                # A link to a directory (/etc -> private/etc, a mounted root...) stands for that directory.
                st = self.st = os.stat(path)
            if st is not None and not stat.S_ISDIR(st.st_mode):
                raise ItemError('%s: it exists and is not a directory; remove it first' % self.label)
            if st is None:
                self.changes.append('created')
            else:
                self._plan_attrs(st)
            planned_dirs.add(path)
            head = parent
            while head and head != '/' and not os.path.isdir(head):
                planned_dirs.add(head)
                head = os.path.dirname(head)
        elif self.state == 'link':
            if st is not None and not stat.S_ISLNK(st.st_mode):
                raise ItemError('%s: it exists and is not a symbolic link; remove it first (it is not replaced '
                                'automatically)' % self.label)
            if st is None:
                self.changes.append('created')
            elif os.readlink(path) != self.spec['target']:
                self.changes.append('target')
        elif self.state == 'absent':
            if st is not None:
                if stat.S_ISDIR(st.st_mode):
                    raise ItemError('%s: it is a directory; this module removes only files and links' % self.label)
                self.changes.append('removed')
        return bool(self.changes)

    def _plan_attrs(self, st):
        if self.mode is not None and stat.S_IMODE(st.st_mode) != self.mode:
            self.changes.append('mode')
        if self.uid is not None and st.st_uid != self.uid:
            self.changes.append('owner')
        if self.gid is not None and st.st_gid != self.gid:
            self.changes.append('group')

    def _plan_file(self, st):
        if st is None:
            self.changes.append('created')
            self.before = b''
            return
        if not stat.S_ISREG(st.st_mode):
            raise ItemError('%s: it exists and is not a regular file (a directory or a link?); remove it first'
                            % self.label)
        try:
            with open(to_bytes(self.path), 'rb') as handle:
                self.before = handle.read()
        except OSError as exc:
            raise ItemError('%s: cannot read it: %s' % (self.label, to_native(exc)))
        if self.before != self.data:
            self.changes.append('content')
        self._plan_attrs(st)

    # -- diff -------------------------------------------------------------------

    def diff(self, masker):
        header = self.path
        if self.state == 'file' and ('content' in self.changes or 'created' in self.changes):
            before, after = self._text(self.before), self._text(self.data)
            if self.secret:
                before, after = masker.mask(before, self.patterns), masker.mask(after, self.patterns)
            return {'before_header': header, 'after_header': header, 'before': before, 'after': after}
        if self.state == 'link':
            old = os.readlink(self.path) if self.st is not None else '(absent)'
            return {'before_header': header, 'after_header': header, 'before': 'link -> %s\n' % old,
                    'after': 'link -> %s\n' % self.spec['target']}
        if self.state == 'absent':
            return {'before_header': header, 'after_header': header, 'before': '(present)\n', 'after': '(absent)\n'}
        if self.state == 'directory' and 'created' in self.changes:
            return {'before_header': header, 'after_header': header, 'before': '(absent)\n',
                    'after': 'directory, mode %04o\n' % self.mode}
        lines_before, lines_after = [], []
        st = self.st
        if 'mode' in self.changes:
            lines_before.append('mode %04o\n' % stat.S_IMODE(st.st_mode))
            lines_after.append('mode %04o\n' % self.mode)
        if 'owner' in self.changes:
            lines_before.append('owner %d\n' % st.st_uid)
            lines_after.append('owner %d\n' % self.uid)
        if 'group' in self.changes:
            lines_before.append('group %d\n' % st.st_gid)
            lines_after.append('group %d\n' % self.gid)
        return {'before_header': header + ' (attributes)', 'after_header': header + ' (attributes)',
                'before': ''.join(lines_before), 'after': ''.join(lines_after)}

    @staticmethod
    def _text(data):
        if len(data) > MAX_DIFF_BYTES:
            return '(%d bytes: too large to show)\n' % len(data)
        try:
            return data.decode('utf-8')
        except UnicodeDecodeError:
            return '(binary, %d bytes)\n' % len(data)

    # -- applying ---------------------------------------------------------------

    def apply(self, backup):
        path = self.path
        if self.state == 'directory':
            if 'created' in self.changes:
                os.makedirs(path, exist_ok=True)
            os.chmod(path, self.mode)
            self._chown(path)
        elif self.state == 'link':
            tmp = os.path.join(os.path.dirname(path), '.%s.tmp%d' % (os.path.basename(path), os.getpid()))
            if os.path.lexists(tmp):
                os.unlink(tmp)
            os.symlink(self.spec['target'], tmp)
            os.rename(tmp, path)
        elif self.state == 'absent':
            if backup and stat.S_ISREG(self.st.st_mode):
                self.backup_file = self.module.backup_local(path)
            os.unlink(path)
        elif 'content' in self.changes or 'created' in self.changes:
            if backup and self.st is not None:
                self.backup_file = self.module.backup_local(path)
            self._write(path)
        else:
            os.chmod(path, self.mode)
            self._chown(path)

    def _chown(self, path):
        if self.uid is not None or self.gid is not None:
            os.lchown(path, -1 if self.uid is None else self.uid, -1 if self.gid is None else self.gid)

    def _write(self, path):
        directory = os.path.dirname(path)
        fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=directory)
        try:
            with os.fdopen(fd, 'wb') as handle:
                handle.write(self.data)
                handle.flush()
                os.fsync(handle.fileno())
            # The final mode and owner before the file takes its name: a secret is never readable by others.
            os.chmod(tmp, self.mode)
            uid = self.st.st_uid if self.uid is None and self.st is not None else self.uid
            gid = self.st.st_gid if self.gid is None and self.st is not None else self.gid
            if uid is not None or gid is not None:
                os.chown(tmp, -1 if uid is None else uid, -1 if gid is None else gid)
            # atomic_move gives a new file 0666 & ~umask for a moment: a 077 umask keeps that private.
            old_umask = os.umask(0o077)
            try:
                self.module.atomic_move(tmp, path, keep_dest_attrs=False)
            finally:
                os.umask(old_umask)
            os.chmod(path, self.mode)
            if uid is not None or gid is not None:
                os.chown(path, -1 if uid is None else uid, -1 if gid is None else gid)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


def _summary(spec):
    """The item as it may appear in the result: contents replaced by their size."""
    out = {}
    for key, value in spec.items():
        if value is None:
            continue
        if key in ('content', 'content_base64', 'secret_content', 'secret_content_base64'):
            out[key] = '(%d characters not shown)' % len(value)
        else:
            out[key] = value
    return out


def main():
    item_spec = dict(
        path=dict(type='path', required=True),
        state=dict(type='str', default='file', choices=['file', 'directory', 'link', 'absent']),
        content=dict(type='str'),
        template=dict(type='str'),
        src=dict(type='str'),
        content_base64=dict(type='str'),
        secret_content=dict(type='str', no_log=True),
        secret_content_base64=dict(type='str', no_log=True),
        target=dict(type='str'),
        mode=dict(type='raw'),
        owner=dict(type='str'),
        group=dict(type='str'),
        secret=dict(type='bool', default=False),
        secret_lines=dict(type='list', elements='str', default=[], no_log=False),
    )
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(type='list', elements='dict', required=True, options=item_spec),
            backup=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    invocation = {'module_args': {'backup': module.params['backup'],
                                  'files': [_summary(spec) for spec in module.params['files']]}}
    items = []
    try:
        seen = {}
        for index, spec in enumerate(module.params['files']):
            item = Item(module, index, spec)
            if item.path in seen:
                raise ItemError('files[%d] (%s): the same path is files[%d]; give each path once'
                                % (index, item.path, seen[item.path]))
            seen[item.path] = index
            items.append(item)
        planned_dirs = set()
        for item in items:
            item.plan(planned_dirs)
    except ItemError as exc:
        module.fail_json(msg='%s. Nothing was changed.' % exc, changed=False, invocation=invocation)

    masker = Masker()
    diffs = []
    if module._diff:
        diffs = [item.diff(masker) for item in items if item.changes]
    done = []
    if not module.check_mode:
        for item in items:
            if not item.changes:
                continue
            try:
                item.apply(module.params['backup'])
            except (OSError, IOError) as exc:
                module.fail_json(
                    msg='%s: writing failed: %s. Changed before the failure: %s; this item and the ones after it '
                        'were left as they were.' % (item.label, to_native(exc), ', '.join(done) or 'nothing'),
                    changed=bool(done), changed_paths=done, invocation=invocation)
            done.append(item.path)
    result = dict(
        changed=any(item.changes for item in items),
        changed_paths=[item.path for item in items if item.changes],
        files=[],
        invocation=invocation,
    )
    for item in items:
        entry = dict(path=item.path, state=item.state, changed=bool(item.changes), changes=item.changes)
        if item.backup_file:
            entry['backup_file'] = item.backup_file
        result['files'].append(entry)
    if module._diff:
        result['diff'] = diffs
    module.exit_json(**result)


if __name__ == '__main__':
    main()
