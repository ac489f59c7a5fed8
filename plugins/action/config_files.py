# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action of wifibox.bhyve.config_files: render templates and read files on the controller, then send every
file to the target in one module call.

Templates are found and rendered the way ansible.builtin.template does it (the role's templates/ first, the
task's variables, ansible_managed); controller files (src) the way ansible.builtin.copy finds them. The content
of a secret file goes in the module's no_log options, so it is never logged on the target, and the result
carries no content at all.
"""

from __future__ import annotations

import base64
import os

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.template import trust_as_template

try:
    from ansible._internal._templating import _template_vars
except ImportError:  # pragma: no cover - older ansible-core
    _template_vars = None


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(('files', 'backup'))

    def _render(self, item, index, task_vars):
        name = item['template']
        try:
            source = self._find_needle('templates', name)
        except AnsibleError as exc:
            raise AnsibleActionFail('files[%d] (%s): template %s not found: %s' % (index, item.get('path'), name,
                                                                                   to_text(exc)))
        data = trust_as_template(self._loader.get_text_file_contents(source))
        searchpath = list(task_vars.get('ansible_search_path', []))
        searchpath.extend([self._loader._basedir, os.path.dirname(source)])
        paths = []
        for path in searchpath:
            paths.extend([os.path.join(path, 'templates'), path])
        temp_vars = task_vars.copy()
        if _template_vars is not None:
            temp_vars.update(_template_vars.generate_ansible_template_vars(
                path=name, fullpath=source, dest_path=item.get('path'),
                include_ansible_managed='ansible_managed' not in temp_vars))
        templar = self._templar.copy_with_new_env(searchpath=paths, available_variables=temp_vars)
        try:
            text = templar.template(data, escape_backslashes=False,
                                    overrides=dict(trim_blocks=True, lstrip_blocks=False, newline_sequence='\n'))
        except AnsibleError as exc:
            # The message of a template error names the template and the line, not the values.
            raise AnsibleActionFail('files[%d] (%s): rendering %s failed: %s'
                                    % (index, item.get('path'), name, to_text(exc.message)))
        return '' if text is None else to_text(text)

    def _read(self, item, index):
        name = item['src']
        try:
            source = self._find_needle('files', name)
        except AnsibleError as exc:
            raise AnsibleActionFail('files[%d] (%s): file %s not found on the controller: %s'
                                    % (index, item.get('path'), name, to_text(exc)))
        try:
            with open(to_bytes(source, errors='surrogate_or_strict'), 'rb') as handle:
                return handle.read()
        except OSError as exc:
            raise AnsibleActionFail('files[%d] (%s): cannot read %s on the controller: %s'
                                    % (index, item.get('path'), source, exc))

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        files = self._task.args.get('files')
        if not isinstance(files, list):
            raise AnsibleActionFail('files must be a list of items (path, and content, template or src)')
        sent = []
        for index, item in enumerate(files):
            if not isinstance(item, dict):
                raise AnsibleActionFail('files[%d] must be a dictionary with at least path' % index)
            item = dict(item)
            if item.get('state', 'file') != 'file':
                # Nothing to render for a directory, a link or a removal.
                item.pop('template', None)
                item.pop('src', None)
            try:
                secret = boolean(item.get('secret', False), strict=True)
            except TypeError:
                raise AnsibleActionFail('files[%d] (%s): secret must be true or false' % (index, item.get('path')))
            given = [key for key in ('content', 'template', 'src', 'content_base64') if item.get(key) is not None]
            if len(given) > 1:
                raise AnsibleActionFail('files[%d] (%s): give only one of %s' % (index, item.get('path'),
                                                                                 ', '.join(given)))
            if 'template' in given:
                item['content'] = self._render(item, index, task_vars)
                del item['template']
            elif 'src' in given:
                item['content_base64'] = to_text(base64.b64encode(self._read(item, index)))
                del item['src']
            if secret:
                for key in ('content', 'content_base64'):
                    if item.get(key) is not None:
                        item['secret_' + key] = item.pop(key)
            sent.append(item)
        args = dict(self._task.args)
        args['files'] = sent
        result.update(self._execute_module(module_name='wifibox.bhyve.config_files', module_args=args,
                                           task_vars=task_vars))
        self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
