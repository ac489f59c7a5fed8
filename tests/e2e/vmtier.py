# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers of the VM tier: lab laptops whose bhyve runs the real lab guest under qemu (lab/README.md).

A laptop is made ready with the collection over real SSH, in the order a user's playbook
goes: host_facts, loader_conf (vmm, nmdm, pptdevs) and rc_conf, a reboot (pptdevs takes
effect at boot), kld, bridge, then role wifibox_guest renders the guest's files into the
configuration directory, and wifibox.bhyve.vm starts the VM (its boot service runs bhyve
under daemon(8)). The far side of the air is chosen per test (api.set_air).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.join(ROOT, '.venv', 'bin')
CONF_DIR = '/usr/local/etc/wifibox-bhyve'
RUN_DIR = '/var/run/wifibox-bhyve/appliance'
SHARE = '/usr/local/share/wifibox'
FREQ = 2437  # the far side's channel 6: a pinned scan (LAB-PROBE.md: a full scan costs 8 s under TCG)
PSK = 'correct horse battery'
TIMES = os.path.join(ROOT, 'bench', 'results')

HOST_PLAY = """- name: Make the laptop a wifibox host (the modules in order)
  hosts: all
  gather_facts: false
  tasks:
    - name: Find the Wi-Fi card
      wifibox.bhyve.host_facts:
    - name: Load vmm and nmdm at boot and give the card to ppt(4)
      wifibox.bhyve.loader_conf:
        tunables:
          vmm_load: "YES"
          nmdm_load: "YES"
        pptdevs: ["{{ wifibox_host.wireless[0].pptdev }}"]
    - name: Keep the native driver away from the card
      wifibox.bhyve.rc_conf:
        add:
          devmatch_blocklist: ["{{ wifibox_host.wireless[0].kernel_module }}"]
      when: wifibox_host.wireless[0].kernel_module is truthy
    - name: The host's side of wifibox0 as role wifibox_host writes it (DHCP in the background)
      wifibox.bhyve.rc_conf:
        values:
          ifconfig_wifibox0: SYNCDHCP
          background_dhclient_wifibox0: true
          ifconfig_wifibox0_ipv6: inet6 accept_rtadv
"""

AFTER_BOOT_PLAY = """- name: Kernel modules and the bridge, then the guest's configuration
  hosts: all
  gather_facts: false
  tasks:
    - name: Load vmm and nmdm
      wifibox.bhyve.kld:
        name: [vmm, nmdm]
    - name: Bridge wifibox0 with the guest's tap
      wifibox.bhyve.bridge:
        name: wifibox0
        members: [tap0]
        tap_up_on_open: true
    - name: The guest's var share
      ansible.builtin.file:
        path: "{{ item }}"
        state: directory
        mode: "0755"
      loop: ["%(run)s", "%(run)s/log", "%(run)s/lib/misc", "%(run)s/tmp"]
    - name: The guest package
      ansible.builtin.command: pkg install -y wifibox-alpine
      register: pkg
      changed_when: "'Installing' in pkg.stdout"
  roles:
    - role: wifibox.bhyve.wifibox_guest
      vars:
        wifibox_guest_config_dir: "%(conf)s"
""" % {'run': RUN_DIR, 'conf': CONF_DIR}


def ansible_env():
    env = dict(os.environ)
    env.update({'ANSIBLE_CONFIG': os.path.join(ROOT, 'ansible.cfg'), 'ANSIBLE_NOCOLOR': '1',
                'ANSIBLE_FORCE_COLOR': '0', 'ANSIBLE_RETRY_FILES_ENABLED': '0',
                'PATH': VENV_BIN + os.pathsep + env.get('PATH', '')})
    return env


def module(lp, name, args):
    """ansible -m wifibox.bhyve.NAME over SSH against the laptop. -> the module's result."""
    argv = [os.path.join(VENV_BIN, 'ansible'), '-i', lp.inventory_path, lp.name, '-m', 'wifibox.bhyve.' + name,
            '-a', json.dumps(args)]
    proc = subprocess.run(argv, cwd=ROOT, env=ansible_env(), capture_output=True, text=True, timeout=600,
                          check=False)
    found = re.search(r'^%s \| (?P<status>[A-Z]+)!? => ' % re.escape(lp.name), proc.stdout, re.MULTILINE)
    assert found, proc.stdout + proc.stderr
    result = json.loads(proc.stdout[found.end():])
    result['_status'] = found.group('status')
    return result


