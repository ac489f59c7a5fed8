#!/usr/bin/env python3
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""P5 NAT cost: laptop -> far side throughput through the guest's rendered NAT rules, next to the
same path with forwarding and no rules (namespace tier).

Renders the iptables rules with the wifibox_guest role of this tree (connection local, into a
temporary config dir; nat mode, a port forward, default interfaces eth0/wlan0), then builds two
identical paths of three network namespaces of its own:

    laptop (10.0.0.2) --veth-- eth0 [guest] wlan0 --veth-- far (172.31.254.1, iperf3 -s)

'nat' loads the rendered rules into its guest with iptables-restore; 'plain' only forwards (no
rule, no conntrack table). The far side routes 10.0.0.0/24 back to the guest so the plain path
works without NAT. Traffic never leaves these namespaces (no link to any other namespace). Each
round is a bounded iperf3 TCP transfer (-t SECONDS) laptop -> far, alternated between the paths;
the figure is the receiver's throughput. Everything is removed at the end.

    sudo .venv/bin/python bench/nat_cost.py [--runs 7] [--seconds 3]
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402  pylint: disable=wrong-import-position

RENDER_PLAY = """- name: render the wifibox_guest files
  hosts: localhost
  gather_facts: false
  roles:
    - role: wifibox.bhyve.wifibox_guest
      vars:
        wifibox_guest_config_dir: CONFIG_DIR
        wifibox_guest_networks:
          - {ssid: home, psk: 'correct horse battery'}
        wifibox_guest_port_forwards:
          - {proto: tcp, port: 2222, to_address: 10.0.0.2, to_port: 22}
"""


def sh(*argv, check=True):
    return subprocess.run(argv, capture_output=True, text=True, check=check)


def ns(name, *argv, check=True):
    return sh('ip', 'netns', 'exec', name, *argv, check=check)


