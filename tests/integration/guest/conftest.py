# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers for the tests of the wifibox_guest role: run the role, check files with the real tools."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
VENV_BIN = os.path.join(ROOT, '.venv', 'bin')

PLAYBOOK = """- name: Render the wifibox guest configuration
  hosts: localhost
  gather_facts: false
  roles:
    - wifibox.bhyve.wifibox_guest
"""

_COUNTER = itertools.count()


def is_root():
    return os.geteuid() == 0


def need_tools(*names):
    missing = [name for name in names if shutil.which(name) is None]
    if missing:
        # A failure, not a skip: a green run must not hide a missing install step.
        pytest.fail('missing tools (run scripts/bootstrap): %s' % ', '.join(missing))


class RoleRun:
    """The result of one ansible-playbook run of the role."""

    def __init__(self, proc, out_dir):
        self.proc = proc
        self.out = proc.stdout + proc.stderr
        self.rc = proc.returncode
        self.dir = out_dir

    def recap_of(self, host):
        match = re.search(r'^%s\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)' % re.escape(host),
                          self.out, re.M)
        assert match, 'no PLAY RECAP line for %s in the output:\n%s' % (host, self.out[-3000:])
        return {'ok': int(match.group(1)), 'changed': int(match.group(2)), 'failed': int(match.group(4))}

    @property
    def recap(self):
        return self.recap_of('localhost')

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def read(self, *parts):
        with open(self.path(*parts), encoding='utf-8') as handle:
            return handle.read()


def run_hosts(work, hosts, *args):
    """One ansible-playbook run of the role for several inventory hosts at once (all connection local).

    HOSTS maps a host name to its variables; each host renders under WORK/NAME. Running them
    in one play shares Ansible's start-up cost and runs the hosts in parallel.
    """
    os.makedirs(os.path.join(work, 'host_vars'), exist_ok=True)
    lines = ['[guests]']
    for name, variables in hosts.items():
        out_dir = os.path.join(work, name)
        settings = {'wifibox_guest_config_dir': out_dir, 'wifibox_guest_root_dir': out_dir}
        settings.update(variables)
        with open(os.path.join(work, 'host_vars', name + '.json'), 'w', encoding='utf-8') as handle:
            json.dump(settings, handle)
        lines.append('%s ansible_connection=local ansible_python_interpreter=%s' % (name, os.path.join(VENV_BIN, 'python')))
    with open(os.path.join(work, 'inventory'), 'w', encoding='utf-8') as handle:
        handle.write('\n'.join(lines) + '\n')
    with open(os.path.join(work, 'play.yml'), 'w', encoding='utf-8') as handle:
        handle.write(PLAYBOOK.replace('hosts: localhost', 'hosts: guests'))
    env = dict(os.environ)
    env.update({
        'ANSIBLE_CONFIG': os.path.join(ROOT, 'ansible.cfg'),
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_FORCE_COLOR': '0',
        'ANSIBLE_FORKS': str(max(5, len(hosts))),
        'ANSIBLE_LOCAL_TEMP': os.path.join(work, 'ansible-tmp'),
        'ANSIBLE_RETRY_FILES_ENABLED': '0',
        'PATH': VENV_BIN + os.pathsep + env.get('PATH', ''),
    })
    cmd = [os.path.join(VENV_BIN, 'ansible-playbook'), '-i', os.path.join(work, 'inventory'),
           os.path.join(work, 'play.yml')] + list(args)
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    return RoleRun(proc, work)


def run_role(work, variables, *args):
    """Run the role on one host named localhost; files go under WORK/localhost."""
    run = run_hosts(work, {'localhost': variables}, *args)
    run.dir = os.path.join(work, 'localhost')
    return run


@pytest.fixture
def role(tmp_path):
    """run_role bound to this test's temp directory: role(vars, *ansible_playbook_args)."""

    def _run(variables, *args):
        return run_role(str(tmp_path), variables, *args)

    return _run


@pytest.fixture(scope='session')
def rendered(tmp_path_factory):
    """Every scenario of scenarios.py rendered by one ansible-playbook run (one inventory host each).

    Returns (run, hosts, work): the run, the variables of each host, the directory that holds
    one output directory per host.
    """
    import scenarios  # pylint: disable=import-outside-toplevel
    work = str(tmp_path_factory.mktemp('render'))
    hosts = scenarios.host_vars(work)
    return run_hosts(work, hosts), hosts, work


