# -*- coding: utf-8 -*-
# Copyright (c) wifibox.bhyve contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One laptop from nothing to online through the lab guest: real WPA2, NAT, DHCP, NAT66.

One VM for the module: the first test brings the laptop online, the others use it, the
last one powers it off as the boot service's stop does (SIGTERM to bhyve).
"""

from __future__ import annotations

import os
import re
import time

import pytest

from vmtier import PSK, RUN_DIR, Wifibox, psk_network, record_time, wait_for

pytestmark = [pytest.mark.lab, pytest.mark.vm]
PAGE = 'hello-from-the-far-side-of-the-air'


@pytest.fixture(scope='module')
def box(module_laptop, guest_image):
    from wifibox_lab import api
    start = time.monotonic()
    the_box = Wifibox(module_laptop).prepare([psk_network()])
    api.set_air(module_laptop, security='wpa2_psk', psk=PSK)
    the_box.prepared_in = time.monotonic() - start
    the_box.start()
    yield the_box
    if the_box.bhyve_pid():
        the_box.stop()


def test_laptop_leases_and_fetches_the_page_through_wpa2_and_nat(box):
    start = time.monotonic()
    lease = box.lease()
    leased = time.monotonic()
    assert lease, box.diagnostics()
    assert re.fullmatch(r'10\.0\.0\.\d+', lease['ip']) and lease['router'] == '10.0.0.1', lease
    # %%DNS%% became the far side's DNS (learnt by the guest's DHCP client), then the fallbacks
    assert lease['dns'].split() == ['192.168.50.1', '8.8.8.8', '8.8.4.4'], lease
    assert lease['domain'] == 'lab.example', lease
    page = box.fetch()
    assert page and PAGE in page, box.diagnostics()
    messages = box.lp.sh('cat %s/log/messages' % RUN_DIR).stdout
    assert 'CTRL-EVENT-CONNECTED' in messages, messages[-3000:]
    # NAT: the far side's DHCP server leased to the guest's wlan0 only, the laptop is behind it
    assert 'wlan0: lease 192.168.50.' in messages
    rss = box.lp.state()['vms']['wifibox'].get('rss_mb')
    assert rss and rss > 50, box.lp.state()['vms']
    record_time('nat_wpa2_lease_and_page', time.monotonic() - start, prepare=round(box.prepared_in, 2),
                vm_start_to_lease=round(leased - box.started, 2), qemu_rss_mb=rss)


def test_wpa_cli_lists_the_networks_through_the_socket_passthrough(box):
    """The boot service's own host side of uds_passthru (WIFIBOX.md section 4): wpa_cli against it.

    Nothing is started by the test: the vm module's start ran one daemon(8)-supervised socat
    per socket of the config share's uds_passthru.conf; status lists them.
    """
    start = time.monotonic()
    lp = box.lp
    status = box.status()
    forwarders = dict((s['path'], s) for s in status['uds_passthru'])
    assert sorted(forwarders) == ['/var/run/wpa_supplicant/p2p-dev-wlan0', '/var/run/wpa_supplicant/wlan0'], status
    assert all(s['running'] and s['pid'] for s in forwarders.values()), status
    ps = lp.sh('ps -o pid=,args= -p %d' % forwarders['/var/run/wpa_supplicant/wlan0']['pid']).stdout
    assert 'wifibox-uds-passthru' in ps, ps
    assert wait_for(lambda: lp.sh('test -S /var/run/wpa_supplicant/wlan0').returncode == 0, 10)
    mode = lp.sh('stat -c %a /var/run/wpa_supplicant/wlan0').stdout.strip()
    assert mode == '770', mode
    out = wait_for(lambda: lp.sh('wpa_cli -p /var/run/wpa_supplicant -i wlan0 list_networks').stdout
                   if 'labnet' in lp.sh('wpa_cli -p /var/run/wpa_supplicant -i wlan0 list_networks').stdout
                   else None, 20)
    assert out and re.search(r'^0\tlabnet\tany\t\[CURRENT\]', out, re.M), (out, box.diagnostics())
    status = lp.sh('wpa_cli -p /var/run/wpa_supplicant -i wlan0 status').stdout
    assert 'wpa_state=COMPLETED' in status and 'key_mgmt=WPA2-PSK' in status, status
    assert 'ip_address=192.168.50.' in status, status
    # the laptop has its lease (first test): status can ask the guest, which answers on its port
    guest = box.status()['guest']
    assert guest['answering'] is True and guest['ip'] == '10.0.0.1', guest
    record_time('wpa_cli_passthrough', time.monotonic() - start)


def test_console_reaches_the_guests_login(box):
    """cu on the nmdm B side reaches the guest's serial getty; root logs in (empty password)."""
    start = time.monotonic()
    script = ("(printf '\\n'; sleep 1; printf 'root\\n'; sleep 2; printf 'echo CONSOLE-$((6*7))\\n'; sleep 2; "
              "printf 'exit\\n') | cu -s 115200 -l /dev/nmdm-wifibox.1B")
    r = box.lp.sh(script, timeout=60)
    assert r.stdout.startswith('Connected\n') and r.stdout.rstrip().endswith('[EOT]'), r.stdout + r.stderr
    assert 'wifibox login:' in r.stdout, r.stdout
    assert 'CONSOLE-42' in r.stdout, r.stdout
    record_time('console_login', time.monotonic() - start)


