# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/laptop.yml brings a fresh lab laptop online with the real guest (the role's own
rc.conf line makes the laptop's dhclient lease on wifibox0), then playbooks/remove.yml takes
the wifibox off again: VM and bhyve gone, the card back with its native driver, no file of
ours left (against a listing taken before the first converge), the user's settings kept.

One VM for the module (its own laptop: the other modules do not run laptop.yml).
"""

from __future__ import annotations

import os
import re
import subprocess
import time

import pytest

from vmtier import ROOT, VENV_BIN, Wifibox, ansible_env, record_time, wait_for

pytestmark = [pytest.mark.lab, pytest.mark.vm]
PAGE = 'hello-from-the-far-side-of-the-air'
SSID, PSK = 'wifibox-lab', 'wifibox-lab-remove'
# Where a wifibox leaves files (FreeBSD's paths; the lab's /etc and /usr are overlays on the
# Linux host's, so a listing shows every file, ours included).
LISTED = ('/etc', '/boot', '/usr/local', '/var/db', '/var/run', '/var/log', '/var/cache')
# What is not ours although it changes: syslog's file (dhclient logs there) and resolv.conf,
# which dhclient-script rewrites for whichever interface leases (the user's Wi-Fi will again).
NOT_OURS = ('/var/log/messages', '/etc/resolv.conf')
USER_RC = ('hostname=', 'wlans_', 'ifconfig_wlan0=', 'ifconfig_em0=', 'sshd_enable=')


def listing(lp):
    out = lp.sh('find %s -xdev 2>/dev/null | sort' % ' '.join(LISTED)).stdout.split('\n')
    # /var/db/pkg: pkg(8)'s own database (on FreeBSD it exists before any package of ours)
    return {path for path in out if path and path not in NOT_OURS and not path.startswith('/var/db/pkg')}


def playbook(lp, name, extra):
    argv = [os.path.join(VENV_BIN, 'ansible-playbook'), '-i', lp.inventory_path, 'wifibox.bhyve.' + name,
            '-l', lp.name, '-e', extra]
    env = dict(ansible_env(), ANSIBLE_PIPELINING='true')
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)


def card_line(lp, card):
    """pciconf -lv's entry of the card: `driverN@pci0:B:S:F: ...` and its description lines."""
    out = lp.sh('pciconf -lv').stdout
    found = re.search(r'^(\S+)@%s:.*\n(?:\s+.*\n)*' % re.escape(card), out, re.M)
    return found.group(0) if found else out


def test_laptop_yml_online_then_remove_leaves_nothing_of_ours(module_laptop, guest_image):
    from wifibox_lab import api
    lp = module_laptop
    card = lp.state()['wifi']
    native = card_line(lp, card).split('@')[0]
    assert not native.startswith('ppt'), native
    rc_before = lp.read_file('/etc/rc.conf')
    loader_before = lp.read_file('/boot/loader.conf')
    files_before = listing(lp)
    packages_before = set(lp.sh("pkg query -a '%n'").stdout.split())
    api.use_guest_vm(lp)
    api.set_air(lp, security='wpa2_psk', ssid=SSID, psk=PSK)

    start = time.monotonic()
    extra = ('{"wifibox_guest_country": "DE", "wifibox_host_vm_memory": 256, "wifibox_guest_networks": '
             '[{"ssid": "%s", "psk": "%s", "frequencies": [2437]}]}' % (SSID, PSK))
    converge = playbook(lp, 'laptop', extra)
    assert converge.returncode == 0, converge.stdout[-6000:] + converge.stderr[-3000:]
    converged = time.monotonic()
    box = Wifibox(lp)
    # no lease step: the role's rc.conf line and its `service netif start wifibox0` started dhclient
    assert 'ifconfig_wifibox0="SYNCDHCP"' in lp.read_file('/etc/rc.conf')
    assert box.dhclient_pid(), lp.sh('tail -n 40 /var/log/messages').stdout
    lease = box.lease(timeout=400, start=False)  # a slow guest: dhclient's retry
    assert lease and lease['ip'].startswith('10.0.0.') and lease['router'] == '10.0.0.1', box.diagnostics()
    page = box.fetch()
    assert page and PAGE in page, box.diagnostics()
    online = time.monotonic()
    assert card_line(lp, card).startswith('ppt'), card_line(lp, card)

    removal = playbook(lp, 'remove', '{}')
    assert removal.returncode == 0, removal.stdout[-6000:] + removal.stderr[-3000:]
    removed = time.monotonic()
    # the VM and bhyve are gone (no qemu of this laptop either), so is wifibox0 with its dhclient
    assert not lp.state()['vms'].get('wifibox', {}).get('pid'), lp.state()['vms']
    assert lp.sh('ls /dev/vmm').stdout.split() == []
    assert not any(lp.dir in _cmdline(pid) for pid in _pids('qemu-system')), 'a qemu of this laptop runs'
    assert 'wifibox0' not in lp.sh('ifconfig -l').stdout.split()
    assert wait_for(lambda: not box.dhclient_pid(), 10)
    # the card is back with its native driver
    after = card_line(lp, card)
    assert after.split('@')[0] == native, after
    # vmm and the modules the role put in kld_list are unloaded now (no other VM or bridge exists)
    for name in ('vmm', 'nmdm', 'if_bridge'):
        assert lp.sh('kldstat -q -n %s' % name).returncode != 0, name
    # the user's settings are kept, ours are gone: rc.conf and loader.conf as before
    rc_after = lp.read_file('/etc/rc.conf')
    for line in rc_before.splitlines():
        if line.startswith(USER_RC):
            assert line in rc_after.splitlines(), (line, rc_after)
    assert rc_after == rc_before, (rc_before, rc_after)
    assert lp.read_file('/boot/loader.conf') == loader_before
    # no file of ours remains: the packages the role installed stay (the role's README: the user's
    # to keep or delete), so delete them as a user would, then nothing may differ
    packages = sorted(set(lp.sh("pkg query -a '%n'").stdout.split()) - packages_before)
    assert packages, 'the role installed no package?'
    deleted = lp.sh('pkg delete -y %s' % ' '.join(packages))
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    files_after = listing(lp)
    assert sorted(files_after - files_before) == [], sorted(files_after - files_before)
    assert sorted(files_before - files_after) == [], sorted(files_before - files_after)
    record_time('remove_after_laptop_yml', removed - online, packages=packages, converge=round(converged - start, 2),
                converge_to_page=round(online - converged, 2))


def _pids(name):
    out = subprocess.run(['pgrep', '-f', name], capture_output=True, text=True, check=False).stdout
    return [int(p) for p in out.split()]


def _cmdline(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as handle:
            return handle.read().decode(errors='replace')
    except OSError:
        return ''