def sh(cmd, check=True, timeout=30, **kwargs):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)
    if check and proc.returncode != 0:
        raise AssertionError('%s failed (%d):\n%s\n%s' % (cmd, proc.returncode, proc.stdout, proc.stderr))
    return proc


# ---------------------------------------------------------------------------
# Checks by the real tools. Each returns (ok, output) so negative controls can
# show that a broken file is caught.

def check_iptables(path, family=4):
    """iptables-restore --test (or ip6tables-restore), then a real load, in a new, empty network namespace.

    --test alone does not resolve jump targets with the nf_tables backend; loading the
    rules into a throw-away namespace does.
    """
    tool = 'iptables-restore' if family == 4 else 'ip6tables-restore'
    proc = sh(['unshare', '--net', 'sh', '-c', '"$1" --test "$2" && "$1" "$2"', 'sh', tool, path], check=False)
    return proc.returncode == 0, proc.stdout + proc.stderr


def substitute_udhcpd(template, dest, dns='192.168.50.1', domain='lab.example', search='lab.example'):
    """Do what the guest's DHCP client hook does with the udhcpd.conf template."""
    text = template.replace('%%DNS%%', dns).replace('%%DOMAIN%%', domain).replace('%%SEARCH%%', search)
    with open(dest, 'w', encoding='utf-8') as handle:
        handle.write(text)
    return text


def check_udhcpd(path, lan_cidr='10.0.0.1/24', lan_if='eth0'):
    """busybox udhcpd reads the file in a namespace with the LAN interface; any unparsed line fails."""
    work = os.path.dirname(path)
    conf = os.path.join(work, 'udhcpd-check.conf')
    with open(path, encoding='utf-8') as handle:
        text = handle.read()
    with open(conf, 'w', encoding='utf-8') as handle:
        handle.write(text + '\nlease_file %s/udhcpd-check.leases\npidfile %s/udhcpd-check.pid\n' % (work, work))
    open(os.path.join(work, 'udhcpd-check.leases'), 'a', encoding='utf-8').close()
    script = ('ip link add %s type veth peer name wbxpeer0 && ip link set wbxpeer0 up && ip addr add %s dev %s && ip link set %s up && '
              'timeout 1 busybox udhcpd -f %s; true' % (lan_if, lan_cidr, lan_if, lan_if, conf))
    proc = sh(['unshare', '--net', 'sh', '-c', script], check=False)
    out = proc.stdout + proc.stderr
    ok = 'started' in out and "can't parse" not in out and 'bad' not in out.lower()
    return ok, out


def check_radvd(path):
    proc = sh(['radvd', '--configtest', '-C', path], check=False)
    return proc.returncode == 0, proc.stdout + proc.stderr


def check_wpa_supplicant(path):
    """Real wpa_supplicant reads the file; the interface does not exist, so it stops after parsing.

    A parse error prints "Line N: ..." and "Failed to read or parse configuration"; a good
    file gets as far as the driver.
    """
    proc = sh(['timeout', '10', 'wpa_supplicant', '-c', path, '-i', 'wbxnone0', '-D', 'nl80211'], check=False)
    out = proc.stdout + proc.stderr
    ok = 'Failed to read or parse configuration' not in out and not re.search(r'^Line \d+:', out, re.M) \
        and ('driver' in out.lower())
    return ok, out


def check_hostapd(path):
    """Real hostapd reads the file in an empty network namespace: it parses the whole file, then stops at the driver.

    A bad line prints "Line N: ..." and "N errors found in configuration file"; a good file gets as far
    as initialising the nl80211 driver, which fails here as there is no Wi-Fi device.
    """
    proc = sh(['unshare', '--net', 'timeout', '10', 'hostapd', path], check=False)
    out = proc.stdout + proc.stderr
    ok = 'errors found in configuration file' not in out and not re.search(r'^Line \d+:', out, re.M) \
        and "Failed to initialize driver 'nl80211'" in out
    return ok, out