def render_rules(work):
    """The iptables-restore file the role writes for the guest (nat mode)."""
    config = os.path.join(work, 'config')
    play = os.path.join(work, 'render.yml')
    with open(play, 'w', encoding='utf-8') as handle:
        handle.write(RENDER_PLAY.replace('CONFIG_DIR', config))
    env = _common.ansible_env(ANSIBLE_PYTHON_INTERPRETER=os.path.join(_common.VENV, 'python'))
    proc = subprocess.run([os.path.join(_common.VENV, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local', play],
                          env=env, cwd=_common.ROOT, capture_output=True, text=True, check=False)
    path = os.path.join(config, 'appliance', 'iptables')
    if proc.returncode != 0 or not os.path.exists(path):
        sys.exit('rendering the guest rules failed:\n' + proc.stdout[-3000:] + proc.stderr[-2000:])
    return path


class Path:
    """laptop -- guest -- far, three namespaces of this process."""

    def __init__(self, tag):
        self.tag = tag
        self.laptop, self.guest, self.far = ('wbench-%s-%s-%d' % (tag, role, os.getpid())
                                             for role in ('lap', 'gst', 'far'))
        self.server = None

    def create(self, rules=None):
        for name in (self.laptop, self.guest, self.far):
            sh('ip', 'netns', 'add', name)
        # veth pairs made inside the guest namespace, then one end moved away
        ns(self.guest, 'ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'lan')
        ns(self.guest, 'ip', 'link', 'set', 'lan', 'netns', self.laptop)
        ns(self.guest, 'ip', 'link', 'add', 'wlan0', 'type', 'veth', 'peer', 'name', 'air')
        ns(self.guest, 'ip', 'link', 'set', 'air', 'netns', self.far)
        for name, link, addr in ((self.laptop, 'lan', '10.0.0.2/24'), (self.guest, 'eth0', '10.0.0.1/24'),
                                 (self.guest, 'wlan0', '172.31.254.2/24'), (self.far, 'air', '172.31.254.1/24')):
            ns(name, 'ip', 'addr', 'add', addr, 'dev', link)
            ns(name, 'ip', 'link', 'set', link, 'up')
            ns(name, 'ip', 'link', 'set', 'lo', 'up')
        ns(self.laptop, 'ip', 'route', 'add', 'default', 'via', '10.0.0.1')
        ns(self.far, 'ip', 'route', 'add', '10.0.0.0/24', 'via', '172.31.254.2')
        ns(self.guest, 'sysctl', '-qw', 'net.ipv4.ip_forward=1')
        if rules:
            ns(self.guest, 'iptables-restore', rules)
        self.server = subprocess.Popen(['ip', 'netns', 'exec', self.far, 'iperf3', '-s', '-B', '172.31.254.1'],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(50):
            if ns(self.laptop, 'iperf3', '-c', '172.31.254.1', '-n', '64K', '-J', check=False).returncode == 0:
                return self
            time.sleep(0.1)
        raise RuntimeError('iperf3 server in %s did not answer' % self.far)

    def rule_count(self):
        out = ns(self.guest, 'iptables-save').stdout
        return sum(1 for line in out.splitlines() if line.startswith('-A '))

    def transfer(self, seconds):
        proc = ns(self.laptop, 'iperf3', '-c', '172.31.254.1', '-t', str(seconds), '-J', check=False)
        if proc.returncode != 0:
            raise RuntimeError('iperf3 through %s failed: %s' % (self.tag, proc.stdout[-500:] + proc.stderr[-500:]))
        end = json.loads(proc.stdout)['end']
        return end['sum_received']['bits_per_second'] / 1e9

    def destroy(self):
        if self.server:
            self.server.terminate()
            self.server.wait()
        for name in (self.laptop, self.guest, self.far):
            sh('ip', 'netns', 'del', name, check=False)


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit('terminated'))
    argparser = _common.parser(__doc__, runs=7)
    argparser.add_argument('--seconds', type=int, default=3, help='length of one iperf3 transfer (default 3)')
    args = argparser.parse_args()
    _common.check_runs(argparser, args)
    if not shutil.which('iperf3'):
        sys.exit('iperf3 is missing: apt-get install iperf3')
    report = _common.Report('P5 NAT cost (namespace tier)', args.markdown)
    work = tempfile.mkdtemp(prefix='nat-bench-')
    paths = []
    try:
        rules = render_rules(work)
        nat = Path('nat').create(rules)
        paths.append(nat)
        plain = Path('plain').create()
        paths.append(plain)
        version = sh('iptables', '--version').stdout.strip()
        results = _common.alternate({'nat': lambda: {'gbit_s': nat.transfer(args.seconds)},
                                     'plain': lambda: {'gbit_s': plain.transfer(args.seconds)}}, args.runs)
        report.add('iperf3 TCP, one stream, %g s per transfer, %d rounds alternated; %s; guest rules from '
                   'roles/wifibox_guest/templates/common/iptables.j2 (nat mode, 1 port forward): %d rules in '
                   'the nat guest, %d in the plain one.' % (args.seconds, args.runs, version, nat.rule_count(),
                                                            plain.rule_count()))
        report.add()
        report.table(['path', 'throughput Gbit/s, median (min–max)'],
                     [[key, _common.fmt(results[key]['gbit_s'], 'Gbit/s')] for key in ('nat', 'plain')])
        value, _low, _high = _common.ratio(results['nat']['gbit_s'], results['plain']['gbit_s'])
        report.target('P5 nat ÷ plain throughput', _common.fmt_ratio(results['nat']['gbit_s'],
                                                                     results['plain']['gbit_s']), '≥ 0.9',
                      value >= 0.9,
                      'Limit: per-packet conntrack + MASQUERADE on a CPU-bound veth path (2 shared cores). '
                      'Would close it: fewer rules on the hot path (ESTABLISHED first), or flowtable offload '
                      'in the guest (nftables `flow add`).')
        report.write()
    finally:
        for path in paths:
            path.destroy()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