def test_ipv6_nat66_from_the_guests_router_advertisements(box):
    """radvd (rendered radvd.conf) gives wifibox0 an fd00::/64 address; NAT66 to the far side."""
    start = time.monotonic()
    lp = box.lp
    # rc.conf's ifconfig_wifibox0_ipv6="inet6 accept_rtadv" through netif, as the role runs it:
    # inet6 -ifdisabled, accept_rtadv, then rtsol solicits the guest's radvd. (Linux never ends
    # DAD on this bridge with the qemu tap in it, FreeBSD does: no DAD, or the addresses stay
    # tentative.)
    lp.sh('echo 0 > /proc/sys/net/ipv6/conf/wifibox0/accept_dad')
    r = lp.sh('service netif start wifibox0')
    assert r.returncode == 0, r.stdout + r.stderr
    assert 'ACCEPT_RTADV' in lp.sh('ifconfig wifibox0').stdout

    def ula():
        out = lp.sh('ip -6 -o addr show dev wifibox0 scope global').stdout
        found = re.search(r'inet6 (fd00::[0-9a-f:]+)/64', out)
        return found.group(1) if found else None
    assert wait_for(ula, 40), box.diagnostics()
    assert wait_for(lambda: 'default' in lp.sh('ip -6 route show default').stdout, 20)
    page = box.fetch('http://[fd50::1]/')
    assert page and PAGE in page, box.diagnostics()
    record_time('ipv6_nat66', time.monotonic() - start)


def test_laptop_reboot_is_online_again_without_ansible(box):
    """wifibox-lab reboot: the loader and /etc/rc run again; the boot service starts the VM."""
    from wifibox_lab import api
    start = time.monotonic()
    api.reboot(box.lp)
    booted = time.monotonic()
    assert wait_for(lambda: box.status().get('running'), 60), box.diagnostics()
    # no lease step: boot's netif (after wifibox_bhyve made wifibox0) started dhclient -b from
    # rc.conf's ifconfig_wifibox0="SYNCDHCP" + background_dhclient_wifibox0="YES"
    assert box.dhclient_pid(), box.lp.sh('cat /var/log/messages; cat %s' % '/etc/rc.conf').stdout
    # (a guest slower than dhclient's 60 s timeout means its 300 s retry: hence the long wait)
    lease = box.lease(timeout=400, start=False)
    assert lease and lease['ip'].startswith('10.0.0.'), box.diagnostics()
    page = box.fetch()
    assert page and PAGE in page, box.diagnostics()
    # the boot service started the socket pass-through too
    assert all(s['running'] for s in box.status()['uds_passthru']), box.status()
    assert wait_for(lambda: 'PONG' in box.lp.sh('wpa_cli -p /var/run/wpa_supplicant -i wlan0 ping').stdout, 20), \
        box.diagnostics()
    record_time('laptop_reboot_online_again', time.monotonic() - start,
                boot_to_lease=round(time.monotonic() - booted, 2))


def test_stop_powers_the_guest_off_cleanly(box):
    """wifibox.bhyve.vm state=stopped: SIGTERM to bhyve = the ACPI power button; bhyve exits 1."""
    start = time.monotonic()
    forwarders = [s['pid'] for s in box.status()['uds_passthru']]
    last_exit = box.stop()
    assert last_exit and last_exit['code'] == 1, (last_exit, box.diagnostics())
    # the socket pass-through stopped with the guest (first, by the service's log order)
    assert forwarders and not any(s['running'] for s in box.status()['uds_passthru']), box.status()
    log = box.lp.sh('cat /var/log/wifibox-bhyve.log').stdout.split('socket pass-through stopped')
    assert len(log) > 1 and 'stopping the VM' in log[-1], log[-1][-2000:]
    messages = box.lp.sh('cat %s/log/messages' % RUN_DIR).stdout.split('syslogd started')[-1]
    assert 'power button: powering off' in messages and 'services stopped' in messages, messages[-2000:]
    assert box.lp.state()['vms'].get('wifibox', {}).get('pid') is None
    record_time('stop_poweroff', time.monotonic() - start)


def test_guest_reboot_is_restarted_and_a_crash_is_exit_4(box):
    """A guest reboot ends bhyve with 0 and the service starts it again (online again);
    qemu dying under bhyve is bhyve's 4, a crash the service restarts after restart_delay."""
    start = time.monotonic()
    box.start()
    assert wait_for(lambda: 'login:' in box.lp.sh("printf '\\n' | cu -l /dev/nmdm-wifibox.1B").stdout, 60), \
        box.diagnostics()
    restarts = box.status()['restarts']
    box.lp.sh("(printf '\\n'; sleep 1; printf 'root\\n'; sleep 2; printf 'reboot\\n'; sleep 1) | "
              "cu -l /dev/nmdm-wifibox.1B", timeout=60)
    assert wait_for(lambda: box.status().get('restarts', 0) > restarts, 60), box.diagnostics()
    assert box.exit_status() == 0, box.status()
    rebooted = time.monotonic()
    lease = box.lease()
    assert lease and box.fetch(), box.diagnostics()  # online again, no Ansible run
    record_time('guest_reboot_online_again', time.monotonic() - rebooted)
    # qemu killed under bhyve: bhyve's 4, a crash
    restarts = box.status()['restarts']
    qemu = wait_for(lambda: box.lp.state()['vms']['wifibox'].get('qemu_pid'), 20)
    with open('/proc/%d/cmdline' % qemu, 'rb') as handle:
        assert box.lp.dir.encode() in handle.read()  # this laptop's qemu, nobody else's
    os.kill(qemu, 9)
    assert wait_for(lambda: box.exit_status() == 4, 30), box.status()
    assert wait_for(lambda: box.status().get('restarts', 0) > restarts and box.status().get('running'), 30), \
        box.status()
    record_time('reboot_and_crash_exits', time.monotonic() - start)