def playbook(lp, text, extra_vars=None, check=True):
    """ansible-playbook over SSH against the laptop. -> CompletedProcess."""
    path = os.path.join(lp.dir, 'play-%d.yml' % time.monotonic_ns())
    with open(path, 'w', encoding='utf-8') as handle:
        handle.write(text)
    argv = [os.path.join(VENV_BIN, 'ansible-playbook'), '-i', lp.inventory_path, path]
    if extra_vars:
        argv += ['-e', json.dumps(extra_vars)]
    proc = subprocess.run(argv, cwd=ROOT, env=ansible_env(), capture_output=True, text=True, timeout=600,
                          check=False)
    if check:
        assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    return proc


DHCLIENT_PIDFILE = '/var/run/dhclient/dhclient.wifibox0.pid'
DHCLIENT_LEASES = '/var/db/dhclient.leases.wifibox0'


def parse_leases(text):
    """dhclient.leases(5): the last lease's address, router, DNS and domain. -> dict or None."""
    blocks = re.findall(r'lease \{(.*?)\n\}', text, re.S)
    if not blocks:
        return None
    last = blocks[-1]

    def option(name):
        found = re.search(r'^\s*option %s (.*);$' % name, last, re.M)
        return found.group(1) if found else ''
    address = re.search(r'fixed-address ([0-9.]+);', last)
    return {'ip': address.group(1) if address else '', 'router': option('routers').replace(',', ' '),
            'dns': option('domain-name-servers').replace(',', ' '), 'domain': option('domain-name').strip('"')}


