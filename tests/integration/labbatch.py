# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers of the batched lab tests: a laptop's state as a comparable value, and many module
calls in one ansible-playbook run."""

import hashlib
import json
import os
import re
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(ROOT, '.venv', 'bin', 'ansible-playbook')
ANSIBLE = os.path.join(ROOT, '.venv', 'bin', 'ansible')
TEST_DIR = '/usr/local/etc/relmod-test'
WATCHED_FILES = ('/etc/rc.conf', '/boot/loader.conf', '/etc/sysctl.conf', TEST_DIR + '/rc.conf',
                 TEST_DIR + '/loader.conf', TEST_DIR + '/sysctl.conf', TEST_DIR + '/broken.conf')
WATCHED_DIRS = ('/etc', '/boot', '/etc/rc.conf.d', '/usr/local/etc', TEST_DIR, '/boot/loader.conf.d')


# --- the laptop as a comparable value ------------------------------------------------------------

def snapshot(laptop):
    """Everything a failed task must leave as it was (MAC addresses of recreated taps excepted)."""
    state = laptop.state()
    script = ('ifconfig -l; echo; for b in $(ifconfig -g bridge); do echo "$b:"; ifconfig "$b" | '
              'sed -n "s/^.*member: \\([^ ]*\\).*/\\1/p" | sort; ifconfig "$b" | head -1 | grep -o "<UP"; done; '
              'for i in $(ifconfig -l); do ifconfig "$i" | head -1 | sed "s/flags=[0-9a-f]*//"; done; '
              'sysctl -n net.link.tap.up_on_open')
    runtime = laptop.sh(script).stdout
    files = {}
    for path in WATCHED_FILES:
        result = laptop.nsenter(['cat', path])
        files[path] = hashlib.sha256(result.stdout.encode()).hexdigest() if result.returncode == 0 else None
    listing = dict((path, laptop.sh('ls -a %s 2>/dev/null' % path).stdout.split()) for path in WATCHED_DIRS)
    return dict(
        klds=sorted(kld['file'] for kld in state['klds']),
        # state['sysctl'] holds only values set since boot (a value set back to its default shows there);
        # the runtime part reads the sysctls the modules change.
        ifaces=state['ifaces'], kenv=state['kenv'], vms=state['vms'],
        devices=[(d.get('bsf4'), d.get('attached')) for d in state['devices']],
        runtime=runtime, files=files, listing=listing,
    )


def run_batch(laptop, tmp_path, tasks, name='batch'):
    """Run ``tasks`` (each with a name) in one playbook; return {name: registered result}."""
    plays = []
    for index, task in enumerate(tasks):
        task = dict(task)
        task.setdefault('ignore_errors', True)
        task['register'] = 'case_%d' % index
        plays.append(task)
    collected = '{{ %s | to_json }}' % ('{%s}' % ', '.join("%s: case_%d" % (json.dumps(t['name']), i) for i, t in enumerate(tasks)))
    out = tmp_path / ('%s.json' % name)
    plays.append({'name': 'collect', 'delegate_to': 'localhost', 'ansible.builtin.copy': {'content': collected, 'dest': str(out)}})
    book = tmp_path / ('%s.yml' % name)
    book.write_text(json.dumps([{'hosts': laptop.name, 'gather_facts': False, 'tasks': plays}], indent=1))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1')
    proc = subprocess.run([PLAYBOOK, '-i', laptop.inventory_path, str(book)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert out.exists(), proc.stdout[-4000:] + proc.stderr[-2000:]
    return json.loads(out.read_text())


def module_task(case_id, module, args):
    return {'name': case_id, 'wifibox.bhyve.' + module: args}


# --- one module call, ad hoc ---------------------------------------------------------------------

def module(laptop, name, args=None, check=False, diff=False):
    """Run wifibox.bhyve.NAME on the laptop; return (status, result)."""
    argv = [ANSIBLE, '-i', laptop.inventory_path, laptop.name, '-m', 'wifibox.bhyve.' + name]
    if args is not None:
        argv += ['-a', json.dumps(args)]
    if check:
        argv.append('--check')
    if diff:
        argv.append('--diff')
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1')
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    match = re.search(r'^%s \| (?P<status>[A-Z]+)!? => ' % re.escape(laptop.name), proc.stdout, re.MULTILINE)
    assert match, proc.stdout + proc.stderr
    return match.group('status'), json.loads(proc.stdout[match.end():])