def check_ifquery(path, work):
    """ifquery (ifupdown) reads the file and lists its interfaces; returns (ok, output, {iface: options})."""
    state = os.path.join(work, 'ifstate')
    os.makedirs(state, exist_ok=True)
    proc = sh(['ifquery', '-i', path, '--state-dir', state, '--list', '-a'], check=False)
    out = proc.stdout + proc.stderr
    if proc.returncode != 0:
        return False, out, {}
    ifaces = {}
    for name in proc.stdout.split():
        query = sh(['ifquery', '-i', path, '--state-dir', state, name], check=False)
        out += query.stdout + query.stderr
        if query.returncode != 0:
            return False, out, ifaces
        opts = {}
        for line in query.stdout.splitlines():
            key, _sep, value = line.partition(': ')
            opts.setdefault(key.strip(), []).append(value.strip())
        ifaces[name] = opts
    return True, out, ifaces


def check_sysctl_keys(path):
    """Every net.* key of a sysctl file exists in a fresh network namespace (others are global: not applied)."""
    keys = []
    bad = []
    with open(path, encoding='utf-8') as handle:
        for line in handle:
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            key, sep, _value = line.partition('=')
            if not sep:
                bad.append(line)
            elif key.startswith('net.ipv4.') or key.startswith('net.ipv6.'):
                keys.append('/proc/sys/' + key.strip().replace('.', '/'))
    if keys:
        script = 'for k in "$@"; do [ -e "$k" ] || echo "$k"; done'
        proc = sh(['unshare', '--net', 'sh', '-c', script, 'sh'] + keys)
        bad.extend(proc.stdout.split())
    return not bad, bad


# ---------------------------------------------------------------------------
# Network namespaces (LAB-PROBE.md probe 1).

class Lab:
    """Network namespaces and processes of one test; everything is removed at the end."""

    def __init__(self, work):
        self.work = work
        self.tag = 'wbg%d%d' % (os.getpid() % 100000, next(_COUNTER))
        self.namespaces = []
        self.procs = []
        self.pidfiles = []

    def ns(self, role):
        name = '%s-%s' % (self.tag, role)
        sh(['ip', 'netns', 'add', name])
        self.namespaces.append(name)
        sh(['ip', '-n', name, 'link', 'set', 'lo', 'up'])
        return name

    def run(self, ns, *cmd, check=True, timeout=30):
        return sh(['ip', 'netns', 'exec', ns] + list(cmd), check=check, timeout=timeout)

    def spawn(self, ns, *cmd, log=None):
        handle = open(log or os.devnull, 'w', encoding='utf-8')  # pylint: disable=consider-using-with
        proc = subprocess.Popen(['ip', 'netns', 'exec', ns] + list(cmd), stdout=handle,  # pylint: disable=consider-using-with
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append((proc, handle))
        return proc

    def close(self):
        for proc, handle in self.procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                try:
                    proc.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=3)
            handle.close()
        for pidfile in self.pidfiles:
            try:
                with open(pidfile, encoding='utf-8') as handle:
                    pid = int(handle.read().strip())
                os.kill(pid, signal.SIGTERM)
            except (OSError, ValueError):
                pass
        for name in self.namespaces:
            sh(['ip', 'netns', 'del', name], check=False)


@pytest.fixture
def lab(tmp_path):
    if not is_root():
        pytest.fail('the namespace lab needs root (run the tests as root, as scripts/test does in CI)')
    need_tools('ip', 'busybox', 'iptables-restore', 'dnsmasq', 'curl')
    work = tmp_path / 'lab'
    work.mkdir()
    the_lab = Lab(str(work))
    yield the_lab
    the_lab.close()


UDHCPC_SCRIPT = """#!/bin/sh
# busybox udhcpc hook: configure the address and route, record what was offered.
case "$1" in
  deconfig)
    ip -4 addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    if [ -n "$router" ]; then ip route replace default via "${router%% *}" dev "$interface"; fi
    printf 'ip=%s\nrouter=%s\ndns=%s\ndomain=%s\n' "$ip" "$router" "$dns" "$domain" > "$LEASE_FILE" ;;
esac
exit 0
"""


def wait_for(predicate, timeout=10.0, step=0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