class Wifibox:
    """A lab laptop made a wifibox host; start() runs the VM as the boot service would."""

    def __init__(self, lp):
        self.lp = lp
        self.card = None

    def prepare(self, networks, guest_vars=None):
        from wifibox_lab import api
        playbook(self.lp, HOST_PLAY)
        api.reboot(self.lp)
        self.render(networks, guest_vars)
        api.use_guest_vm(self.lp)
        self.card = self.lp.state()['wifi']
        return self

    def render(self, networks, guest_vars=None):
        variables = {'wifibox_guest_networks': networks}
        variables.update(guest_vars or {})
        return playbook(self.lp, AFTER_BOOT_PLAY, variables)

    def pptdev(self):
        return '/'.join(self.card.split(':')[1:])

    def vm(self, **args):
        """wifibox.bhyve.vm on the laptop (the collection's own VM lifecycle). -> result."""
        return module(self.lp, 'vm', args)

    def start(self, **kw):
        """Start the guest with wifibox.bhyve.vm (the boot service, daemon-supervised bhyve)."""
        args = {'passthru': [self.pptdev()], 'memory': '256M', 'console': True, 'state': 'started'}
        args.update(kw)
        self.started = time.monotonic()
        result = self.vm(**args)
        assert result.get('status', {}).get('running'), result
        self.argv = result['argv']
        return self.started

    def status(self):
        r = self.lp.ssh('/usr/local/sbin/wifibox-bhyve', 'status', '--json')
        return json.loads(r.stdout) if r.returncode in (0, 1, 3) and r.stdout.strip() else {}

    def bhyve_pid(self):
        return (self.lp.state()['vms'].get('wifibox') or {}).get('pid')

    def stop(self):
        """wifibox.bhyve.vm state=stopped: the ACPI power button, then bhyve's exit. -> last exit."""
        result = self.vm(state='stopped', target='guest')
        assert not result['status']['running'], result
        return result['status'].get('last_exit')

    def restart(self, **kw):
        self.stop()
        return self.start(**kw)

    def exit_status(self):
        last = self.status().get('last_exit') or {}
        return last.get('code')

    def dhclient_pid(self):
        """The laptop's dhclient(8) on wifibox0, when one runs. -> pid or None."""
        r = self.lp.sh('pid=$(cat %s 2>/dev/null) && kill -0 "$pid" 2>/dev/null && echo "$pid"' % DHCLIENT_PIDFILE)
        return int(r.stdout) if r.stdout.strip().isdigit() else None

    def lease(self, timeout=90, start=True):
        """A fresh lease of the laptop's own dhclient(8) on wifibox0, configured by rc.conf as the
        role writes it (ifconfig_wifibox0="SYNCDHCP", background_dhclient_wifibox0="YES"):
        `service dhclient start wifibox0` (restart when one runs, as users do after a resume),
        then the new lease once its address is on wifibox0. With start=False nothing is
        started: the dhclient that boot's netif started must lease. -> dict or None."""
        before = self.lp.sh('cat %s 2>/dev/null' % DHCLIENT_LEASES).stdout.count('lease {')
        if start:
            verb = 'restart' if self.dhclient_pid() else 'start'
            r = self.lp.sh('service dhclient %s wifibox0' % verb)
            assert r.returncode == 0, r.stdout + r.stderr

        gave_up = len(self.gave_up())

        def bound():
            nonlocal gave_up
            text = self.lp.sh('cat %s 2>/dev/null' % DHCLIENT_LEASES).stdout
            lease = parse_leases(text)
            if start and text.count('lease {') <= before:
                # dhclient gave up after its 60 s timeout (a slow guest boot) and sleeps for its
                # 300 s retry: start it again, as a user would
                if len(self.gave_up()) > gave_up:
                    gave_up = len(self.gave_up())
                    self.lp.sh('service dhclient restart wifibox0')
                return None
            if lease and re.search(r'\tinet %s ' % re.escape(lease['ip']), self.lp.sh('ifconfig wifibox0').stdout):
                return lease
            return None
        return wait_for(bound, timeout, 0.5)

    def gave_up(self):
        """dhclient's syslog lines saying it gave up on wifibox0 (No DHCPOFFERS received)."""
        return re.findall(r' dhclient\[\d+\]: No DHCPOFFERS received\.',
                          self.lp.sh('cat /var/log/messages 2>/dev/null').stdout)

    def fetch(self, url='http://192.168.50.1/', timeout=10):
        r = self.lp.sh('curl -s -g --connect-timeout %d --max-time %d %s' % (timeout, timeout + 5, url),
                       timeout=timeout + 30)
        return r.stdout if r.returncode == 0 else None

    def diagnostics(self):
        from wifibox_lab import api
        out = []
        files = api.guest_files(self.lp)
        for what in ('log', 'serial'):
            try:
                with open(files[what], encoding='utf-8', errors='replace') as handle:
                    out.append('== guest %s\n%s' % (what, handle.read()[-4000:]))
            except OSError:
                pass
        for path in ('/var/log/wifibox-bhyve.log', RUN_DIR + '/log/messages', RUN_DIR + '/log/boot.log'):
            out.append('== %s\n%s' % (path, self.lp.sh('tail -n 60 %s' % path).stdout))
        air = os.path.join(self.lp.dir, 'air', 'log')
        for name in sorted(os.listdir(air)) if os.path.isdir(air) else []:
            with open(os.path.join(air, name), encoding='utf-8', errors='replace') as handle:
                out.append('== air %s\n%s' % (name, handle.read()[-3000:]))
        return '\n'.join(out)


def wait_for(predicate, timeout=30.0, step=0.2):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        result = predicate()
        if result:
            return result
        time.sleep(step)
    return predicate()


def psk_network(psk=PSK, ssid='labnet', **kw):
    net = {'ssid': ssid, 'security': 'wpa2_psk', 'psk': psk, 'frequencies': [FREQ]}
    net.update(kw)
    return net


def record_time(name, seconds, **extra):
    """Timings go to bench/results (never asserted)."""
    os.makedirs(TIMES, exist_ok=True)
    with open(os.path.join(TIMES, 'vm-tier.jsonl'), 'a', encoding='utf-8') as handle:
        handle.write(json.dumps(dict(test=name, seconds=round(seconds, 2), at=time.strftime('%FT%TZ', time.gmtime()),
                                     **extra)) + '\n')
